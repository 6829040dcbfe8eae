package gateway

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/models/onnxtest"
	"github.com/switchboard-cs/switchboard/vision"
	"github.com/switchboard-cs/switchboard/vision/visiontest"
)

// TestClassifyHotSwapUnderLoad keeps photos flowing through POST /v1/vision/classify
// while ML engineers canary, shadow, activate, roll back and push versions over the REST
// API: no request may fail, and every answer must come from the version it names
// (version 2 is a stand-in that always answers ImageNet class 7; the others are the
// trained MobileNetV2, which sees a pelican, class 144).
func TestClassifyHotSwapUnderLoad(t *testing.T) {
	onnxtest.ORT(t)
	repo := t.TempDir()
	visiontest.MobileNet(t, repo, "imagenet", 1, "")
	visiontest.Constant(t, repo, "imagenet", 2, 7)
	visiontest.MobileNet(t, repo, "imagenet", 3, "batching: {max_batch: 4, max_delay: 2ms}\n")
	reg, err := models.Open(context.Background(), models.Options{Dir: repo})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	if err := reg.Activate(context.Background(), "imagenet", "1"); err != nil {
		t.Fatal(err)
	}
	clf := vision.NewClassifier(reg, vision.Options{Model: "imagenet", TopK: 1})
	in := newInstanceWith(t, newPool(t), "vision", nil, func(o *Options) { o.Models, o.Vision = reg, clf })
	photo, err := os.ReadFile(visiontest.Photo(t, "images_wonnx/pelican.jpeg"))
	if err != nil {
		t.Fatal(err)
	}
	agent, ml := in.token(t, "agent-1", RoleAgent), in.token(t, "ml-1", RoleMLEngineer)

	stop := make(chan struct{})
	var total, failed atomic.Int64
	var mu sync.Mutex
	byVersion := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", in.http.URL+"/v1/vision/classify", bytes.NewReader(photo))
				req.Header.Set("Authorization", "Bearer "+agent)
				req.Header.Set("Content-Type", "image/jpeg")
				resp, err := http.DefaultClient.Do(req)
				total.Add(1)
				if err != nil {
					failed.Add(1)
					t.Errorf("request: %v", err)
					return
				}
				var res vision.Result
				json.NewDecoder(resp.Body).Decode(&res)
				resp.Body.Close()
				want := 144
				if res.Version == "2" {
					want = 7
				}
				if resp.StatusCode != 200 || len(res.Labels) != 1 || res.Labels[0].Index != want {
					failed.Add(1)
					t.Errorf("status %d, %+v", resp.StatusCode, res)
					return
				}
				mu.Lock()
				byVersion[res.Version]++
				mu.Unlock()
			}
		})
	}
	post := func(path, body string) {
		req, _ := http.NewRequest("POST", in.http.URL+path, bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+ml)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d", path, body, resp.StatusCode)
		}
	}
	for _, step := range [][2]string{
		{"/v1/models/imagenet/canary", `{"version":"2","percent":30}`},
		{"/v1/models/imagenet/shadow", `{"version":"3"}`},
		{"/v1/models/imagenet/activate", `{"version":"2"}`},
		{"/v1/models/imagenet/rollback", ``},
		{"/v1/models/imagenet/activate", `{"version":"3"}`},
		{"/v1/models/imagenet/canary", `{"version":"2","percent":50}`},
		{"/v1/models/imagenet/rollback", ``},
		{"/v1/models/imagenet/latest", ``},
	} {
		time.Sleep(150 * time.Millisecond)
		post(step[0], step[1])
	}
	time.Sleep(150 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d requests, %d failed, answers by version %v", total.Load(), failed.Load(), byVersion)
	if failed.Load() != 0 || len(byVersion) != 3 {
		t.Fatalf("%d failed; answers by version %v", failed.Load(), byVersion)
	}
}

// pngBomb is a PNG signature and a valid IHDR chunk claiming 100000×100000 pixels.
func pngBomb() []byte {
	ihdr := []byte("IHDR\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x02\x00\x00\x00")
	out := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0d")
	out = append(out, ihdr...)
	out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(ihdr))
	return append(out, make([]byte, 64)...)
}

func TestClassifyRejectsBadImages(t *testing.T) {
	in := newInstance(t, newPool(t), "visionbad")
	tok := in.token(t, "agent-1", RoleAgent)
	for name, tc := range map[string]struct {
		body []byte
		code int
	}{
		"garbage": {[]byte("hello"), 400},
		"empty":   {nil, 400},
		// a PNG header claiming 100000×100000 pixels: refused before decoding
		"bomb": {pngBomb(), 413},
	} {
		req, _ := http.NewRequest("POST", in.http.URL+"/v1/vision/classify", bytes.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, tc.code)
		}
	}
}
