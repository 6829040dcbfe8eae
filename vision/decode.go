package vision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"
)

// ErrImage means the bytes are not an image this package decodes (unknown format,
// corrupt data, unsupported variant such as animated WebP). The gateway maps it to 4xx.
var ErrImage = errors.New("vision: bad image")

// ErrTooLarge means the image is over Limits, in bytes or in pixels. The gateway maps it
// to 413.
var ErrTooLarge = errors.New("vision: image too large")

// Limits bound what Decode accepts. A zero or negative field takes DefaultLimits' value,
// so the zero Limits is safe, never unlimited.
type Limits struct {
	MaxBytes  int64 // encoded size
	MaxPixels int64 // width × height as declared in the header
}

// Default limits: 20 MiB of encoded data and 24 megapixels, above any phone camera's
// default output (12–16 Mpx) and 4K screenshots. A 24 Mpx PNG decodes to 96 MB of RGBA
// (192 MB at 16 bits per channel); DecodeCost says how much a given file takes.
const (
	DefaultMaxBytes  = 20 << 20
	DefaultMaxPixels = 24_000_000
)

// DefaultLimits returns 20 MiB and 24 megapixels.
func DefaultLimits() Limits {
	return Limits{MaxBytes: DefaultMaxBytes, MaxPixels: DefaultMaxPixels}
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	return l
}

// format is one decoder Decode accepts. They are called directly rather than through
// image.Decode so that formats other packages register (BMP, TIFF, …) are not accepted
// by accident.
type format struct {
	name   string
	magic  func([]byte) bool
	config func(*bytes.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var formats = []format{
	{"jpeg", func(b []byte) bool { return bytes.HasPrefix(b, []byte("\xff\xd8")) },
		func(r *bytes.Reader) (image.Config, error) { return jpeg.DecodeConfig(r) },
		func(r io.Reader) (image.Image, error) { return jpeg.Decode(r) }},
	{"png", func(b []byte) bool { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) },
		func(r *bytes.Reader) (image.Config, error) { return png.DecodeConfig(r) },
		func(r io.Reader) (image.Image, error) { return png.Decode(r) }},
	{"gif", func(b []byte) bool {
		return bytes.HasPrefix(b, []byte("GIF87a")) || bytes.HasPrefix(b, []byte("GIF89a"))
	},
		func(r *bytes.Reader) (image.Config, error) { return gif.DecodeConfig(r) },
		func(r io.Reader) (image.Image, error) { return gif.Decode(r) }}, // first frame only
	{"webp", func(b []byte) bool {
		return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP"
	},
		func(r *bytes.Reader) (image.Config, error) { return webp.DecodeConfig(r) },
		func(r io.Reader) (image.Image, error) { return webp.Decode(r) }},
}

// Decode decodes a JPEG, PNG, WebP or GIF (its first frame) and returns the image and
// the format name ("jpeg", "png", "webp", "gif"). It checks the byte size first, then
// reads only the header to check the declared pixel count, so a decompression bomb is
// rejected with ErrTooLarge before any pixel buffer is allocated; undecodable data gives
// ErrImage. A lossy WebP comes back as *LimitedYCbCr, so its colours are right. A JPEG's EXIF orientation (1–8, mirrored ones included) is applied: for
// orientations other than 1 the result is an *Oriented view of the decoded pixels.
func Decode(data []byte, lim Limits) (image.Image, string, error) {
	return DecodeContext(context.Background(), data, lim)
}

// DecodeContext is Decode that gives up with ctx's error once ctx ends: the decoder's
// reads fail, so a stage timeout stops a slow decode within one read of the input.
func DecodeContext(ctx context.Context, data []byte, lim Limits) (image.Image, string, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, "", fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	f, ok := sniff(data)
	if !ok {
		return nil, "", fmt.Errorf("%w: unknown format", ErrImage)
	}
	cfg, err := f.config(bytes.NewReader(data))
	if err != nil {
		return nil, f.name, fmt.Errorf("%w: %s header: %v", ErrImage, f.name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, f.name, fmt.Errorf("%w: %s of %d×%d pixels", ErrImage, f.name, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > lim.MaxPixels {
		return nil, f.name, fmt.Errorf("%w: %d×%d = %d pixels, limit %d", ErrTooLarge, cfg.Width, cfg.Height, px, lim.MaxPixels)
	}
	img, err := decodeSafely(ctx, f, data)
	if err != nil {
		return nil, f.name, err
	}
	if b := img.Bounds(); int64(b.Dx())*int64(b.Dy()) > lim.MaxPixels {
		// The header passed, so this only guards against a decoder disagreeing with itself.
		return nil, f.name, fmt.Errorf("%w: decoded %d×%d pixels, limit %d", ErrTooLarge, b.Dx(), b.Dy(), lim.MaxPixels)
	}
	switch m := img.(type) {
	case *image.YCbCr:
		if f.name == "webp" {
			img = &LimitedYCbCr{YCbCr: m}
		}
	case *image.NYCbCrA:
		if f.name == "webp" {
			img = &LimitedYCbCr{YCbCr: &m.YCbCr, Alpha: m.A, AStride: m.AStride}
		}
	}
	if f.name == "jpeg" {
		if o := exifOrientation(data); o != 1 {
			img = &Oriented{Src: img, Orientation: o}
		}
	}
	return img, f.name, nil
}

func sniff(data []byte) (format, bool) {
	for _, f := range formats {
		if f.magic(data) {
			return f, true
		}
	}
	return format{}, false
}

// decodeSafely runs the decoder, turning a panic on hostile input into ErrImage: the
// bytes come from customers, and one bad photo must not take the process down.
func decodeSafely(ctx context.Context, f format, data []byte) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("%w: %s decoder panicked: %v", ErrImage, f.name, r)
		}
	}()
	var r io.Reader = bytes.NewReader(data)
	if done := ctx.Done(); done != nil {
		r = &ctxReader{done: done, ctx: ctx, r: r}
	}
	img, err = f.decode(r)
	if cerr := ctx.Err(); err != nil && cerr != nil {
		return nil, fmt.Errorf("%s decode stopped: %w", f.name, cerr)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrImage, f.name, err)
	}
	if img == nil || img.Bounds().Empty() {
		return nil, fmt.Errorf("%w: %s: empty image", ErrImage, f.name)
	}
	return img, nil
}

// ctxReader fails its reads once ctx is done.
type ctxReader struct {
	done <-chan struct{}
	ctx  context.Context
	r    io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	select {
	case <-c.done:
		return 0, c.ctx.Err()
	default:
	}
	return c.r.Read(p)
}

// Oriented is a view of Src as EXIF Orientation says it is to be displayed. Orientation
// 1 is as stored; 2 mirrors horizontally; 3 rotates 180°; 4 mirrors vertically; 5
// transposes; 6 rotates 90° clockwise; 7 transverses; 8 rotates 90° counter-clockwise.
// The pixels are not copied: At maps coordinates, and Preprocess samples Src directly.
type Oriented struct {
	Src         image.Image
	Orientation int
}

// ColorModel is Src's.
func (o *Oriented) ColorModel() color.Model { return o.Src.ColorModel() }

// Bounds is Src's size, with width and height swapped for orientations 5–8, at (0,0).
func (o *Oriented) Bounds() image.Rectangle {
	b := o.Src.Bounds()
	if o.transposed() {
		return image.Rect(0, 0, b.Dy(), b.Dx())
	}
	return image.Rect(0, 0, b.Dx(), b.Dy())
}

// At returns the colour displayed at (x, y).
func (o *Oriented) At(x, y int) color.Color {
	if !(image.Point{x, y}.In(o.Bounds())) {
		return color.RGBA{}
	}
	sx, sy := o.storedPoint(x, y)
	b := o.Src.Bounds()
	return o.Src.At(b.Min.X+sx, b.Min.Y+sy)
}

func (o *Oriented) transposed() bool { return o.Orientation >= 5 && o.Orientation <= 8 }

// flips reports whether the stored x and y axes run against the displayed ones.
func (o *Oriented) flips() (flipX, flipY bool) {
	switch o.Orientation {
	case 2:
		return true, false
	case 3:
		return true, true
	case 4:
		return false, true
	case 6:
		return false, true
	case 7:
		return true, true
	case 8:
		return true, false
	}
	return false, false
}

// storedPoint maps a displayed pixel to the stored one, both relative to their bounds.
func (o *Oriented) storedPoint(x, y int) (int, int) {
	b := o.Src.Bounds()
	w, h := b.Dx(), b.Dy()
	sx, sy := x, y
	if o.transposed() {
		sx, sy = y, x
	}
	fx, fy := o.flips()
	if fx {
		sx = w - 1 - sx
	}
	if fy {
		sy = h - 1 - sy
	}
	return sx, sy
}
