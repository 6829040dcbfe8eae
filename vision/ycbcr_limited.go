package vision

import (
	"image"
	"image/color"
)

// LimitedYCbCr holds a lossy WebP's pixels. VP8 stores BT.601 limited-range ("video")
// YCbCr, which image.YCbCr's conversions read as full-range JPEG values, so the photo
// would look washed out (golang/go#40173: black becomes 16, white 235). Decode wraps
// x/image/webp's output in it; At converts with libwebp's coefficients, and Preprocess
// reads the planes directly.
type LimitedYCbCr struct {
	YCbCr   *image.YCbCr
	Alpha   []uint8 // from an image.NYCbCrA, nil when opaque; indexed like image.Alpha
	AStride int
}

// ColorModel is NRGBA: At converts to it.
func (m *LimitedYCbCr) ColorModel() color.Model { return color.NRGBAModel }

// Bounds is the planes' rectangle.
func (m *LimitedYCbCr) Bounds() image.Rectangle { return m.YCbCr.Rect }

// At converts the pixel at (x, y) to full-range RGB.
func (m *LimitedYCbCr) At(x, y int) color.Color {
	if !(image.Point{x, y}.In(m.YCbCr.Rect)) {
		return color.NRGBA{}
	}
	c := m.YCbCr.YCbCrAt(x, y)
	r, g, b := limitedToRGB(float32(c.Y), float32(c.Cb)-128, float32(c.Cr)-128)
	a := uint8(255)
	if m.Alpha != nil {
		a = m.Alpha[(y-m.YCbCr.Rect.Min.Y)*m.AStride+(x-m.YCbCr.Rect.Min.X)]
	}
	return color.NRGBA{round8(r), round8(g), round8(b), a}
}

// limitedToRGB converts BT.601 limited-range luma and centred chroma to RGB in 0–255.
func limitedToRGB(y, cb, cr float32) (r, g, b float32) {
	y = 1.164383 * (y - 16)
	return clamp255(y + 1.596027*cr), clamp255(y - 0.391762*cb - 0.812968*cr), clamp255(y + 2.017232*cb)
}

// fullToRGB converts JFIF full-range luma and centred chroma to RGB in 0–255, as
// image/color and libjpeg do.
func fullToRGB(y, cb, cr float32) (r, g, b float32) {
	return clamp255(y + 1.402*cr), clamp255(y - 0.344136*cb - 0.714136*cr), clamp255(y + 1.772*cb)
}

func clamp255(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return v
}

func round8(v float32) uint8 { return uint8(clamp255(v) + 0.5) }
