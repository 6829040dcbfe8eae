package vision

import (
	"image"
	"image/color"
	"runtime"
	"sync"
)

// pixelSource averages stored pixels over boxes, reading the decoded image's own pixel
// slices: Preprocess never calls At on the common decoder outputs.
type pixelSource interface {
	// fillRow writes the mean R, G, B (0–255) over rows [y0, y1) and, per cell, the
	// columns of xs into out, 3 values per cell. Coordinates are relative to Bounds().Min.
	fillRow(out []float32, y0, y1 int, xs []span)
}

// gather fills grid (rows along ys, cells along xs, 3 values per cell) from src.
func gather(grid []float32, src pixelSource, xs, ys []span) {
	row := 3 * len(xs)
	for r, s := range ys {
		src.fillRow(grid[r*row:(r+1)*row], s.lo, s.hi, xs)
	}
}

// parallelRows runs fn over [0, n) in one contiguous part per CPU when the work (n rows
// of width cells) is large enough to pay for the goroutines: preprocessing runs while
// ONNX Runtime's threads are idle, so the cores are free. fn must write only its own
// rows; sampling does, gathering does not (the YCbCr reader keeps running sums between
// rows), so only sampling is split.
func parallelRows(n, width int, fn func(lo, hi int)) {
	parts := min(runtime.GOMAXPROCS(0), 4)
	if parts < 2 || n*width < 1<<14 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	step := (n + parts - 1) / parts
	for lo := step; lo < n; lo += step {
		wg.Go(func() { fn(lo, min(lo+step, n)) })
	}
	fn(0, min(step, n))
	wg.Wait()
}

// sourceOf picks the fast reader for img's concrete type, or the generic one; xs are the
// columns every fillRow call will ask for.
func sourceOf(img image.Image, xs []span) pixelSource {
	switch m := img.(type) {
	case *image.YCbCr:
		if s, ok := newYCbCrSource(m, xs, false); ok {
			return s
		}
	case *image.NYCbCrA:
		if s, ok := newYCbCrSource(&m.YCbCr, xs, false); ok {
			return s
		}
	case *LimitedYCbCr:
		if s, ok := newYCbCrSource(m.YCbCr, xs, true); ok {
			return s
		}
	case *image.RGBA:
		return rgbaSource{m}
	case *image.NRGBA:
		return nrgbaSource{m}
	case *image.Gray:
		return graySource{m}
	case *image.Paletted:
		return newPalettedSource(m)
	}
	return genericSource{img}
}

// ycbcrSource reads JPEG and lossy WebP output, the hot path. Chroma positions follow
// image.YCbCr's COffset, with the subsampling divisions done as shifts (so bounds must
// not be negative). Each plane row is read once into a running sum, from which every
// cell's sum is a difference: the work is one addition per pixel plus a few per cell,
// whatever the box size.
type ycbcrSource struct {
	m       *image.YCbCr
	hs, vs  uint // chroma subsampling shifts
	limited bool // BT.601 video range (lossy WebP), else JFIF full range

	xs     []span
	lo, hi int // luma columns covering every cell
	clo    int // first chroma column
	cn     int // chroma columns covering every cell
	cells  []chromaCell
	prefix []int32 // running sums of one row (luma or chroma), prefix[0] = 0
	sy     []int   // per cell: luma sum over the rows so far
	sb, sr []int   // per cell: chroma sums, weighted by the luma pixels each sample serves
}

// chromaCell is a cell's chroma columns [c0, c1] (relative to clo), and how many luma
// columns of the first and last sample lie outside the cell.
type chromaCell struct{ c0, c1, cut0, cut1 int }

func newYCbCrSource(m *image.YCbCr, xs []span, limited bool) (*ycbcrSource, bool) {
	if m.Rect.Min.X < 0 || m.Rect.Min.Y < 0 || len(xs) == 0 {
		return nil, false
	}
	s := &ycbcrSource{m: m, limited: limited, xs: xs}
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
	case image.YCbCrSubsampleRatio422:
		s.hs = 1
	case image.YCbCrSubsampleRatio420:
		s.hs, s.vs = 1, 1
	case image.YCbCrSubsampleRatio440:
		s.vs = 1
	case image.YCbCrSubsampleRatio411:
		s.hs = 2
	case image.YCbCrSubsampleRatio410:
		s.hs, s.vs = 2, 1
	default:
		return nil, false
	}
	s.lo, s.hi = xs[0].lo, xs[0].hi
	for _, sp := range xs {
		s.lo, s.hi = min(s.lo, sp.lo), max(s.hi, sp.hi)
	}
	mx := m.Rect.Min.X
	cx0 := mx >> s.hs
	col := func(x int) int { return (x+mx)>>s.hs - cx0 } // chroma column of luma column x
	s.clo = col(s.lo)
	s.cells = make([]chromaCell, len(xs))
	for i, sp := range xs {
		c0, c1 := col(sp.lo), col(sp.hi-1)
		s.cells[i] = chromaCell{
			c0: c0 - s.clo, c1: c1 - s.clo,
			cut0: sp.lo + mx - (c0+cx0)<<s.hs,
			cut1: (c1+cx0+1)<<s.hs - (sp.hi + mx),
		}
	}
	s.cn = col(s.hi-1) - s.clo + 1
	s.prefix = make([]int32, max(s.hi-s.lo, s.cn)+1)
	s.sy, s.sb, s.sr = make([]int, len(xs)), make([]int, len(xs)), make([]int, len(xs))
	return s, true
}

// runningSum fills s.prefix with the running sums of row and returns it.
func (s *ycbcrSource) runningSum(row []uint8) []int32 {
	p := s.prefix[:len(row)+1]
	var sum int32
	for i, v := range row {
		sum += int32(v)
		p[i+1] = sum
	}
	return p
}

func (s *ycbcrSource) fillRow(out []float32, y0, y1 int, _ []span) {
	m := s.m
	my := m.Rect.Min.Y
	cy0 := my >> s.vs
	clear(s.sy)
	clear(s.sb)
	clear(s.sr)
	for y := y0; y < y1; y++ {
		p := s.runningSum(m.Y[y*m.YStride+s.lo : y*m.YStride+s.hi])
		for c, sp := range s.xs {
			s.sy[c] += int(p[sp.hi-s.lo] - p[sp.lo-s.lo])
		}
	}
	hw := 1 << s.hs // luma columns per chroma column
	for cy := (y0+my)>>s.vs - cy0; cy <= (y1-1+my)>>s.vs-cy0; cy++ {
		rows := min(y1, (cy+cy0+1)<<s.vs-my) - max(y0, (cy+cy0)<<s.vs-my) // luma rows it serves
		at := cy*m.CStride + s.clo
		for plane, acc := range [2][]int{s.sb, s.sr} {
			row := m.Cb[at : at+s.cn]
			if plane == 1 {
				row = m.Cr[at : at+s.cn]
			}
			p := s.runningSum(row)
			for c, cl := range s.cells {
				sum := int(p[cl.c1+1]-p[cl.c0])*hw - cl.cut0*int(row[cl.c0]) - cl.cut1*int(row[cl.c1])
				acc[c] += sum * rows
			}
		}
	}
	for c, sp := range s.xs {
		n := float32((sp.hi - sp.lo) * (y1 - y0))
		yy, cb, cr := float32(s.sy[c])/n, float32(s.sb[c])/n-128, float32(s.sr[c])/n-128
		if s.limited {
			out[3*c], out[3*c+1], out[3*c+2] = limitedToRGB(yy, cb, cr)
		} else {
			out[3*c], out[3*c+1], out[3*c+2] = fullToRGB(yy, cb, cr)
		}
	}
}

// rgbaSource reads premultiplied RGBA (opaque PNGs decode to it); partly transparent
// boxes are un-premultiplied so that alpha is ignored like everywhere else.
type rgbaSource struct{ m *image.RGBA }

func (s rgbaSource) fillRow(out []float32, y0, y1 int, xs []span) {
	m := s.m
	for c, sp := range xs {
		var r, g, b, a int
		for y := y0; y < y1; y++ {
			row := m.Pix[y*m.Stride+4*sp.lo : y*m.Stride+4*sp.hi]
			for i := 0; i+3 < len(row); i += 4 {
				r += int(row[i])
				g += int(row[i+1])
				b += int(row[i+2])
				a += int(row[i+3])
			}
		}
		n := (sp.hi - sp.lo) * (y1 - y0)
		div := float32(n)
		if a != 255*n {
			div = float32(a) / 255
		}
		if a == 0 {
			out[3*c], out[3*c+1], out[3*c+2] = 0, 0, 0
			continue
		}
		out[3*c] = clamp255(float32(r) / div)
		out[3*c+1] = clamp255(float32(g) / div)
		out[3*c+2] = clamp255(float32(b) / div)
	}
}

// nrgbaSource reads non-premultiplied RGBA (PNGs with alpha, lossless WebP); alpha is
// dropped.
type nrgbaSource struct{ m *image.NRGBA }

func (s nrgbaSource) fillRow(out []float32, y0, y1 int, xs []span) {
	m := s.m
	for c, sp := range xs {
		var r, g, b int
		for y := y0; y < y1; y++ {
			row := m.Pix[y*m.Stride+4*sp.lo : y*m.Stride+4*sp.hi]
			for i := 0; i+3 < len(row); i += 4 {
				r += int(row[i])
				g += int(row[i+1])
				b += int(row[i+2])
			}
		}
		n := float32((sp.hi - sp.lo) * (y1 - y0))
		out[3*c], out[3*c+1], out[3*c+2] = float32(r)/n, float32(g)/n, float32(b)/n
	}
}

// graySource reads 8-bit grayscale (grayscale JPEG and PNG).
type graySource struct{ m *image.Gray }

func (s graySource) fillRow(out []float32, y0, y1 int, xs []span) {
	m := s.m
	for c, sp := range xs {
		var v int
		for y := y0; y < y1; y++ {
			for _, p := range m.Pix[y*m.Stride+sp.lo : y*m.Stride+sp.hi] {
				v += int(p)
			}
		}
		f := float32(v) / float32((sp.hi-sp.lo)*(y1-y0))
		out[3*c], out[3*c+1], out[3*c+2] = f, f, f
	}
}

// palettedSource reads GIF frames and palette PNGs; indexes past the palette are black.
type palettedSource struct {
	m   *image.Paletted
	rgb [256][3]uint8
}

func newPalettedSource(m *image.Paletted) *palettedSource {
	s := &palettedSource{m: m}
	for i, c := range m.Palette {
		if i >= len(s.rgb) {
			break
		}
		n := color.NRGBAModel.Convert(c).(color.NRGBA)
		s.rgb[i] = [3]uint8{n.R, n.G, n.B}
	}
	return s
}

func (s *palettedSource) fillRow(out []float32, y0, y1 int, xs []span) {
	m := s.m
	for c, sp := range xs {
		var r, g, b int
		for y := y0; y < y1; y++ {
			for _, p := range m.Pix[y*m.Stride+sp.lo : y*m.Stride+sp.hi] {
				v := &s.rgb[p]
				r, g, b = r+int(v[0]), g+int(v[1]), b+int(v[2])
			}
		}
		n := float32((sp.hi - sp.lo) * (y1 - y0))
		out[3*c], out[3*c+1], out[3*c+2] = float32(r)/n, float32(g)/n, float32(b)/n
	}
}

// nrgb64 returns c's un-premultiplied colour in 16 bits per channel, taking it as is
// from non-premultiplied colours so that alpha is ignored rather than applied.
func nrgb64(c color.Color) (r, g, b uint16) {
	switch n := c.(type) {
	case color.NRGBA:
		return uint16(n.R) * 257, uint16(n.G) * 257, uint16(n.B) * 257
	case color.NRGBA64:
		return n.R, n.G, n.B
	}
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return n.R, n.G, n.B
}

// genericSource handles every other image type (16-bit PNG, CMYK JPEG, …) through At,
// which is slow but only touches the cells the crop needs.
type genericSource struct{ m image.Image }

func (s genericSource) fillRow(out []float32, y0, y1 int, xs []span) {
	o := s.m.Bounds().Min
	for c, sp := range xs {
		var r, g, b float64
		for y := y0; y < y1; y++ {
			for x := sp.lo; x < sp.hi; x++ {
				cr, cg, cb := nrgb64(s.m.At(o.X+x, o.Y+y))
				r, g, b = r+float64(cr), g+float64(cg), b+float64(cb)
			}
		}
		n := 257 * float64((sp.hi-sp.lo)*(y1-y0))
		out[3*c], out[3*c+1], out[3*c+2] = float32(r/n), float32(g/n), float32(b/n)
	}
}
