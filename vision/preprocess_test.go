package vision_test

import (
	"errors"
	"image"
	"image/color"
	"image/color/palette"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/switchboard-cs/switchboard/vision"
)

func TestPreprocessValidate(t *testing.T) {
	ok := vision.Preprocess{ResizeShort: 256, Crop: 224, Mean: []float32{.485, .456, .406}, Std: []float32{.229, .224, .225}}
	mod := func(f func(p *vision.Preprocess)) vision.Preprocess {
		p := ok
		f(&p)
		return p
	}
	tests := []struct {
		name    string
		p       vision.Preprocess
		wantErr bool
	}{
		{"imagenet", ok, false},
		{"crop only", vision.Preprocess{Crop: 32}, false},
		{"names in any case", mod(func(p *vision.Preprocess) { p.Layout, p.Color, p.Filter = "nhwc", "bgr", "Nearest" }), false},
		{"resize equal to crop", mod(func(p *vision.Preprocess) { p.ResizeShort = 224 }), false},
		{"no crop", mod(func(p *vision.Preprocess) { p.Crop = 0 }), true},
		{"huge crop", mod(func(p *vision.Preprocess) { p.Crop, p.ResizeShort = 100000, 0 }), true},
		{"resize below crop", mod(func(p *vision.Preprocess) { p.ResizeShort = 200 }), true},
		{"negative resize", mod(func(p *vision.Preprocess) { p.ResizeShort = -1 }), true},
		{"negative scale", mod(func(p *vision.Preprocess) { p.Scale = -1 }), true},
		{"two means", mod(func(p *vision.Preprocess) { p.Mean = []float32{1, 2} }), true},
		{"zero std", mod(func(p *vision.Preprocess) { p.Std = []float32{1, 0, 1} }), true},
		{"unknown layout", mod(func(p *vision.Preprocess) { p.Layout = "CHW" }), true},
		{"unknown color", mod(func(p *vision.Preprocess) { p.Color = "YUV" }), true},
		{"unknown filter", mod(func(p *vision.Preprocess) { p.Filter = "bicubic" }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, vision.ErrPreprocess)) {
				t.Errorf("Validate() = %v, want error: %v (wrapping ErrPreprocess)", err, tt.wantErr)
			}
		})
	}
}

// grayish is a w×h NRGBA image with R = G = B = v(x, y).
func grayish(w, h int, v func(x, y int) uint8) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := v(x, y)
			m.SetNRGBA(x, y, color.NRGBA{c, c, c, 255})
		}
	}
	return m
}

// planes3 repeats one channel plane three times (NCHW of a gray image).
func planes3(plane ...float32) []float32 {
	return append(append(append([]float32{}, plane...), plane...), plane...)
}

func TestTensorValues(t *testing.T) {
	px := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	px.SetNRGBA(0, 0, color.NRGBA{10, 20, 30, 255})
	px.SetNRGBA(1, 0, color.NRGBA{40, 50, 60, 255})
	px.SetNRGBA(0, 1, color.NRGBA{70, 80, 90, 255})
	px.SetNRGBA(1, 1, color.NRGBA{100, 110, 120, 7}) // alpha is ignored
	meanStd := vision.Preprocess{Crop: 2, Scale: 1, Mean: []float32{1, 2, 3}, Std: []float32{2, 4, 8}}
	with := func(f func(p *vision.Preprocess)) vision.Preprocess {
		p := meanStd
		f(&p)
		return p
	}
	ramp := grayish(4, 4, func(x, y int) uint8 { return uint8(10*x + 40*y) })
	checker := grayish(6, 6, func(x, y int) uint8 { return uint8(90 * ((x + y + 1) % 2)) })
	tests := []struct {
		name      string
		img       image.Image
		p         vision.Preprocess
		want      []float32
		wantShape []int64
	}{
		{"mean/std NCHW", px, meanStd, []float32{
			4.5, 19.5, 34.5, 49.5, // R: (v-1)/2
			4.5, 12, 19.5, 27, // G: (v-2)/4
			3.375, 7.125, 10.875, 14.625, // B: (v-3)/8
		}, []int64{1, 3, 2, 2}},
		{"mean/std NHWC", px, with(func(p *vision.Preprocess) { p.Layout = "NHWC" }), []float32{
			4.5, 4.5, 3.375, 19.5, 12, 7.125, 34.5, 19.5, 10.875, 49.5, 27, 14.625,
		}, []int64{1, 2, 2, 3}},
		{"BGR: mean/std in model order", px, with(func(p *vision.Preprocess) { p.Color = "BGR" }), []float32{
			14.5, 29.5, 44.5, 59.5, // B: (v-1)/2
			4.5, 12, 19.5, 27, // G: (v-2)/4
			0.875, 4.625, 8.375, 12.125, // R: (v-3)/8
		}, []int64{1, 3, 2, 2}},
		{"BGR NHWC", px, with(func(p *vision.Preprocess) { p.Color, p.Layout = "BGR", "NHWC" }), []float32{
			14.5, 4.5, 0.875, 29.5, 12, 4.625, 44.5, 19.5, 8.375, 59.5, 27, 12.125,
		}, []int64{1, 2, 2, 3}},
		{"default scale 1/255", px, vision.Preprocess{Crop: 2}, []float32{
			10. / 255, 40. / 255, 70. / 255, 100. / 255,
			20. / 255, 50. / 255, 80. / 255, 110. / 255,
			30. / 255, 60. / 255, 90. / 255, 120. / 255,
		}, []int64{1, 3, 2, 2}},
		{"shrink by 2 averages 2×2 boxes", ramp, vision.Preprocess{Crop: 2, Scale: 1},
			planes3(25, 45, 105, 125), []int64{1, 3, 2, 2}},
		{"shrink by 2, nearest", ramp, vision.Preprocess{Crop: 2, Scale: 1, Filter: "nearest"},
			planes3(50, 70, 130, 150), []int64{1, 3, 2, 2}},
		{"shrink by 3 averages 3×3 boxes (antialiasing)", checker, vision.Preprocess{Crop: 2, Scale: 1},
			planes3(50, 40, 40, 50), []int64{1, 3, 2, 2}},
		{"shrink by 3, nearest aliases", checker, vision.Preprocess{Crop: 2, Scale: 1, Filter: "nearest"},
			planes3(90, 0, 0, 90), []int64{1, 3, 2, 2}},
		{"enlarge bilinear, edges clamped", grayish(2, 2, func(x, y int) uint8 { return uint8(100*x + 20*y) }),
			vision.Preprocess{Crop: 4, Scale: 1}, planes3(
				0, 25, 75, 100,
				5, 30, 80, 105,
				15, 40, 90, 115,
				20, 45, 95, 120), []int64{1, 3, 4, 4}},
		{"center crop of a wide image", grayish(7, 4, func(x, y int) uint8 { return uint8(x + 10*y) }),
			vision.Preprocess{ResizeShort: 4, Crop: 4, Scale: 1}, planes3(
				2, 3, 4, 5,
				12, 13, 14, 15,
				22, 23, 24, 25,
				32, 33, 34, 35), []int64{1, 3, 4, 4}},
		{"center crop offset rounds half to even", grayish(5, 4, func(x, y int) uint8 { return uint8(x + 10*y) }),
			vision.Preprocess{ResizeShort: 4, Crop: 4, Scale: 1, Filter: "nearest"}, planes3(
				0, 1, 2, 3,
				10, 11, 12, 13,
				20, 21, 22, 23,
				30, 31, 32, 33), []int64{1, 3, 4, 4}},
		{"center crop of a tall image", grayish(4, 7, func(x, y int) uint8 { return uint8(x + 10*y) }),
			vision.Preprocess{ResizeShort: 4, Crop: 4, Scale: 1}, planes3(
				20, 21, 22, 23,
				30, 31, 32, 33,
				40, 41, 42, 43,
				50, 51, 52, 53), []int64{1, 3, 4, 4}},
		{"resize short side then crop", grayish(8, 16, func(x, y int) uint8 { return uint8(x + 10*y) }),
			vision.Preprocess{ResizeShort: 4, Crop: 4, Scale: 1}, planes3(
				45.5, 47.5, 49.5, 51.5, // rows 4–5 of the source, columns in pairs
				65.5, 67.5, 69.5, 71.5,
				85.5, 87.5, 89.5, 91.5,
				105.5, 107.5, 109.5, 111.5), []int64{1, 3, 4, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, shape, err := tt.p.Tensor(tt.img)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantShape, shape); diff != "" {
				t.Errorf("shape (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-5)); diff != "" {
				t.Errorf("tensor (-want +got):\n%s", diff)
			}
		})
	}
}

// opaque hides an image's concrete type, so Preprocess takes its generic At path.
type opaque struct{ image.Image }

// testImages are the decoder output types Preprocess reads directly, with random pixels
// (YCbCr kept in a range whose RGB never clamps, so box averages commute with the
// conversion), at an odd size and with a non-zero origin.
func testImages() map[string]image.Image {
	rng := rand.New(rand.NewPCG(1, 2))
	r := image.Rect(3, 5, 3+67, 5+45)
	out := map[string]image.Image{}
	ratios := map[string]image.YCbCrSubsampleRatio{"4:2:0": image.YCbCrSubsampleRatio420,
		"4:2:2": image.YCbCrSubsampleRatio422, "4:4:4": image.YCbCrSubsampleRatio444, "4:1:0": image.YCbCrSubsampleRatio410}
	for name, ratio := range ratios {
		m := image.NewYCbCr(image.Rect(0, 0, 80, 60), ratio)
		for i := range m.Y {
			m.Y[i] = uint8(70 + rng.IntN(111))
		}
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = uint8(100+rng.IntN(57)), uint8(100+rng.IntN(57))
		}
		out["ycbcr "+name] = m.SubImage(r)
		if ratio == image.YCbCrSubsampleRatio420 {
			out["webp limited ycbcr"] = &vision.LimitedYCbCr{YCbCr: m.SubImage(r).(*image.YCbCr)}
		}
	}
	rgba, nrgba, alpha := image.NewRGBA(r), image.NewNRGBA(r), image.NewRGBA(r)
	gray, pal := image.NewGray(r), image.NewPaletted(r, palette.WebSafe)
	for i := range rgba.Pix {
		rgba.Pix[i], nrgba.Pix[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
		alpha.Pix[i] = uint8(rng.IntN(129))
		if i%4 == 3 {
			rgba.Pix[i], alpha.Pix[i] = 255, 128
		}
	}
	for i := range gray.Pix {
		gray.Pix[i], pal.Pix[i] = uint8(rng.IntN(256)), uint8(rng.IntN(len(palette.WebSafe)))
	}
	out["rgba"], out["nrgba"], out["rgba half transparent"], out["gray"], out["paletted"] = rgba, nrgba, alpha, gray, pal
	return out
}

// TestTensorFastPathsMatchGeneric checks every typed pixel reader and the orientation
// mapping against the plain At path, across filters, box sizes and layouts.
func TestTensorFastPathsMatchGeneric(t *testing.T) {
	configs := map[string]vision.Preprocess{
		"shrink ×4/×2.8 box+bilinear": {Crop: 16, Scale: 1},
		"resize short nearest":        {ResizeShort: 30, Crop: 24, Scale: 1, Filter: "nearest"},
		"resize short bilinear ×1.5":  {ResizeShort: 30, Crop: 30, Scale: 1},
		"enlarge NHWC BGR":            {ResizeShort: 90, Crop: 80, Scale: 1, Layout: "NHWC", Color: "BGR"},
	}
	for name, img := range testImages() {
		tol := 0.01 // in 0–255 units
		switch name {
		case "ycbcr 4:2:0", "ycbcr 4:2:2", "ycbcr 4:4:4", "ycbcr 4:1:0":
			tol = 0.25 // image/color converts in fixed point, the fast path in float32
		case "webp limited ycbcr":
			tol = 0.55 // LimitedYCbCr.At rounds to 8 bits, the fast path does not
		}
		for cname, p := range configs {
			for o := 1; o <= 8; o++ {
				src := image.Image(&vision.Oriented{Src: img, Orientation: o})
				fast, _, err := p.Tensor(src)
				if err != nil {
					t.Fatal(err)
				}
				slow, _, err := p.Tensor(opaque{src})
				if err != nil {
					t.Fatal(err)
				}
				if i, d := maxDiff(slow, fast); d > tol {
					t.Errorf("%s, %s, orientation %d: fast path differs from At by %g at %d: %g, want %g",
						name, cname, o, d, i, fast[i], slow[i])
				}
			}
		}
	}
}

// maxDiff returns where a and b differ most, and by how much.
func maxDiff(a, b []float32) (int, float64) {
	at, d := 0, 0.0
	if len(a) != len(b) {
		return 0, float64(len(a) - len(b))
	}
	for i := range a {
		if x := float64(a[i] - b[i]); x > d || -x > d {
			at, d = i, max(x, -x)
		}
	}
	return at, d
}

// rotated applies EXIF orientation o to m by the definitions of the EXIF standard (where
// the stored 0th row and 0th column end up), independently of vision.Oriented.
func rotated(m *image.NRGBA, o int) *image.NRGBA {
	w, h := m.Bounds().Dx(), m.Bounds().Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	out := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	for y := range h {
		for x := range w {
			var dx, dy int
			switch o {
			case 1:
				dx, dy = x, y
			case 2: // 0th row top, 0th column right
				dx, dy = w-1-x, y
			case 3: // 0th row bottom, 0th column right
				dx, dy = w-1-x, h-1-y
			case 4: // 0th row bottom, 0th column left
				dx, dy = x, h-1-y
			case 5: // 0th row left, 0th column top
				dx, dy = y, x
			case 6: // 0th row right, 0th column top
				dx, dy = h-1-y, x
			case 7: // 0th row right, 0th column bottom
				dx, dy = h-1-y, w-1-x
			case 8: // 0th row left, 0th column bottom
				dx, dy = y, w-1-x
			}
			out.SetNRGBA(dx, dy, m.NRGBAAt(x, y))
		}
	}
	return out
}

func TestTensorOrientation(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	src := image.NewNRGBA(image.Rect(0, 0, 40, 25))
	for i := range src.Pix {
		src.Pix[i] = uint8(rng.IntN(256))
	}
	p := vision.Preprocess{ResizeShort: 24, Crop: 20, Scale: 1}
	for o := 1; o <= 8; o++ {
		want, wantShape, err := p.Tensor(rotated(src, o))
		if err != nil {
			t.Fatal(err)
		}
		got, shape, err := p.Tensor(&vision.Oriented{Src: src, Orientation: o})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-4)); diff != "" || !cmp.Equal(wantShape, shape) {
			t.Errorf("orientation %d: tensor of the Oriented view differs from the rotated image (-want +got):\n%s", o, diff)
		}
	}
}

func TestAppendTensor(t *testing.T) {
	p := vision.Preprocess{Crop: 8}
	a, b := quad(16, 12), grayish(9, 9, func(x, y int) uint8 { return uint8(x * y) })
	ta, _, err := p.Tensor(a)
	if err != nil {
		t.Fatal(err)
	}
	tb, _, err := p.Tensor(b)
	if err != nil {
		t.Fatal(err)
	}
	batch := []float32{42}
	for _, img := range []image.Image{a, b} {
		if batch, err = p.AppendTensor(batch, img); err != nil {
			t.Fatal(err)
		}
	}
	want := append(append([]float32{42}, ta...), tb...)
	if diff := cmp.Diff(want, batch); diff != "" {
		t.Errorf("batch (-want +got):\n%s", diff)
	}

	for name, tc := range map[string]struct {
		p    vision.Preprocess
		img  image.Image
		want error
	}{
		"invalid preprocess": {vision.Preprocess{}, a, vision.ErrPreprocess},
		"nil image":          {p, nil, vision.ErrImage},
		"empty image":        {p, image.NewNRGBA(image.Rect(0, 0, 0, 5)), vision.ErrImage},
	} {
		got, err := tc.p.AppendTensor(batch, tc.img)
		if !errors.Is(err, tc.want) || len(got) != len(batch) {
			t.Errorf("%s: AppendTensor = %d values, %v; want %d values, %v", name, len(got), err, len(batch), tc.want)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	got := vision.Preprocess{Crop: 224, Layout: "nhwc"}.WithDefaults()
	want := vision.Preprocess{Crop: 224, Scale: 1.0 / 255, Mean: []float32{0, 0, 0}, Std: []float32{1, 1, 1},
		Layout: "NHWC", Color: "RGB", Filter: "bilinear"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WithDefaults (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{4, 224, 224, 3}, got.Shape(4)); diff != "" {
		t.Errorf("Shape (-want +got):\n%s", diff)
	}
}
