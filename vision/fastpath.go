package vision

import "image"

// The common photo path — a JPEG decoded by libjpeg-turbo at a DCT scale just above the
// model's size, upright, opaque — needs no box averaging: every output pixel
// interpolates four stored pixels. sampleOpaqueRGBA does that straight from the pixel
// bytes, skipping the intermediate grid, in parallel over output rows. It computes the
// same values as the general path (gather, then sample).

// directRGBA reports whether img can take the fast path under plan g.
func directRGBA(img image.Image, orient int, g geometry) (*image.RGBA, bool) {
	m, ok := img.(*image.RGBA)
	if !ok || orient != 1 || g.transposed {
		return nil, false
	}
	for _, a := range []axis{g.xs, g.ys} {
		for i := 1; i < len(a.spans); i++ {
			if a.spans[i].hi-a.spans[i].lo != 1 || a.spans[i].lo < a.spans[i-1].lo {
				return nil, false
			}
		}
		if len(a.spans) > 0 && a.spans[0].hi-a.spans[0].lo != 1 {
			return nil, false
		}
	}
	return m, m.Opaque()
}

// sampleOpaqueRGBA writes p's tensor for an opaque, upright RGBA image.
func (p Preprocess) sampleOpaqueRGBA(out []float32, m *image.RGBA, g geometry) {
	c := p.Crop
	b := m.Bounds()
	// byte offsets of the two taps of every output column and row
	col0, col1 := make([]int, c), make([]int, c)
	for j := range c {
		col0[j] = 4 * (b.Min.X + g.xs.spans[g.xs.i0[j]].lo - m.Rect.Min.X)
		col1[j] = 4 * (b.Min.X + g.xs.spans[g.xs.i1[j]].lo - m.Rect.Min.X)
	}
	row0, row1 := make([]int, c), make([]int, c)
	for i := range c {
		row0[i] = (b.Min.Y + g.ys.spans[g.ys.i0[i]].lo - m.Rect.Min.Y) * m.Stride
		row1[i] = (b.Min.Y + g.ys.spans[g.ys.i1[i]].lo - m.Rect.Min.Y) * m.Stride
	}
	var mul, add [3]float32
	var dstCh [3]int
	for ch := range 3 {
		d := ch
		if p.Color == ColorBGR {
			d = 2 - ch
		}
		dstCh[ch] = d
		mul[ch] = p.Scale / p.Std[d]
		add[ch] = -p.Mean[d] / p.Std[d]
	}
	chStride, pxStride := c*c, 1
	if p.Layout == LayoutNHWC {
		chStride, pxStride = 1, 3
	}
	pix := m.Pix
	parallelRows(c, c, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r0, r1, wo := row0[i], row1[i], g.ys.w[i]
			base := i * c * pxStride
			for j := range c {
				a, bb := r0+col0[j], r0+col1[j]
				e, f := r1+col0[j], r1+col1[j]
				wn := g.xs.w[j]
				at := base + j*pxStride
				for ch := range 3 {
					top := float32(pix[a+ch]) + (float32(pix[bb+ch])-float32(pix[a+ch]))*wn
					bot := float32(pix[e+ch]) + (float32(pix[f+ch])-float32(pix[e+ch]))*wn
					v := top + (bot-top)*wo
					out[at+dstCh[ch]*chStride] = v*mul[ch] + add[ch]
				}
			}
		}
	})
}
