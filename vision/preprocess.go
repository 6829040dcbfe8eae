package vision

import (
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
	"sync"
)

// ErrPreprocess means a Preprocess section of a manifest is invalid.
var ErrPreprocess = errors.New("vision: bad preprocessing")

// MaxCrop bounds Preprocess.Crop and ResizeShort: a manifest asking for more is a typo.
const MaxCrop = 4096

// Preprocess is the image part of a model manifest: how a decoded photo becomes the
// model's input tensor. The steps are: resize so the short side is ResizeShort (keeping
// the aspect ratio; 0 resizes straight to Crop×Crop), center-crop Crop×Crop, multiply by
// Scale, subtract Mean and divide by Std per channel, and lay the 3 channels out as
// Layout says in Color order. Mean and Std are in the model's channel order, after the
// Color swap. Alpha is ignored, as PIL's convert("RGB") does.
//
// Filter "bilinear" is antialiased when it shrinks: where the scale is at least 2, the
// source is first box-averaged by the integer part of the scale (as PIL's reducing_gap
// does), then interpolated bilinearly with pixel centres aligned (OpenCV INTER_LINEAR,
// PIL). "nearest" takes the pixel whose area holds the output pixel's centre.
type Preprocess struct {
	ResizeShort int       `yaml:"resize_short" json:"resize_short"` // short side after resizing; 0 = resize straight to Crop×Crop
	Crop        int       `yaml:"crop" json:"crop"`                 // center crop Crop×Crop (required, e.g. 224)
	Scale       float32   `yaml:"scale" json:"scale"`               // pixel multiplier before Mean/Std; 0 = 1/255
	Mean        []float32 `yaml:"mean" json:"mean"`                 // per channel, 3 values; empty = 0
	Std         []float32 `yaml:"std" json:"std"`                   // per channel, 3 values; empty = 1
	Layout      string    `yaml:"layout" json:"layout"`             // "NCHW" (default) or "NHWC"
	Color       string    `yaml:"color" json:"color"`               // "RGB" (default) or "BGR"
	Filter      string    `yaml:"filter" json:"filter"`             // "bilinear" (default) or "nearest"
}

// Layouts, colour orders and filters Preprocess accepts (matched case-insensitively).
const (
	LayoutNCHW     = "NCHW"
	LayoutNHWC     = "NHWC"
	ColorRGB       = "RGB"
	ColorBGR       = "BGR"
	FilterBilinear = "bilinear"
	FilterNearest  = "nearest"
)

// Validate reports every problem of p at once, wrapped in ErrPreprocess.
func (p Preprocess) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if p.Crop <= 0 || p.Crop > MaxCrop {
		bad("crop %d is not in 1..%d", p.Crop, MaxCrop)
	}
	if p.ResizeShort < 0 || p.ResizeShort > MaxCrop {
		bad("resize_short %d is not in 0..%d", p.ResizeShort, MaxCrop)
	} else if p.ResizeShort > 0 && p.ResizeShort < p.Crop {
		bad("resize_short %d is smaller than crop %d", p.ResizeShort, p.Crop)
	}
	if !finite(p.Scale) || p.Scale < 0 {
		bad("scale %v is not a finite number >= 0", p.Scale)
	}
	checkVec := func(name string, v []float32, zeroOK bool) {
		if len(v) != 0 && len(v) != 3 {
			bad("%s has %d values, want 3 (one per channel) or none", name, len(v))
		}
		for i, x := range v {
			if !finite(x) || (!zeroOK && x == 0) {
				bad("%s[%d] = %v is not usable", name, i, x)
			}
		}
	}
	checkVec("mean", p.Mean, true)
	checkVec("std", p.Std, false)
	if canon(p.Layout, LayoutNCHW, LayoutNCHW, LayoutNHWC) == "" {
		bad("layout %q is not %s or %s", p.Layout, LayoutNCHW, LayoutNHWC)
	}
	if canon(p.Color, ColorRGB, ColorRGB, ColorBGR) == "" {
		bad("color %q is not %s or %s", p.Color, ColorRGB, ColorBGR)
	}
	if canon(p.Filter, FilterBilinear, FilterBilinear, FilterNearest) == "" {
		bad("filter %q is not %s or %s", p.Filter, FilterBilinear, FilterNearest)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrPreprocess, errors.Join(errs...))
	}
	return nil
}

func finite(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }

// canon returns the allowed value s names (def when s is empty), or "" when none.
func canon(s, def string, allowed ...string) string {
	if s == "" {
		return def
	}
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimSpace(s), a) {
			return a
		}
	}
	return ""
}

// WithDefaults returns p with every default spelled out (Scale 1/255, Mean 0, Std 1,
// NCHW, RGB, bilinear) and the names in canonical case; models/ shows it as the
// effective configuration. It does not validate.
func (p Preprocess) WithDefaults() Preprocess {
	if p.Scale == 0 {
		p.Scale = 1.0 / 255
	}
	if len(p.Mean) == 0 {
		p.Mean = []float32{0, 0, 0}
	}
	if len(p.Std) == 0 {
		p.Std = []float32{1, 1, 1}
	}
	p.Mean, p.Std = slices.Clone(p.Mean), slices.Clone(p.Std)
	p.Layout = canon(p.Layout, LayoutNCHW, LayoutNCHW, LayoutNHWC)
	p.Color = canon(p.Color, ColorRGB, ColorRGB, ColorBGR)
	p.Filter = canon(p.Filter, FilterBilinear, FilterBilinear, FilterNearest)
	return p
}

// Shape is the input shape for a batch of n images: [n,3,Crop,Crop] for NCHW,
// [n,Crop,Crop,3] for NHWC.
func (p Preprocess) Shape(n int) []int64 {
	c := int64(p.Crop)
	if canon(p.Layout, LayoutNCHW, LayoutNCHW, LayoutNHWC) == LayoutNHWC {
		return []int64{int64(n), c, c, 3}
	}
	return []int64{int64(n), 3, c, c}
}

// Len is the number of float32 values of one image: 3·Crop·Crop.
func (p Preprocess) Len() int { return 3 * p.Crop * p.Crop }

// Tensor returns the input data of one image and its shape with a batch of 1, ready for
// ONNX Runtime.
func (p Preprocess) Tensor(img image.Image) ([]float32, []int64, error) {
	data, err := p.AppendTensor(make([]float32, 0, p.Len()), img)
	if err != nil {
		return nil, nil, err
	}
	return data, p.Shape(1), nil
}

// AppendTensor appends one image's input data (Len values) to dst, so that a batch is
// built in one buffer without copies. On error dst is returned unchanged. It is safe
// for concurrent use (with different dst).
func (p Preprocess) AppendTensor(dst []float32, img image.Image) ([]float32, error) {
	if err := p.Validate(); err != nil {
		return dst, err
	}
	if img == nil {
		return dst, fmt.Errorf("%w: nil image", ErrImage)
	}
	q := p.WithDefaults()
	src, orient := img, 1
	if o, ok := img.(*Oriented); ok && o.Src != nil {
		src, orient = o.Src, o.Orientation
	}
	b := src.Bounds()
	if b.Empty() {
		return dst, fmt.Errorf("%w: empty image", ErrImage)
	}
	g := q.plan(b.Dx(), b.Dy(), orient)
	if m, ok := directRGBA(src, orient, g); ok {
		n := q.Len()
		dst = slices.Grow(dst, n)
		q.sampleOpaqueRGBA(dst[len(dst):len(dst)+n], m, g)
		return dst[:len(dst)+n], nil
	}
	grid := getGrid(3 * len(g.xs.spans) * len(g.ys.spans))
	defer putGrid(grid)
	gather(*grid, sourceOf(src, g.xs.spans), g.xs.spans, g.ys.spans)

	n := q.Len()
	dst = slices.Grow(dst, n)
	out := dst[len(dst) : len(dst)+n]
	q.sample(out, *grid, g)
	return dst[:len(dst)+n], nil
}

// span is a run [lo, hi) of stored pixels along one axis, relative to the bounds' Min:
// one cell of the sampling grid (a single pixel, or a box when shrinking a lot).
type span struct{ lo, hi int }

// axis is the sampling plan along one stored axis.
type axis struct {
	spans  []span    // grid cells, in displayed order
	i0, i1 []int     // per output index: the two grid cells it interpolates
	w      []float32 // per output index: the weight of i1
}

// geometry is the full sampling plan of one image.
type geometry struct {
	xs, ys     axis // along the stored image's x and y
	transposed bool // output columns run along stored y (EXIF orientations 5–8)
}

// plan maps each output row and column to stored pixel coordinates: the resize and
// crop happen in displayed coordinates, then EXIF orientation maps them to stored ones.
func (p Preprocess) plan(w, h, orient int) geometry {
	o := &Oriented{Src: image.Rect(0, 0, w, h), Orientation: orient}
	dw, dh := w, h
	if o.transposed() {
		dw, dh = h, w
	}
	rw, rh := float64(p.Crop), float64(p.Crop)
	if p.ResizeShort > 0 {
		s := float64(p.ResizeShort)
		if dw <= dh {
			rw, rh = s, math.Floor(s*float64(dh)/float64(dw))
		} else {
			rw, rh = math.Floor(s*float64(dw)/float64(dh)), s
		}
	}
	nearest := p.Filter == FilterNearest
	colPos, colK := positions(p.Crop, dw, rw, nearest)
	rowPos, rowK := positions(p.Crop, dh, rh, nearest)
	flipX, flipY := o.flips()
	g := geometry{transposed: o.transposed()}
	if g.transposed {
		g.xs = planAxis(rowPos, rowK, w, flipX)
		g.ys = planAxis(colPos, colK, h, flipY)
	} else {
		g.xs = planAxis(colPos, colK, w, flipX)
		g.ys = planAxis(rowPos, rowK, h, flipY)
	}
	return g
}

// positions gives, for each of the crop's n outputs along a displayed axis of length
// l resized to r, the source coordinate of the output pixel's centre (pixel centres at
// integers) and the box size to pre-average by. The crop is centred as torchvision's
// CenterCrop does (round half to even).
func positions(n, l int, r float64, nearest bool) ([]float64, int) {
	f := float64(l) / r
	off := math.RoundToEven((r - float64(n)) / 2)
	pos := make([]float64, n)
	for j := range pos {
		c := (off + float64(j) + 0.5) * f
		if nearest {
			pos[j] = math.Min(math.Max(math.Floor(c), 0), float64(l-1))
		} else {
			pos[j] = c - 0.5
		}
	}
	k := 1
	if !nearest && f >= 2 {
		k = int(f)
	}
	return pos, k
}

// planAxis turns displayed coordinates on an axis of length l into grid cells of k
// pixels (cell q covers [q·k, q·k+k) as displayed) and interpolation taps over those
// cells; only the cells some tap uses become part of the grid. flip says the stored axis
// runs the other way, which only changes where a cell's pixels are stored, so boxes line
// up with the displayed image exactly as if it had been rotated first.
func planAxis(pos []float64, k, l int, flip bool) axis {
	cells := (l + k - 1) / k
	q0 := make([]int, len(pos))
	q1 := make([]int, len(pos))
	a := axis{w: make([]float32, len(pos))}
	need := make([]int, 0, 2*len(pos))
	for j, c := range pos {
		r := (c - float64(k-1)/2) / float64(k)
		r = math.Min(math.Max(r, 0), float64(cells-1))
		q := int(r)
		q0[j], q1[j] = q, q
		need = append(need, q)
		if wt := float32(r - float64(q)); wt > 0 && q+1 < cells {
			q1[j], a.w[j] = q+1, wt
			need = append(need, q+1)
		}
	}
	slices.Sort(need)
	need = slices.Compact(need)
	a.spans = make([]span, len(need))
	for i, q := range need {
		a.spans[i] = span{q * k, min(q*k+k, l)}
		if flip {
			a.spans[i] = span{l - a.spans[i].hi, l - a.spans[i].lo}
		}
	}
	a.i0, a.i1 = q0, q1
	for j := range pos {
		a.i0[j], _ = slices.BinarySearch(need, q0[j])
		a.i1[j], _ = slices.BinarySearch(need, q1[j])
	}
	return a
}

// sample interpolates the grid (rows along stored y, 3 values per cell) at every output
// pixel, normalizes and writes it in the requested layout and colour order.
func (p Preprocess) sample(out, grid []float32, g geometry) {
	c := p.Crop
	rowStride := 3 * len(g.xs.spans)
	inner, outer := taps(g.xs, 3), taps(g.ys, rowStride)
	if g.transposed {
		inner, outer = taps(g.ys, rowStride), taps(g.xs, 3)
	}
	var mul, add [3]float32 // per source channel: value·mul + add
	var dstCh [3]int        // per source channel: its index in the output
	for ch := range 3 {
		d := ch
		if p.Color == ColorBGR {
			d = 2 - ch
		}
		dstCh[ch] = d
		mul[ch] = p.Scale / p.Std[d]
		add[ch] = -p.Mean[d] / p.Std[d]
	}
	plane := c * c
	chStride, pxStride := plane, 1 // NCHW
	if p.Layout == LayoutNHWC {
		chStride, pxStride = 1, 3
	}
	parallelRows(c, c, func(lo, hi int) {
		p.sampleRows(out, grid, lo, hi, inner, outer, mul, add, dstCh, chStride, pxStride)
	})
}

// sampleRows is sample for output rows [lo, hi).
func (p Preprocess) sampleRows(out, grid []float32, lo, hi int, inner, outer tapList, mul, add [3]float32, dstCh [3]int, chStride, pxStride int) {
	c := p.Crop
	for i := lo; i < hi; i++ {
		o0, o1, wo := outer.off0[i], outer.off1[i], outer.w[i]
		base := i * c * pxStride
		for j := range c {
			n0, n1, wn := inner.off0[j], inner.off1[j], inner.w[j]
			a, b := grid[o0+n0:o0+n0+3], grid[o0+n1:o0+n1+3]
			e, f := grid[o1+n0:o1+n0+3], grid[o1+n1:o1+n1+3]
			at := base + j*pxStride
			for ch := range 3 {
				top := a[ch] + (b[ch]-a[ch])*wn
				bot := e[ch] + (f[ch]-e[ch])*wn
				v := top + (bot-top)*wo
				out[at+dstCh[ch]*chStride] = v*mul[ch] + add[ch]
			}
		}
	}
}

// tapList is an axis's taps as offsets into the grid buffer.
type tapList struct {
	off0, off1 []int
	w          []float32
}

func taps(a axis, stride int) tapList {
	t := tapList{off0: make([]int, len(a.i0)), off1: make([]int, len(a.i1)), w: a.w}
	for j := range a.i0 {
		t.off0[j], t.off1[j] = a.i0[j]*stride, a.i1[j]*stride
	}
	return t
}

var gridPool sync.Pool

func getGrid(n int) *[]float32 {
	if g, ok := gridPool.Get().(*[]float32); ok && cap(*g) >= n {
		*g = (*g)[:n]
		return g
	}
	g := make([]float32, n)
	return &g
}

func putGrid(g *[]float32) { gridPool.Put(g) }
