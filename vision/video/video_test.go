package video

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// clip makes a real video with ffmpeg: a test pattern and a tone (or none) for secs.
func clip(t testing.TB, name string, secs int, args ...string) []byte {
	t.Helper()
	if err := Available(); err != nil {
		testenv.Missing(t, err.Error())
	}
	out := filepath.Join(t.TempDir(), name)
	base := []string{"-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000", "-t", itoa(secs)}
	cmd := exec.Command("ffmpeg", append(append(base, args...), "-y", out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func itoa(n int) string { return string(rune('0'+n/10)) + string(rune('0'+n%10)) }

// TestDecode: MP4/H.264 with AAC (its index at the end or at the start), WebM/VP9 with
// Opus and WebM/VP8 without sound give their frames, spread and scaled, and their sound
// as 16 kHz PCM.
func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		video     string
		withSound bool
	}{
		{"clip.mp4", []string{"-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"}, "h264", true},
		{"faststart.mp4", []string{"-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart", "-shortest"}, "h264", true},
		{"clip.webm", []string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus", "-shortest"}, "vp9", true},
		{"silent.webm", []string{"-map", "0:v", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"}, "vp8", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := clip(t, tc.name, 3, tc.args...)
			res, err := Decode(context.Background(), data, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if res.Info.VideoCodec != tc.video || res.Info.Width != 320 || res.Info.Height != 240 ||
				res.Info.Duration < 2900*time.Millisecond || res.Info.Duration > 3200*time.Millisecond {
				t.Errorf("info %+v", res.Info)
			}
			if len(res.Frames) != 4 {
				t.Errorf("%d frames, want 4", len(res.Frames))
			}
			for _, f := range res.Frames {
				if b := f.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
					t.Errorf("frame %v", b)
				}
			}
			if want := 3 * 16000; tc.withSound && (len(res.Audio) < want*9/10 || len(res.Audio) > want*11/10) {
				t.Errorf("%d samples of sound, want about %d", len(res.Audio), want)
			}
			if !tc.withSound && res.Audio != nil {
				t.Errorf("sound from a silent video: %d samples", len(res.Audio))
			}
		})
	}
}

// TestDecodeRefuses: what is not a readable video, or is over the limits, is refused
// with the error the gateway maps to a 4xx.
func TestDecodeRefuses(t *testing.T) {
	mp4 := clip(t, "clip.mp4", 3, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest")
	png := clip(t, "still.png", 1, "-frames:v", "1")
	wav := clip(t, "tone.wav", 1, "-map", "1:a")
	for _, tc := range []struct {
		name string
		data []byte
		lim  func(*Limits)
		want error
	}{
		{"truncated", mp4[:len(mp4)/2], nil, ErrVideo},
		{"random bytes", []byte("this is not a video at all, only words"), nil, ErrVideo},
		{"a picture", png, nil, ErrVideo},
		{"sound alone", wav, nil, ErrVideo},
		{"empty", nil, nil, ErrVideo},
		// a playlist naming a local file is refused before anything is read
		{"playlist", []byte("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n/etc/hostname\n#EXT-X-ENDLIST\n"), nil, ErrVideo},
		{"concat list", []byte("ffconcat version 1.0\nfile /etc/hostname\n"), nil, ErrVideo},
		{"too many bytes", mp4, func(l *Limits) { l.MaxBytes = 1000 }, ErrTooLarge},
		{"too long", mp4, func(l *Limits) { l.MaxDuration = time.Second }, ErrTooLarge},
		{"too many pixels", mp4, func(l *Limits) { l.MaxPixels = 100 * 100 }, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim := DefaultLimits()
			if tc.lim != nil {
				tc.lim(&lim)
			}
			if _, err := Decode(context.Background(), tc.data, lim); !errors.Is(err, tc.want) {
				t.Errorf("Decode: %v, want %v", err, tc.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if _, err := Decode(ctx, mp4, DefaultLimits()); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("a cancelled decode: %v after %s", err, time.Since(start))
	}
}

// FuzzDecode: whatever the bytes, Decode returns a video or ErrVideo/ErrTooLarge, in
// time, and never panics.
func FuzzDecode(f *testing.F) {
	mp4 := clip(f, "seed.mp4", 1, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest")
	f.Add(mp4)
	f.Add(mp4[:len(mp4)/3])
	f.Add([]byte("\x1aE\xdf\xa3 not webm"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := DefaultLimits()
		lim.Timeout, lim.MaxFrames = 5*time.Second, 1
		if _, err := Decode(context.Background(), data, lim); err != nil && !errors.Is(err, ErrVideo) && !errors.Is(err, ErrTooLarge) {
			t.Errorf("Decode: %v", err)
		}
	})
}
