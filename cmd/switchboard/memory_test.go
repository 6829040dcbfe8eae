package main

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/models/onnxtest"
	"github.com/switchboard-cs/switchboard/vision/visiontest"
)

// pngChunk is one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	binary.Write(&b, binary.BigEndian, crc.Sum32())
	return b.Bytes()
}

// maximalPNG is a photo as costly as the limits allow: w×h RGB pixels (one colour, so its
// pixel data compresses to little), padded to size bytes with a private ancillary chunk
// that decoders read through and skip.
func maximalPNG(t *testing.T, w, h, size int) []byte {
	t.Helper()
	row := make([]byte, 1+3*w) // filter byte 0, then black pixels
	var raw bytes.Buffer
	zw, _ := newZlibWriter(&raw)
	for range h {
		zw.Write(row)
	}
	zw.Close()
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	out := append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", raw.Bytes())...)
	end := pngChunk("IEND", nil)
	pad := size - len(out) - len(end) - 12
	if pad < 0 {
		t.Fatalf("the pixels alone take %d bytes, over %d", len(out), size)
	}
	out = append(out, pngChunk("paDd", make([]byte, pad))...)
	return append(out, end...)
}

// longWAV is a 16 kHz mono WAV of size bytes: longer than speech.max_duration, so the
// speech stage refuses it from its header, after the upload was read.
func longWAV(size int) []byte {
	b := make([]byte, size)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(size-8))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)     // PCM
	binary.LittleEndian.PutUint16(b[22:], 1)     // mono
	binary.LittleEndian.PutUint32(b[24:], 16000) // rate
	binary.LittleEndian.PutUint32(b[28:], 32000) // bytes per second
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(size-44))
	return b
}

// multipartUpload is a multipart message body over shared part data, with its length,
// read without copying the parts.
func multipartUpload(parts []struct {
	name, mime string
	data       []byte
}) (io.Reader, int64, string) {
	const boundary = "maximal-upload-boundary"
	var readers []io.Reader
	var n int64
	add := func(b []byte) { readers = append(readers, bytes.NewReader(b)); n += int64(len(b)) }
	for _, p := range parts {
		add([]byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + p.name + "\"; filename=\"f\"\r\nContent-Type: " + p.mime + "\r\n\r\n"))
		add(p.data)
		add([]byte("\r\n"))
	}
	add([]byte("--" + boundary + "--\r\n"))
	return io.MultiReader(readers...), n, "multipart/form-data; boundary=" + boundary
}

// procStatus reads a field in kB (VmRSS, VmHWM) of /proc/pid/status, in bytes.
func procStatus(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == field {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func customerToken(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Post(base+"/v1/chat/session", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != 201 {
		t.Fatalf("chat session: %d %v", resp.StatusCode, err)
	}
	return s.Token
}

// TestMaximalUploadsStayWithinMemory runs `switchboard serve` as its own process (its
// RSS is its own) with the MobileNetV2 classifier, a media budget of 512 MiB and no
// per-IP cap on requests in flight (so the budget is what bounds them), and fires 50
// concurrent maximal uploads with one anonymous customer token: each carries 4 photos at
// the byte limit (20 MiB) and the pixel limit (6000×4000 PNG, 96 MB decoded) and 2 voice
// notes at the byte limit (25 MiB). Meanwhile other customers send text. The server's
// peak RSS must stay under its idle RSS + 2 × the media budget (the budget, and as much
// again for the Go heap's collection headroom), every text turn must be answered, and
// every upload must be answered 200 or 429 (the budget was busy), never 5xx.
func TestMaximalUploadsStayWithinMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("fires 50 uploads of 130 MiB")
	}
	ortLib := onnxtest.ORT(t)
	dsn := testenv.PG(t)
	_, prefix := testenv.Redis(t)
	data := t.TempDir()
	visiontest.MobileNet(t, filepath.Join(data, "models"), "imagenet", 1, "")
	const mediaMemory = 512 << 20
	addr := freeAddr(t)
	base := "http://" + addr
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServeProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SB_HELPER_SERVE=1", "SWITCHBOARD_DATA_DIR="+data, "SWITCHBOARD_PG_DSN="+dsn,
		"SWITCHBOARD_REDIS_ADDR="+testenv.RedisAddr(t), "SWITCHBOARD_REDIS_KEY_PREFIX="+prefix, "SWITCHBOARD_HTTP_ADDR="+addr,
		"SWITCHBOARD_LOG_LEVEL=warn", "SWITCHBOARD_ORT_LIB="+ortLib, "SWITCHBOARD_VISION_MODEL=imagenet",
		"SWITCHBOARD_LIMITS_MEDIA_MEMORY_BYTES="+strconv.Itoa(mediaMemory), "SWITCHBOARD_LIMITS_CONCURRENT_PER_IP=0")
	var serverLog bytes.Buffer
	cmd.Stderr = &serverLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("server log:\n%s", serverLog.String())
		}
	})
	waitReady(t, base, exited)
	pid := cmd.Process.Pid
	warm := customerToken(t, base)
	if code, _ := postText(base, warm, "hello"); code != 200 {
		t.Fatalf("warm-up message: %d", code)
	}
	idle := procStatus(pid, "VmRSS")

	photo := maximalPNG(t, 6000, 4000, 20<<20)
	voice := longWAV(25 << 20)
	parts := []struct {
		name, mime string
		data       []byte
	}{{"image", "image/png", photo}, {"image", "image/png", photo}, {"image", "image/png", photo}, {"image", "image/png", photo},
		{"audio", "audio/wav", voice}, {"audio", "audio/wav", voice}}
	attacker := customerToken(t, base)

	var peak int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // the RSS, every 20 ms
		defer close(sampled)
		for {
			peak = max(peak, procStatus(pid, "VmRSS"))
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	var textCodes []int
	var textTimes []time.Duration
	texts := make(chan struct{})
	go func() { // other customers' text turns
		defer close(texts)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
			tok := customerToken(t, base)
			start := time.Now()
			code, _ := postText(base, tok, fmt.Sprintf("where is my order %d?", i))
			textCodes, textTimes = append(textCodes, code), append(textTimes, time.Since(start))
		}
	}()
	var mu sync.Mutex
	uploads := map[string]int{}
	var wg sync.WaitGroup
	// Half the clients send their body at once; half say Expect: 100-continue (as curl
	// does for large bodies), so a refusal reaches them before they send it.
	plain := &http.Client{Timeout: 3 * time.Minute}
	polite := &http.Client{Timeout: 3 * time.Minute, Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	start := time.Now()
	for i := range 50 {
		wg.Go(func() {
			body, n, ct := multipartUpload(parts)
			req, _ := http.NewRequest("POST", base+"/v1/messages", body)
			req.ContentLength = n
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer "+attacker)
			client := plain
			if i%2 == 1 {
				client = polite
				req.Header.Set("Expect", "100-continue")
			}
			outcome := ""
			resp, err := client.Do(req)
			switch {
			case err != nil && client == plain:
				outcome = "connection closed by the server while the body was sent"
			case err != nil:
				outcome = "error " + err.Error()
			default:
				var e struct{ Error string }
				json.NewDecoder(resp.Body).Decode(&e)
				resp.Body.Close()
				outcome = strconv.Itoa(resp.StatusCode)
				if resp.StatusCode != 200 {
					outcome += " " + e.Error
				}
			}
			mu.Lock()
			uploads[outcome]++
			mu.Unlock()
		})
	}
	wg.Wait()
	took := time.Since(start)
	close(stop)
	<-sampled
	<-texts
	hwm := procStatus(pid, "VmHWM")
	bound := idle + 2*mediaMemory
	t.Logf("50 uploads of %d MiB in %s: %v", 4*20+2*25, took.Round(time.Second), uploads)
	t.Logf("server RSS: idle %d MiB, peak %d MiB sampled (VmHWM %d MiB); bound %d MiB", idle>>20, peak>>20, hwm>>20, bound>>20)
	slices.Sort(textTimes)
	if len(textTimes) > 0 {
		t.Logf("%d text turns of other customers meanwhile: median %s, slowest %s", len(textTimes),
			textTimes[len(textTimes)/2].Round(time.Millisecond), textTimes[len(textTimes)-1].Round(time.Millisecond))
	}
	if max(peak, hwm) > bound {
		t.Errorf("peak RSS %d MiB is over idle + 2 × the media budget (%d MiB)", max(peak, hwm)>>20, bound>>20)
	}
	for outcome := range uploads {
		if !strings.HasPrefix(outcome, "200") && !strings.HasPrefix(outcome, "429") && !strings.HasPrefix(outcome, "connection closed by the server") {
			t.Errorf("an upload was answered %q", outcome)
		}
	}
	if uploads["200"] == 0 {
		t.Errorf("no upload was processed: %v", uploads)
	}
	for i, code := range textCodes {
		if code != 200 {
			t.Errorf("text turn %d of another customer: %d", i, code)
		}
	}
	if len(textCodes) == 0 {
		t.Error("no text turn was sent during the uploads")
	}
}

// postText posts a customer's text message and returns the status.
func postText(base, token, text string) (int, error) {
	b, _ := json.Marshal(map[string]string{"text": text})
	req, _ := http.NewRequest("POST", base+"/v1/messages", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func newZlibWriter(w io.Writer) (io.WriteCloser, error) {
	return zlib.NewWriterLevel(w, zlib.BestSpeed)
}
