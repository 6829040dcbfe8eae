package vision_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/vision"
)

var (
	red   = color.NRGBA{255, 0, 0, 255}
	green = color.NRGBA{0, 255, 0, 255}
	blue  = color.NRGBA{0, 0, 255, 255}
	white = color.NRGBA{255, 255, 255, 255}
	gray  = color.NRGBA{128, 128, 128, 255}
)

// quad is a w×h image with red, green, blue and white quadrants (top-left, top-right,
// bottom-left, bottom-right).
func quad(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := white
			switch {
			case x < w/2 && y < h/2:
				c = red
			case y < h/2:
				c = green
			case x < w/2:
				c = blue
			}
			m.SetNRGBA(x, y, c)
		}
	}
	return m
}

func solid(w, h int, c color.NRGBA) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return m
}

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, m image.Image, quality int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeGIF(t testing.TB, frames ...image.Image) []byte {
	t.Helper()
	g := &gif.GIF{}
	for _, f := range frames {
		p := image.NewPaletted(f.Bounds(), palette.Plan9)
		for y := f.Bounds().Min.Y; y < f.Bounds().Max.Y; y++ {
			for x := f.Bounds().Min.X; x < f.Bounds().Max.X; x++ {
				p.Set(x, y, f.At(x, y))
			}
		}
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rgbAt is the 8-bit colour of img at (x, y), alpha dropped.
func rgbAt(img image.Image, x, y int) [3]int {
	c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
	return [3]int{int(c.R), int(c.G), int(c.B)}
}

// near compares colours with a tolerance per channel (lossy formats).
func near(tol int) cmp.Option {
	return cmp.Comparer(func(a, b [3]int) bool {
		for i := range a {
			if d := a[i] - b[i]; d > tol || d < -tol {
				return false
			}
		}
		return true
	})
}

func rgb(c color.NRGBA) [3]int { return [3]int{int(c.R), int(c.G), int(c.B)} }

func TestDecodeFormats(t *testing.T) {
	// The WebP fixtures were made with Debian's cwebp 1.2.4 from the quad pattern below
	// (cwebp -lossless quad8x6.png; cwebp -q 95 quad32x24.png); dwebp decodes the
	// lossless one back to exactly that pattern.
	tests := []struct {
		name       string
		data       []byte
		wantFormat string
		wantSize   image.Point
		tol        int
	}{
		{"png", encodePNG(t, quad(8, 6)), "png", image.Pt(8, 6), 0},
		{"jpeg", encodeJPEG(t, quad(32, 24), 95), "jpeg", image.Pt(32, 24), 3},
		{"gif", encodeGIF(t, quad(8, 6)), "gif", image.Pt(8, 6), 0},
		{"gif animated gives first frame", encodeGIF(t, quad(8, 6), solid(8, 6, gray)), "gif", image.Pt(8, 6), 0},
		{"webp lossless", readTestdata(t, "quad8x6_lossless.webp"), "webp", image.Pt(8, 6), 0},
		{"webp lossy", readTestdata(t, "quad32x24_lossy.webp"), "webp", image.Pt(32, 24), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, format, err := vision.Decode(tt.data, vision.DefaultLimits())
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			b := img.Bounds()
			got := struct {
				Format string
				Size   image.Point
				TL     [3]int
				TR     [3]int
				BL     [3]int
				BR     [3]int
			}{format, b.Size(), rgbAt(img, b.Min.X+1, b.Min.Y+1), rgbAt(img, b.Max.X-2, b.Min.Y+1),
				rgbAt(img, b.Min.X+1, b.Max.Y-2), rgbAt(img, b.Max.X-2, b.Max.Y-2)}
			want := got
			want.Format, want.Size = tt.wantFormat, tt.wantSize
			want.TL, want.TR, want.BL, want.BR = rgb(red), rgb(green), rgb(blue), rgb(white)
			if diff := cmp.Diff(want, got, near(tt.tol)); diff != "" {
				t.Errorf("decoded image (-want +got):\n%s", diff)
			}
		})
	}
}

// pngChunk is one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// pngBomb is a valid PNG header claiming w×h RGB pixels, followed by a tiny IDAT.
func pngBomb(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit truecolor
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", []byte{0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01})...)
	return append(out, pngChunk("IEND", nil)...)
}

// jpegBomb is a JPEG whose baseline frame header claims 65535×65535 pixels.
func jpegBomb() []byte {
	return []byte{
		0xff, 0xd8, // SOI
		0xff, 0xdb, 0x00, 0x43, 0x00, // DQT, table 0, all ones
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		0xff, 0xc0, 0x00, 0x0b, 8, 0xff, 0xff, 0xff, 0xff, 1, 1, 0x11, 0, // SOF0, 1 component
		0xff, 0xda, 0x00, 0x08, 1, 1, 0x00, 0, 63, 0, // SOS
		0xff, 0xd9,
	}
}

// gifBomb is a GIF whose logical screen is 65535×65535.
func gifBomb() []byte {
	return []byte("GIF89a\xff\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
}

// webpBomb is an extended (VP8X) WebP whose canvas is 16384×16384.
func webpBomb() []byte {
	vp8x := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	w, h := 16384-1, 16384-1
	vp8x[4], vp8x[5], vp8x[6] = byte(w), byte(w>>8), byte(w>>16)
	vp8x[7], vp8x[8], vp8x[9] = byte(h), byte(h>>8), byte(h>>16)
	var b bytes.Buffer
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(4+8+len(vp8x)))
	b.WriteString("WEBPVP8X")
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(vp8x)))
	b.Write(vp8x)
	return b.Bytes()
}

func TestDecodeRejects(t *testing.T) {
	okPNG := encodePNG(t, quad(8, 6))
	tests := []struct {
		name string
		data []byte
		lim  vision.Limits
		want error
	}{
		{"bytes over MaxBytes", okPNG, vision.Limits{MaxBytes: int64(len(okPNG) - 1)}, vision.ErrTooLarge},
		{"bytes at MaxBytes", okPNG, vision.Limits{MaxBytes: int64(len(okPNG))}, nil},
		{"pixels over MaxPixels", okPNG, vision.Limits{MaxPixels: 47}, vision.ErrTooLarge},
		{"pixels at MaxPixels", okPNG, vision.Limits{MaxPixels: 48}, nil},
		{"png bomb", pngBomb(100000, 100000), vision.Limits{}, vision.ErrTooLarge},
		{"png bomb one row", pngBomb(50_000_000, 1), vision.Limits{}, vision.ErrTooLarge},
		{"jpeg bomb", jpegBomb(), vision.DefaultLimits(), vision.ErrTooLarge},
		{"gif bomb", gifBomb(), vision.DefaultLimits(), vision.ErrTooLarge},
		{"webp bomb", webpBomb(), vision.DefaultLimits(), vision.ErrTooLarge},
		{"garbage", []byte("this is not an image, just some text"), vision.DefaultLimits(), vision.ErrImage},
		{"empty", nil, vision.DefaultLimits(), vision.ErrImage},
		{"truncated png", okPNG[:len(okPNG)/2], vision.DefaultLimits(), vision.ErrImage},
		{"png header only", okPNG[:20], vision.DefaultLimits(), vision.ErrImage},
		{"corrupt jpeg", append([]byte{0xff, 0xd8, 0xff, 0xc0, 0x00}, bytes.Repeat([]byte{7}, 50)...), vision.DefaultLimits(), vision.ErrImage},
		{"zero-size png", pngBomb(0, 10), vision.DefaultLimits(), vision.ErrImage},
		{"bmp is not accepted", append([]byte("BM"), make([]byte, 60)...), vision.DefaultLimits(), vision.ErrImage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, _, err := vision.Decode(tt.data, tt.lim)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Decode error = %v, want %v", err, tt.want)
			}
			if (img == nil) != (tt.want != nil) {
				t.Errorf("Decode image = %T, want nil exactly when it fails", img)
			}
		})
	}
}

// TestDecodeBombAllocatesLittle checks that a bomb is refused from its header: decoding a
// 10-gigapixel PNG header must allocate kilobytes, not the 30 GB its pixels would take.
func TestDecodeBombAllocatesLittle(t *testing.T) {
	for _, tt := range []struct {
		name string
		data []byte
	}{{"png", pngBomb(100000, 100000)}, {"jpeg", jpegBomb()}, {"gif", gifBomb()}, {"webp", webpBomb()}} {
		t.Run(tt.name, func(t *testing.T) {
			const runs = 20
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range runs {
				if _, _, err := vision.Decode(tt.data, vision.DefaultLimits()); !errors.Is(err, vision.ErrTooLarge) {
					t.Fatalf("Decode error = %v, want ErrTooLarge", err)
				}
			}
			runtime.ReadMemStats(&after)
			perRun := (after.TotalAlloc - before.TotalAlloc) / runs
			t.Logf("%d-byte bomb: %d bytes allocated per Decode", len(tt.data), perRun)
			if perRun > 64<<10 {
				t.Errorf("Decode of a %d-byte bomb allocated %d bytes per call, want < 64 KiB", len(tt.data), perRun)
			}
		})
	}
}

// exifJPEG inserts an EXIF APP1 segment with the given orientation (byte order "II" or
// "MM") right after the SOI marker of jpg.
func exifJPEG(jpg []byte, orientation uint16, order string) []byte {
	var bo binary.AppendByteOrder = binary.LittleEndian
	if order == "MM" {
		bo = binary.BigEndian
	}
	tiff := []byte(order)
	tiff = bo.AppendUint16(tiff, 42)
	tiff = bo.AppendUint32(tiff, 8) // IFD0 right after the header
	tiff = bo.AppendUint16(tiff, 2) // two entries: a harmless one first
	tiff = bo.AppendUint16(tiff, 0x010f)
	tiff = bo.AppendUint16(tiff, 2) // ASCII "Go\0" inline
	tiff = bo.AppendUint32(tiff, 3)
	tiff = append(tiff, 'G', 'o', 0, 0)
	tiff = bo.AppendUint16(tiff, 0x0112)
	tiff = bo.AppendUint16(tiff, 3) // SHORT
	tiff = bo.AppendUint32(tiff, 1)
	tiff = bo.AppendUint16(tiff, orientation)
	tiff = bo.AppendUint16(tiff, 0)
	tiff = bo.AppendUint32(tiff, 0) // no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff...)
	out := []byte{0xff, 0xd8, 0xff, 0xe1}
	out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// markers is a 48×32 gray image with an 8×8 red block at the stored top-left corner and a
// green one at the stored top-right corner.
func markers() *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, 48, 32))
	for y := range 32 {
		for x := range 48 {
			c := gray
			switch {
			case x < 8 && y < 8:
				c = red
			case x >= 40 && y < 8:
				c = green
			}
			m.SetNRGBA(x, y, c)
		}
	}
	return m
}

func TestDecodeEXIFOrientation(t *testing.T) {
	plain := encodeJPEG(t, markers(), 95)
	// corner names the displayed corner: the centre of its 8×8 block.
	corner := func(img image.Image, name string) [3]int {
		b := img.Bounds()
		x, y := b.Min.X+4, b.Min.Y+4
		if name[1] == 'R' {
			x = b.Max.X - 5
		}
		if name[0] == 'B' {
			y = b.Max.Y - 5
		}
		return rgbAt(img, x, y)
	}
	tests := []struct {
		orientation uint16
		order       string
		size        image.Point
		red, green  string // displayed corners of the stored top-left and top-right
	}{
		{1, "II", image.Pt(48, 32), "TL", "TR"},
		{2, "MM", image.Pt(48, 32), "TR", "TL"}, // mirrored horizontally
		{3, "II", image.Pt(48, 32), "BR", "BL"},
		{4, "MM", image.Pt(48, 32), "BL", "BR"}, // mirrored vertically
		{5, "II", image.Pt(32, 48), "TL", "BL"}, // transposed
		{6, "MM", image.Pt(32, 48), "TR", "BR"},
		{6, "II", image.Pt(32, 48), "TR", "BR"},
		{7, "II", image.Pt(32, 48), "BR", "TR"}, // transversed
		{8, "MM", image.Pt(32, 48), "BL", "TL"},
		{9, "II", image.Pt(48, 32), "TL", "TR"}, // out of range: ignored
	}
	for _, tt := range tests {
		t.Run(string(rune('0'+tt.orientation))+tt.order, func(t *testing.T) {
			img, _, err := vision.Decode(exifJPEG(plain, tt.orientation, tt.order), vision.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			type view struct {
				Size       image.Point
				Red, Green [3]int
			}
			got := view{img.Bounds().Size(), corner(img, tt.red), corner(img, tt.green)}
			want := view{tt.size, rgb(red), rgb(green)}
			if diff := cmp.Diff(want, got, near(40)); diff != "" {
				t.Errorf("orientation %d (-want +got):\n%s", tt.orientation, diff)
			}
		})
	}
}

func TestDecodeEXIFMalformed(t *testing.T) {
	plain := encodeJPEG(t, markers(), 90)
	withSeg := func(seg []byte) []byte {
		out := []byte{0xff, 0xd8, 0xff, 0xe1}
		out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
		return append(append(out, seg...), plain[2:]...)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"no tiff header", withSeg([]byte("Exif\x00\x00"))},
		{"bad byte order", withSeg([]byte("Exif\x00\x00XX\x00\x2a\x00\x00\x00\x08"))},
		{"ifd offset past the end", withSeg([]byte("Exif\x00\x00II\x2a\x00\xff\xff\x00\x00"))},
		{"entry count past the end", withSeg([]byte("Exif\x00\x00II\x2a\x00\x08\x00\x00\x00\xff\xff"))},
		{"orientation with wrong type", withSeg([]byte("Exif\x00\x00II\x2a\x00\x08\x00\x00\x00\x01\x00\x12\x01\x04\x00\x01\x00\x00\x00\x06\x00\x00\x00"))},
		{"not exif", withSeg([]byte("http://ns.adobe.com/xap/1.0/\x00<x/>"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, _, err := vision.Decode(tt.data, vision.DefaultLimits())
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if _, ok := img.(*vision.Oriented); ok || img.Bounds().Size() != image.Pt(48, 32) {
				t.Errorf("Decode = %T of %v, want the stored 48×32 image", img, img.Bounds().Size())
			}
		})
	}
}
