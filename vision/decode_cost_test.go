package vision_test

import (
	"context"
	"errors"
	"image"
	"image/color"
	"runtime"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/vision"
)

// allocated is what fn allocates on the Go heap, on average over a few runs.
func allocated(fn func()) uint64 {
	const runs = 3
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		fn()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / runs
}

// TestDecodeCostBoundsTheDecode: the estimate read from the header is never below what a
// decode allocates (with libjpeg-turbo where installed, and in Go), and not wildly above
// it for large images.
func TestDecodeCostBoundsTheDecode(t *testing.T) {
	const w, h = 1600, 1200
	gray := image.NewGray(image.Rect(0, 0, w, h))
	deep := image.NewNRGBA64(image.Rect(0, 0, w, h))
	pal := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
	for y := range h {
		for x := range w {
			v := uint8((x*7 + y*13) % 256)
			gray.Pix[y*gray.Stride+x] = v
			deep.SetNRGBA64(x, y, color.NRGBA64{uint16(v) << 8, 0, uint16(x), 0xffff})
			pal.Pix[y*pal.Stride+x] = uint8(x/9+y/9) % 2
		}
	}
	type sample struct {
		name string
		data []byte
	}
	samples := []sample{
		{"jpeg 4:2:0", encodeJPEG(t, photo(w, h), 90)},
		{"jpeg gray", encodeJPEG(t, gray, 90)},
		{"png rgba", encodePNG(t, photo(w, h))},
		{"png 16-bit", encodePNG(t, deep)},
		{"png gray", encodePNG(t, gray)},
		{"png paletted", encodePNG(t, pal)},
		{"gif", encodeGIF(t, quad(w/4, h/4))},
		{"webp lossless", readTestdata(t, "quad8x6_lossless.webp")},
		{"webp lossy", readTestdata(t, "quad32x24_lossy.webp")},
	}
	for _, tc := range samples {
		t.Run(tc.name, func(t *testing.T) {
			cost, err := vision.DecodeCost(tc.data, vision.DefaultLimits(), 224)
			if err != nil {
				t.Fatal(err)
			}
			scaled := allocated(func() {
				if _, _, err := vision.DecodeFor(tc.data, vision.DefaultLimits(), 224); err != nil {
					t.Fatal(err)
				}
			})
			full := allocated(func() {
				if _, _, err := vision.Decode(tc.data, vision.DefaultLimits()); err != nil {
					t.Fatal(err)
				}
			})
			t.Logf("cost %d bytes; DecodeFor allocated %d, Decode %d", cost, scaled, full)
			if uint64(cost) < max(scaled, full) {
				t.Errorf("cost %d is below what decoding allocates (%d scaled, %d in Go)", cost, scaled, full)
			}
			if limit := 4*max(scaled, full) + 2<<20; uint64(cost) > limit {
				t.Errorf("cost %d is more than 4× what decoding allocates (%d)", cost, max(scaled, full))
			}
		})
	}
	if _, err := vision.DecodeCost(pngBomb(100000, 100000), vision.DefaultLimits(), 224); !errors.Is(err, vision.ErrTooLarge) {
		t.Errorf("bomb: %v, want ErrTooLarge", err)
	}
	if _, err := vision.DecodeCost([]byte("not an image"), vision.DefaultLimits(), 224); !errors.Is(err, vision.ErrImage) {
		t.Errorf("garbage: %v, want ErrImage", err)
	}
}

// TestDecodeContextStopsWithItsContext: a decode in Go stops once its context ends,
// rather than running to the end of a large image.
func TestDecodeContextStopsWithItsContext(t *testing.T) {
	data := encodePNG(t, photo(3000, 2000))
	start := time.Now()
	if _, _, err := vision.Decode(data, vision.DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	whole := time.Since(start)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := vision.DecodeContext(ctx, data, vision.DefaultLimits()); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled decode: %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), whole/10)
	defer cancel()
	start = time.Now()
	_, _, err := vision.DecodeContext(ctx, data, vision.DefaultLimits())
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("decode past its deadline: %v, want DeadlineExceeded", err)
	}
	t.Logf("whole decode %s; with a deadline of %s it stopped after %s", whole, whole/10, took)
	if took > whole/2 {
		t.Errorf("the decode ran %s past a deadline of %s (a whole decode takes %s)", took, whole/10, whole)
	}
}
