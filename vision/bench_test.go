package vision_test

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/switchboard-cs/switchboard/vision"
)

// photo is a w×h picture with smooth shading, edges and noise, so that its JPEG has a
// photo's entropy rather than a flat image's.
func photo(w, h int) *image.RGBA {
	rng := rand.New(rand.NewPCG(7, 8))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			r := 128 + 100*math.Sin(6*fx+2*fy) + 10*rng.NormFloat64()
			g := 128 + 90*math.Cos(9*fy-3*fx) + 10*rng.NormFloat64()
			b := 100 + 80*math.Sin(20*fx*fy) + 10*rng.NormFloat64()
			if (x/97+y/61)%5 == 0 {
				r, g, b = 240-r/4, 230-g/4, 40+b/4
			}
			m.SetRGBA(x, y, color.RGBA{clamp8(r), clamp8(g), clamp8(b), 255})
		}
	}
	return m
}

func clamp8(v float64) uint8 { return uint8(math.Max(0, math.Min(255, v))) }

// BenchmarkDecodeAndTensor1MP is what the gateway adds per photo before inference: decode
// a 1-megapixel JPEG (1155×866, quality 90) and build the 224×224 ImageNet tensor.
func BenchmarkDecodeAndTensor1MP(b *testing.B) {
	data := encodeJPEG(b, photo(1155, 866), 90)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	dst := make([]float32, 0, imagenet.Len())
	for b.Loop() {
		img, _, err := vision.Decode(data, vision.DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		if dst, err = imagenet.AppendTensor(dst[:0], img); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode1MP(b *testing.B) {
	data := encodeJPEG(b, photo(1155, 866), 90)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := vision.Decode(data, vision.DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTensor measures preprocessing alone, on decoded JPEGs (YCbCr 4:2:0) of 1 and
// 12 megapixels, upright and rotated by EXIF.
func BenchmarkTensor(b *testing.B) {
	for _, bc := range []struct {
		name        string
		w, h        int
		orientation int
	}{{"1MP", 1155, 866, 1}, {"1MP_exif6", 1155, 866, 6}, {"12MP", 4000, 3000, 1}} {
		b.Run(bc.name, func(b *testing.B) {
			img, _, err := vision.Decode(encodeJPEG(b, photo(bc.w, bc.h), 90), vision.DefaultLimits())
			if err != nil {
				b.Fatal(err)
			}
			if bc.orientation != 1 {
				img = &vision.Oriented{Src: img, Orientation: bc.orientation}
			}
			b.ReportAllocs()
			dst := make([]float32, 0, imagenet.Len())
			for b.Loop() {
				if dst, err = imagenet.AppendTensor(dst[:0], img); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
