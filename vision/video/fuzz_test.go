package video

import (
	"context"
	"errors"
	"testing"
	"time"
)

// FuzzDecode: whatever the bytes, Decode returns a video within the limits or
// ErrVideo/ErrTooLarge, in time, and never panics.
//
//	go test -run '^$' -fuzz FuzzDecode -fuzztime 60s ./vision/video/
func FuzzDecode(f *testing.F) {
	mp4 := clip(f, "seed.mp4", pattern("64x48", 1), join(h264, aac, []string{"-g", "5"})...)
	webm := clip(f, "seed.webm", pattern("64x48", 1), "-c:v", "libvpx", "-deadline", "realtime", "-g", "5", "-c:a", "libopus")
	for _, seed := range [][]byte{mp4, webm} {
		f.Add(seed)
		f.Add(seed[:len(seed)/3])
		f.Add(seed[:len(seed)*2/3])
	}
	f.Add([]byte("\x1aE\xdf\xa3 not webm"))
	f.Add([]byte("\x00\x00\x00\x18ftypisom"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := DefaultLimits()
		lim.Timeout, lim.MaxFrames, lim.MaxBytes = 3*time.Second, 2, 1<<20
		start := time.Now()
		res, err := Decode(context.Background(), data, lim)
		if took := time.Since(start); took > lim.Timeout+2*time.Second {
			t.Errorf("Decode took %s", took)
		}
		switch {
		case err == nil:
			if len(res.Frames) == 0 || len(res.Frames) > lim.MaxFrames || len(res.Frames) != len(res.FrameTimes) {
				t.Errorf("%d frames, %d times", len(res.Frames), len(res.FrameTimes))
			}
			for _, fr := range res.Frames {
				if b := fr.Bounds(); b.Dx()*b.Dy() > lim.MaxPixels {
					t.Errorf("a frame of %v", b)
				}
			}
		case !errors.Is(err, ErrVideo) && !errors.Is(err, ErrTooLarge):
			t.Errorf("Decode: %v", err)
		}
	})
}
