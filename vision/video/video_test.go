package video

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// needFFmpeg skips (locally) or fails (CI=true) without ffmpeg and ffprobe.
func needFFmpeg(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		testenv.Missing(t, err.Error())
	}
}

var clips = struct {
	sync.Mutex
	m map[string][]byte
}{m: map[string][]byte{}}

// clip makes a real video with ffmpeg (once per test binary): input is ffmpeg's input
// arguments, args its output arguments, name the output's name (its extension picks
// the container; a "|" before it writes through a pipe, as a browser's recorder does:
// no duration, no index).
func clip(t testing.TB, name string, input []string, args ...string) []byte {
	t.Helper()
	needFFmpeg(t)
	key := name + fmt.Sprint(input, args)
	clips.Lock()
	defer clips.Unlock()
	if b, ok := clips.m[key]; ok {
		return b
	}
	dir, err := os.MkdirTemp("", "videotest-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, strings.TrimPrefix(name, "|"))
	full := append(append([]string{"-hide_banner", "-loglevel", "error", "-nostdin"}, input...), args...)
	cmd := exec.Command("ffmpeg", append(full, "-y", out)...)
	if piped := strings.HasPrefix(name, "|"); piped {
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd = exec.Command("ffmpeg", append(full, "-f", strings.TrimPrefix(filepath.Ext(name), "."), "pipe:1")...)
		cmd.Stdout = f
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", cmd.Args, err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	clips.m[key] = b
	return b
}

// remux copies a video's streams into another file of the same container, with args
// (metadata, say: ffmpeg writes a rotation only when copying).
func remux(t *testing.T, data []byte, name string, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"+filepath.Ext(name)), filepath.Join(dir, "out"+filepath.Ext(name))
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := append(append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-i", in, "-c", "copy"}, args...), "-y", out)
	if b, err := exec.Command("ffmpeg", cmd...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", cmd, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pattern is ffmpeg's input: a moving test pattern of the size and a 440 Hz tone, secs long.
func pattern(size string, secs int) []string {
	return []string{"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%s:rate=15:duration=%d", size, secs),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:sample_rate=44100:duration=%d", secs)}
}

var (
	h264 = []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "15"}
	aac  = []string{"-c:a", "aac"}
)

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// mp4 is a 3 s MP4/H.264 with AAC, its index (moov) at the end, as ffmpeg writes it.
func mp4(t testing.TB) []byte {
	return clip(t, "clip.mp4", pattern("320x240", 3), join(h264, aac)...)
}

// within compares durations to 150 ms.
var within = cmp.Comparer(func(a, b time.Duration) bool { return (a - b).Abs() < 150*time.Millisecond })

// TestDecode: the videos customers send give their frames, spread over the video and
// within the size limit, and their sound as 16 kHz PCM.
func TestDecode(t *testing.T) {
	const mov, webm = "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"
	vp9 := []string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g", "15"}
	vp8 := []string{"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-g", "15"}
	sec3 := 3 * time.Second
	for _, tc := range []struct {
		name  string
		input []string
		args  []string
		remux []string // then copied into another file with these arguments
		want  Info
	}{
		{"moov-at-end.mp4", pattern("320x240", 3), join(h264, aac), nil,
			Info{sec3, 320, 240, "h264", "aac", mov, true}},
		{"faststart.mp4", pattern("320x240", 3), join(h264, aac, []string{"-movflags", "+faststart"}), nil,
			Info{sec3, 320, 240, "h264", "aac", mov, true}},
		// one keyframe, B-frames (so an edit list): the frames are decoded up to their times
		{"one-keyframe.mp4", pattern("320x240", 3), join(h264, aac, []string{"-g", "1000", "-preset", "veryfast", "-bf", "2"}), nil,
			Info{sec3, 320, 240, "h264", "aac", mov, true}},
		// a phone held upright: 320×240 stored, shown turned a quarter
		{"upright.mp4", pattern("320x240", 3), join(h264, aac), []string{"-metadata:s:v:0", "rotate=90"},
			Info{sec3, 240, 320, "h264", "aac", mov, true}},
		{"hevc.mp4", pattern("320x240", 3), join([]string{"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:keyint=15"}, aac), nil,
			Info{sec3, 320, 240, "hevc", "aac", mov, true}},
		{"vp9-opus.webm", pattern("320x240", 3), join(vp9, []string{"-c:a", "libopus"}), nil,
			Info{sec3, 320, 240, "vp9", "opus", webm, true}},
		{"av1-opus.webm", pattern("320x240", 3), []string{"-c:v", "libsvtav1", "-preset", "12", "-g", "15", "-svtav1-params", "verbose=0", "-c:a", "libopus"}, nil,
			Info{sec3, 320, 240, "av1", "opus", webm, true}},
		{"vp8-silent.webm", pattern("320x240", 3), join([]string{"-map", "0:v"}, vp8), nil,
			Info{sec3, 320, 240, "vp8", "", webm, false}},
		{"vp8-vorbis.mkv", pattern("320x240", 3), join(vp8, []string{"-c:a", "libvorbis"}), nil,
			Info{sec3, 320, 240, "vp8", "vorbis", webm, true}},
		// as a browser's MediaRecorder writes it: no duration in the header, no index
		{"|recorder.webm", pattern("320x240", 3), join(vp8, []string{"-c:a", "libopus"}), nil,
			Info{sec3, 320, 240, "vp8", "opus", webm, true}},
	} {
		t.Run(strings.TrimPrefix(tc.name, "|"), func(t *testing.T) {
			data := clip(t, tc.name, tc.input, tc.args...)
			if tc.remux != nil {
				data = remux(t, data, tc.name, tc.remux...)
			}
			res, err := Decode(context.Background(), data, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, res.Info, within); d != "" {
				t.Errorf("Info (-want +got):\n%s", d)
			}
			checkFrames(t, res, 4, tc.want.Duration, tc.want.Width, tc.want.Height)
			checkSound(t, res.Audio, tc.want.HasAudio, tc.want.Duration)
		})
	}
}

// checkFrames: n frames of w×h, one from each n-th of the video, and not all alike.
func checkFrames(t *testing.T, res Result, n int, d time.Duration, w, h int) {
	t.Helper()
	if len(res.Frames) != n || len(res.FrameTimes) != n {
		t.Fatalf("%d frames at %v, want %d", len(res.Frames), res.FrameTimes, n)
	}
	for i, f := range res.Frames {
		if b := f.Bounds(); b.Dx() != w || b.Dy() != h {
			t.Errorf("frame %d is %v, want %d×%d", i, b, w, h)
		}
		lo, hi := d*time.Duration(i)/time.Duration(n), d*time.Duration(i+1)/time.Duration(n)
		if at := res.FrameTimes[i]; at < lo || at >= hi {
			t.Errorf("frame %d shown at %s, want within [%s, %s)", i, at, lo, hi)
		}
		if i > 0 && difference(res.Frames[i-1], f) < 1 {
			t.Errorf("frames %d and %d are alike (%.2f)", i-1, i, difference(res.Frames[i-1], f))
		}
	}
}

// difference is the mean absolute difference of two pictures' red, green and blue (0–255).
func difference(a, b image.Image) float64 {
	var sum, n float64
	r := a.Bounds().Intersect(b.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			sum += math.Abs(float64(r1)-float64(r2)) + math.Abs(float64(g1)-float64(g2)) + math.Abs(float64(b1)-float64(b2))
			n += 3
		}
	}
	return sum / n / 257
}

// checkSound: about d of 16 kHz sound holding the 440 Hz tone (880 zero crossings a
// second), or none.
func checkSound(t *testing.T, pcm []int16, want bool, d time.Duration) {
	t.Helper()
	if !want {
		if pcm != nil {
			t.Errorf("%d samples of sound from a silent video", len(pcm))
		}
		return
	}
	n := int(d.Seconds() * 16000)
	if len(pcm) < n*95/100 || len(pcm) > n*105/100 {
		t.Fatalf("%d samples of sound, want about %d", len(pcm), n)
	}
	crossings := 0
	for i := 1; i < len(pcm); i++ {
		if (pcm[i-1] < 0) != (pcm[i] < 0) {
			crossings++
		}
	}
	if perSec := float64(crossings) / d.Seconds(); math.Abs(perSec-880) > 40 {
		t.Errorf("%.0f zero crossings a second, want about 880 (a 440 Hz tone)", perSec)
	}
}

// TestDecodeScalesFrames: frames are scaled down, keeping their aspect, to MaxPixels;
// MaxFrames of them.
func TestDecodeScalesFrames(t *testing.T) {
	data := clip(t, "wide.mp4", pattern("640x360", 2), join(h264, aac)...)
	lim := DefaultLimits()
	lim.MaxPixels, lim.MaxFrames = 160*90, 2
	res, err := Decode(context.Background(), data, lim)
	if err != nil {
		t.Fatal(err)
	}
	checkFrames(t, res, 2, 2*time.Second, 160, 90)
}

func TestFrameSize(t *testing.T) {
	for _, tc := range []struct{ w, h, max, wantW, wantH int }{
		{320, 240, 640 * 640, 320, 240},
		{640, 360, 160 * 90, 160, 90},
		{1920, 1080, 640 * 640, 853, 480},
		{1080, 1920, 640 * 640, 480, 853},
		{8000, 1, 100, 100, 1},
		{3, 3, 1, 1, 1},
	} {
		w, h := frameSize(tc.w, tc.h, tc.max)
		if w != tc.wantW || h != tc.wantH || w*h > tc.max {
			t.Errorf("frameSize(%d, %d, %d) = %d×%d, want %d×%d", tc.w, tc.h, tc.max, w, h, tc.wantW, tc.wantH)
		}
	}
}

// TestPlan: a keyframe in each slot is taken (the nearest the slot's middle) and the
// decoder may skip the rest; a slot without one takes its middle.
func TestPlan(t *testing.T) {
	p := probed{videoEnd: 8, keys: []float64{0, 1.5, 2.5, 4.2, 5.9, 7.9}}
	if d := cmp.Diff(sampling{at: []float64{1.5, 2.5, 4.2, 7.9}, keyOnly: true}, plan(p, 4), cmp.AllowUnexported(sampling{})); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
	p.keys = []float64{0}
	if d := cmp.Diff(sampling{at: []float64{0, 3, 5, 7}}, plan(p, 4), cmp.AllowUnexported(sampling{})); d != "" {
		t.Errorf("plan, one keyframe (-want +got):\n%s", d)
	}
}

// TestDecodeRefuses: what is not a readable video is ErrVideo, what is over the limits
// ErrTooLarge (the gateway maps both to a 4xx), and no message shows the private path.
func TestDecodeRefuses(t *testing.T) {
	whole := mp4(t)
	faststart := clip(t, "faststart.mp4", pattern("320x240", 3), join(h264, aac, []string{"-movflags", "+faststart"})...)
	webm := clip(t, "vp9-opus.webm", pattern("320x240", 3), "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g", "15", "-c:a", "libopus")
	png := clip(t, "still.png", pattern("320x240", 1), "-frames:v", "1")
	wav := clip(t, "tone.wav", pattern("320x240", 1), "-map", "1:a")
	m4a := clip(t, "tone.m4a", pattern("320x240", 1), "-map", "1:a", "-c:a", "aac")
	mjpeg := clip(t, "mjpeg.mkv", pattern("320x240", 1), "-map", "0:v", "-c:v", "mjpeg")
	for _, tc := range []struct {
		name string
		data []byte
		lim  func(*Limits)
		want error
	}{
		{"truncated MP4, index at the end", whole[:len(whole)/2], nil, ErrVideo},
		{"truncated MP4, index first", faststart[:len(faststart)/2], nil, ErrVideo},
		{"truncated WebM", webm[:len(webm)/2], nil, ErrVideo},
		{"random bytes", []byte("\x00\x00\x00\x18ftypmp42 this is not a video at all, only words"), nil, ErrVideo},
		{"text", []byte("hello, my order has not arrived"), nil, ErrVideo},
		{"a picture", png, nil, ErrVideo},
		{"WAV sound", wav, nil, ErrVideo},
		{"M4A sound", m4a, nil, ErrVideo},
		{"a codec not read", mjpeg, nil, ErrVideo},
		{"empty", nil, nil, ErrVideo},
		// lists naming other files are refused before anything is read
		{"playlist", []byte("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n/etc/hostname\n#EXT-X-ENDLIST\n"), nil, ErrVideo},
		{"concat list", []byte("ffconcat version 1.0\nfile /etc/hostname\n"), nil, ErrVideo},
		{"too many bytes", whole, func(l *Limits) { l.MaxBytes = 1000 }, ErrTooLarge},
		{"too long", whole, func(l *Limits) { l.MaxDuration = 2 * time.Second }, ErrTooLarge},
		{"too many pixels", whole, func(l *Limits) { l.MaxVideoPixels = 200 * 200 }, ErrTooLarge},
		{"too slow", whole, func(l *Limits) { l.Timeout = time.Millisecond }, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim := DefaultLimits()
			if tc.lim != nil {
				tc.lim(&lim)
			}
			_, err := Decode(context.Background(), tc.data, lim)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode: %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "switchboard-video-") || strings.Contains(err.Error(), os.TempDir()+"/") {
				t.Errorf("the message shows a path: %v", err)
			}
			t.Log(err)
		})
	}
}

// TestDecodeCancel: a cancelled ctx stops the programs at once, with ctx's error, and
// the private file is removed whatever happens.
func TestDecodeCancel(t *testing.T) {
	data := clip(t, "long.mp4", pattern("640x360", 20), join(h264, aac, []string{"-g", "1000"})...)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := Decode(ctx, data, DefaultLimits())
	if !errors.Is(err, context.Canceled) || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("a decode cancelled after 100 ms: %v after %s", err, time.Since(start))
	}
	if _, err := Decode(ctx, data, DefaultLimits()); !errors.Is(err, context.Canceled) {
		t.Errorf("a decode with a cancelled ctx: %v", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left behind in TMPDIR: %v", left)
	}
}

// TestAvailable: without ffmpeg, Available and Decode say what to install.
func TestAvailable(t *testing.T) {
	t.Setenv("SWITCHBOARD_FFMPEG", filepath.Join(t.TempDir(), "no-ffmpeg"))
	err := Available()
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "apt-get install ffmpeg") {
		t.Errorf("Available: %v", err)
	}
	if _, err := Decode(context.Background(), []byte("data"), DefaultLimits()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Decode: %v", err)
	}
}

// BenchmarkDecode: a 10 s 640×360 H.264 clip with AAC sound, as a phone sends it.
func BenchmarkDecode(b *testing.B) {
	data := clip(b, "bench.mp4", []string{"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=10",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=10"},
		"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac")
	var res Result
	for b.Loop() {
		var err error
		if res, err = Decode(context.Background(), data, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(res.Frames)), "frames")
	b.ReportMetric(float64(len(res.Audio)), "samples")
	b.ReportMetric(float64(len(data)), "bytes")
}

// TestCheckDuration: the header's duration and the data's end are both held to the
// limit (a header may lie or, from a browser, be missing); data ending well before the
// header's duration is a truncated file.
func TestCheckDuration(t *testing.T) {
	lim := DefaultLimits() // 60 s
	for _, tc := range []struct {
		name            string
		header, dataEnd float64
		want            error
		duration        time.Duration
	}{
		{"as said", 10, 10.02, nil, 10 * time.Second},
		{"no header duration", 0, 12.5, nil, 12500 * time.Millisecond},
		{"header over", 61, 61, ErrTooLarge, 0},
		{"a header that lies", 10, 600, ErrTooLarge, 0},
		{"data over, no header", 0, 90, ErrTooLarge, 0},
		{"truncated", 10, 4, ErrVideo, 0},
		{"a short tail missing", 10, 9.6, nil, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := probed{headerDuration: tc.header, frames: []float64{0}}
			err := p.checkDuration(tc.dataEnd, lim)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("checkDuration: %v, want %v", err, tc.want)
			}
			if err == nil && p.info.Duration != tc.duration {
				t.Errorf("duration %s, want %s", p.info.Duration, tc.duration)
			}
		})
	}
}

// TestRun: a program's output is capped, its failure is ErrVideo without the private
// path, and at the time limit its whole process group is killed.
func TestRun(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		testenv.Missing(t, "no sh: "+err.Error())
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		script   string
		want     error
		wantText string
	}{
		{"output over the cap", "yes", ErrTooLarge, "more than"},
		{"failure", `echo "[mov @ 0x55aa] $0: moov atom not found" >&2; exit 1`, ErrVideo, "[mov] the video: moov atom not found"},
		{"a child that hangs", "sleep 30 & sleep 30; wait", ErrTooLarge, "not read within"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeoutCause(context.Background(), 300*time.Millisecond, errTimeout)
			defer cancel()
			r := runner{ctx: ctx, input: "file:" + dir + "/in", dir: dir, lim: Limits{Timeout: 300 * time.Millisecond}}
			start := time.Now()
			_, err := r.run(sh, 1000, "-c", tc.script, dir+"/in")
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.wantText) || strings.Contains(err.Error(), dir) {
				t.Errorf("run: %v, want %v saying %q", err, tc.want, tc.wantText)
			}
			// (a kill of the shell alone would leave its child holding stderr open until
			// WaitDelay, 1 s, had passed)
			if took := time.Since(start); took > 900*time.Millisecond {
				t.Errorf("run took %s", took)
			}
		})
	}
}
