package turbojpeg_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/vision/turbojpeg"
)

func TestScaledSize(t *testing.T) {
	for _, tc := range []struct{ w, h, minShort, wantW, wantH int }{
		{1000, 750, 0, 1000, 750},   // full size
		{1000, 750, 224, 375, 282},  // 3/8: the first scale whose short side reaches 224
		{1000, 750, 94, 125, 94},    // 1/8
		{1000, 750, 750, 1000, 750}, // needs full size
		{640, 480, 481, 640, 480},   // more than the image: full size
	} {
		w, h := turbojpeg.ScaledSize(tc.w, tc.h, tc.minShort)
		if diff := cmp.Diff([2]int{tc.wantW, tc.wantH}, [2]int{w, h}); diff != "" {
			t.Errorf("ScaledSize(%d, %d, %d) (-want +got):\n%s", tc.w, tc.h, tc.minShort, diff)
		}
	}
}

// TestDecodeScalesChecksAndRefuses: with libjpeg-turbo a JPEG decodes at the scale asked
// for, with its colours; a header over the pixel limit and a broken file are refused
// with their own errors.
func TestDecodeScalesChecksAndRefuses(t *testing.T) {
	if err := turbojpeg.Load(); err != nil {
		testenv.Missing(t, err.Error())
		return
	}
	src := image.NewRGBA(image.Rect(0, 0, 800, 600))
	for i := range src.Pix {
		src.Pix[i] = 0xff
	}
	for x := range 400 {
		for y := range 600 {
			src.Set(x, y, color.RGBA{R: 200, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	img, err := turbojpeg.Decode(buf.Bytes(), 1<<24, 150, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got != (image.Point{X: 200, Y: 150}) {
		t.Fatalf("decoded at %v, want 200×150 (2/8)", got)
	}
	if c := img.RGBAAt(50, 75); c.R < 180 || c.G > 40 || c.A != 255 {
		t.Errorf("left half reads %v, want red", c)
	}
	if _, err := turbojpeg.Decode(buf.Bytes(), 800*600-1, 0, nil); !errors.Is(err, turbojpeg.ErrTooManyPixels) {
		t.Errorf("over the pixel limit: %v", err)
	}
	if _, err := turbojpeg.Decode(buf.Bytes()[:200], 1<<24, 0, nil); !errors.Is(err, turbojpeg.ErrCorrupt) {
		t.Errorf("a cut-off file: %v", err)
	}
}
