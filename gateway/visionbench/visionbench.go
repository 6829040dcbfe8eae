// Package visionbench is the harness of `switchboard bench vision`: the vision stage
// behind HTTP against a raw ONNX Runtime run of the same model and tensor, and dynamic
// batching against none, measured alternately in one run.
package visionbench

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/image/draw"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/models/ort"
	"github.com/switchboard-cs/switchboard/vision"
)

// Result is what a run measured (`switchboard bench vision --json` prints it).
type Result struct {
	Model         string  `json:"model"`
	ImagePixels   int     `json:"image_pixels"`
	ImageBytes    int     `json:"image_bytes"`
	Iterations    int     `json:"iterations"`
	P50Ms         float64 `json:"p50_ms"`     // POST /v1/vision/classify: HTTP, decode, preprocess, registry, inference
	P99Ms         float64 `json:"p99_ms"`     //
	RawP50Ms      float64 `json:"raw_p50_ms"` // onnxruntime_go AdvancedSession.Run on the same tensor
	RawP99Ms      float64 `json:"raw_p99_ms"`
	OverheadRatio float64 `json:"overhead_ratio"` // p50_ms / raw_p50_ms
	DecodeP50Ms   float64 `json:"decode_p50_ms"`  // decode (libjpeg-turbo when installed) + preprocess alone
	TurboJPEG     bool    `json:"turbojpeg"`
	RegistryP50Ms float64 `json:"registry_p50_ms"` // the registry's inference alone, on the same tensor
	ClassifyP50Ms float64 `json:"classify_p50_ms"` // the vision stage without HTTP (decode, preprocess, inference)
	Clients       int     `json:"clients"`
	UnbatchedPS   float64 `json:"unbatched_per_sec"` // images/s with Clients concurrent requests, no batching
	BatchedPS     float64 `json:"batched_per_sec"`   // the same with dynamic batching
	BatchRatio    float64 `json:"batched_ratio"`     // batched / unbatched
	MaxBatch      int     `json:"max_batch"`
}

// Options say what Run measures: the model version folder Model (model.onnx and its
// manifest), a photo from Data (else a synthetic one), Iterations sequential images each
// way, then Clients concurrent requests for Duration without and with dynamic batching
// up to MaxBatch. ORTLib and Session configure ONNX Runtime as serve does.
type Options struct {
	Model      string
	Data       string
	Iterations int
	Clients    int
	MaxBatch   int
	Duration   time.Duration
	ORTLib     string
	Session    ort.Options
}

// Run classifies a 1-megapixel JPEG through POST /v1/vision/classify of an in-process
// gateway and, alternating in the same run, with a raw ONNX Runtime session on the same
// input tensor (ort.FixedSession), then measures throughput with and without batching.
func Run(ctx context.Context, o Options) (Result, error) {
	modelDir, data, iters, clients, maxBatch, dur := o.Model, o.Data, o.Iterations, o.Clients, o.MaxBatch, o.Duration
	res := Result{Model: modelDir, Iterations: iters, Clients: clients, MaxBatch: maxBatch}
	if _, err := ort.Init(o.ORTLib); err != nil {
		return res, err
	}
	man, err := models.ReadManifest(modelDir)
	if err != nil {
		return res, err
	}
	photo, err := megapixelJPEG(data)
	if err != nil {
		return res, err
	}
	res.ImageBytes = len(photo)
	img, _, err := vision.Decode(photo, vision.DefaultLimits())
	if err != nil {
		return res, err
	}
	res.ImagePixels = img.Bounds().Dx() * img.Bounds().Dy()
	var pre vision.Preprocess
	if err := man.DecodePreprocess(&pre); err != nil {
		return res, err
	}
	tensor, shape, err := pre.Tensor(img)
	if err != nil {
		return res, err
	}

	// A repository of two versions of the same file: 1 without batching, 2 with it.
	repo, err := os.MkdirTemp("", "switchboard-bench-vision-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(repo)
	for ver, extra := range map[string]string{"1": "", "2": fmt.Sprintf("batching: {max_batch: %d, max_delay: 2ms}\n", maxBatch)} {
		if err := benchVersion(modelDir, filepath.Join(repo, "bench", ver), extra); err != nil {
			return res, err
		}
	}
	so := o.Session
	reg, err := models.Open(ctx, models.Options{Dir: repo, Session: so, Concurrency: 1})
	if err != nil {
		return res, err
	}
	defer reg.Close()
	if err := reg.Activate(ctx, "bench", "1"); err != nil {
		return res, err
	}
	clf := vision.NewClassifier(reg, vision.Options{Model: "bench", TopK: 5})
	auth, err := gateway.NewAuth([]byte("bench-secret-bench-secret-bench-secret!!"), "", "switchboard")
	if err != nil {
		return res, err
	}
	promReg := prometheus.NewRegistry()
	srv := gateway.New(gateway.Options{Auth: auth, Log: slog.New(slog.DiscardHandler), Registerer: promReg, Gatherer: promReg,
		Models: reg, Vision: clf})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	token, err := auth.Issue("bench", gateway.RoleAgent, time.Hour)
	if err != nil {
		return res, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	classify := func() error {
		req, _ := http.NewRequestWithContext(ctx, "POST", hs.URL+"/v1/vision/classify", bytes.NewReader(photo))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "image/jpeg")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("classify: %d %s", resp.StatusCode, body)
		}
		return nil
	}

	// The raw baseline: onnxruntime_go's AdvancedSession with its tensors allocated once
	// (models/ort.FixedSession).
	outShape := slices.Clone(man.Outputs[0].Shape)
	outShape[0] = shape[0]
	raw, err := ort.OpenFixed(filepath.Join(modelDir, models.ModelFile), man.Inputs[0].Name, shape, tensor, man.Outputs[0].Name, outShape, so)
	if err != nil {
		return res, err
	}
	defer raw.Close()

	// warm-up both paths, then alternate them
	for range 3 {
		if err := classify(); err != nil {
			return res, err
		}
		if err := raw.Run(); err != nil {
			return res, err
		}
	}
	var gw, rw, dec, ri, ci []float64
	input := map[string]ort.Tensor{man.Inputs[0].Name: {Shape: shape, Float32: tensor}}
	for range iters {
		t0 := time.Now()
		if _, err := reg.Infer(ctx, "bench", input); err != nil {
			return res, err
		}
		ri = append(ri, ms(time.Since(t0)))
		t0 = time.Now()
		if _, err := clf.Classify(ctx, photo); err != nil {
			return res, err
		}
		ci = append(ci, ms(time.Since(t0)))
		t0 = time.Now()
		if err := classify(); err != nil {
			return res, err
		}
		gw = append(gw, ms(time.Since(t0)))
		t0 = time.Now()
		if err := raw.Run(); err != nil {
			return res, err
		}
		rw = append(rw, ms(time.Since(t0)))
		t0 = time.Now()
		im, _, _ := vision.DecodeFor(photo, vision.DefaultLimits(), pre.ResizeShort)
		_, _, _ = pre.Tensor(im)
		dec = append(dec, ms(time.Since(t0)))
	}
	res.P50Ms, res.P99Ms = percentile(gw, 0.50), percentile(gw, 0.99)
	res.RawP50Ms, res.RawP99Ms = percentile(rw, 0.50), percentile(rw, 0.99)
	res.DecodeP50Ms = percentile(dec, 0.50)
	res.RegistryP50Ms = percentile(ri, 0.50)
	res.ClassifyP50Ms = percentile(ci, 0.50)
	res.TurboJPEG = vision.TurboJPEG() == nil
	res.OverheadRatio = res.P50Ms / res.RawP50Ms

	// throughput: clients concurrent requests for dur, version 1 (no batching), then 2
	throughput := func() (float64, error) {
		var n atomic.Int64
		var firstErr error
		var once sync.Once
		deadline := time.Now().Add(dur)
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					if err := classify(); err != nil {
						once.Do(func() { firstErr = err })
						return
					}
					n.Add(1)
				}
			})
		}
		wg.Wait()
		return float64(n.Load()) / dur.Seconds(), firstErr
	}
	if res.UnbatchedPS, err = throughput(); err != nil {
		return res, err
	}
	if err := reg.Activate(ctx, "bench", "2"); err != nil {
		return res, err
	}
	if res.BatchedPS, err = throughput(); err != nil {
		return res, err
	}
	res.BatchRatio = res.BatchedPS / res.UnbatchedPS
	return res, nil
}

// benchVersion makes a version folder whose model is a hard link to (or, across file
// systems, a copy of) the source's: the registry follows no link out of a version folder.
func benchVersion(src, dir, extra string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := linkOrCopy(filepath.Join(src, models.ModelFile), filepath.Join(dir, models.ModelFile)); err != nil {
		return err
	}
	man, err := os.ReadFile(filepath.Join(src, models.ManifestFile))
	if err != nil {
		return err
	}
	m, err := models.ReadManifest(src)
	if err != nil {
		return err
	}
	if m.Labels != "" {
		labels, err := m.ReadFile(m.Labels, models.MaxLabelsFile)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, m.Labels), labels, 0o644); err != nil {
			return err
		}
	}
	// the bench sets batching and concurrency itself
	var kept []byte
	for _, line := range bytes.SplitAfter(man, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("batching:")) || bytes.HasPrefix(line, []byte("  max_batch:")) ||
			bytes.HasPrefix(line, []byte("  max_delay:")) || bytes.HasPrefix(line, []byte("max_concurrency:")) {
			continue
		}
		kept = append(kept, line...)
	}
	if len(kept) > 0 && kept[len(kept)-1] != '\n' {
		kept = append(kept, '\n')
	}
	return os.WriteFile(filepath.Join(dir, models.ManifestFile), append(kept, extra+"max_concurrency: 1\n"...), 0o644)
}

// megapixelJPEG is a photo of the shared data upscaled to 1155×866 (1.0 Mpx) with added
// grain, JPEG quality 90; without the data, a synthetic image of the same size.
func megapixelJPEG(data string) ([]byte, error) {
	dst := image.NewRGBA(image.Rect(0, 0, 1155, 866))
	var src image.Image
	if data != "" {
		if b, err := os.ReadFile(filepath.Join(data, "images_wonnx", "bald_eagle.jpeg")); err == nil {
			src, _, _ = vision.Decode(b, vision.DefaultLimits())
		}
	}
	if src != nil {
		draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
		// sensor grain, so the file has a camera photo's detail (≈ 200 KB) rather than an
		// upscaled image's smoothness
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < len(dst.Pix); i += 4 {
			for c := range 3 {
				v := float64(dst.Pix[i+c]) + 5*rng.NormFloat64()
				dst.Pix[i+c] = uint8(max(0, min(255, v)))
			}
		}
	} else {
		for y := range 866 {
			for x := range 1155 {
				i := dst.PixOffset(x, y)
				dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = uint8(x*255/1155), uint8(y*255/866), uint8((x*y)%251), 255
			}
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 90}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentile of xs (sorted in place).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[min(len(xs)-1, int(p*float64(len(xs))))]
}

func linkOrCopy(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}
