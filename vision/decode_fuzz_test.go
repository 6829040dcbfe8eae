package vision

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimits keep every decode of the fuzzers small (a quarter megapixel).
var fuzzLimits = Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 18}

// fuzzImages are seeds for the image fuzzers: one small image of each format, an EXIF
// rotated JPEG (both byte orders), a truncated JPEG and a PNG header of a
// decompression bomb.
func fuzzImages(f *testing.F) [][]byte {
	f.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, 8, 6))
	for i := range m.Pix {
		m.Pix[i] = byte(i * 7)
	}
	var seeds [][]byte
	var b bytes.Buffer
	png.Encode(&b, m)
	seeds = append(seeds, bytes.Clone(b.Bytes()))
	bomb := bytes.Clone(b.Bytes())
	binary.BigEndian.PutUint32(bomb[16:], 100_000) // IHDR width and height
	binary.BigEndian.PutUint32(bomb[20:], 100_000)
	seeds = append(seeds, bomb)
	b.Reset()
	jpeg.Encode(&b, m, &jpeg.Options{Quality: 80})
	jpg := bytes.Clone(b.Bytes())
	seeds = append(seeds, jpg, jpg[:len(jpg)/2], withEXIF(jpg, tiffWithOrientation(binary.LittleEndian, 6)),
		withEXIF(jpg, tiffWithOrientation(binary.BigEndian, 8)))
	b.Reset()
	pal := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White})
	gif.Encode(&b, pal, nil)
	seeds = append(seeds, bytes.Clone(b.Bytes()))
	for _, name := range []string{"quad32x24_lossy.webp", "quad8x6_lossless.webp"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	return seeds
}

// tiffWithOrientation is a TIFF header with an IFD0 holding only Orientation o.
func tiffWithOrientation(bo binary.ByteOrder, o uint16) []byte {
	t := make([]byte, 8+2+12+4)
	if bo == binary.LittleEndian {
		copy(t, "II")
	} else {
		copy(t, "MM")
	}
	bo.PutUint16(t[2:], 42)
	bo.PutUint32(t[4:], 8)
	bo.PutUint16(t[8:], 1)
	bo.PutUint16(t[10:], 0x0112)
	bo.PutUint16(t[12:], 3)
	bo.PutUint32(t[14:], 1)
	bo.PutUint16(t[18:], o)
	return t
}

// withEXIF puts an APP1 Exif segment holding tiff right after a JPEG's SOI.
func withEXIF(jpg, tiff []byte) []byte {
	seg := append([]byte("Exif\x00\x00"), tiff...)
	out := append([]byte{0xff, 0xd8, 0xff, 0xe1}, binary.BigEndian.AppendUint16(nil, uint16(len(seg)+2))...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func isImageErr(err error) bool { return errors.Is(err, ErrImage) || errors.Is(err, ErrTooLarge) }

// FuzzDecode feeds arbitrary bytes to CheckHeader and Decode: no panic, errors are
// ErrImage or ErrTooLarge, whatever CheckHeader refuses Decode refuses too, and a
// decoded image agrees with its header, stays within the pixel limit, applies the EXIF
// orientation, and can be read at its corners.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzImages(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		format, w, h, herr := CheckHeader(data, fuzzLimits)
		img, name, err := Decode(data, fuzzLimits)
		if herr != nil && !isImageErr(herr) || err != nil && !isImageErr(err) {
			t.Fatalf("errors outside ErrImage/ErrTooLarge: header %v, decode %v", herr, err)
		}
		if err != nil {
			return
		}
		if herr != nil {
			t.Fatalf("CheckHeader refused (%v) what Decode decoded", herr)
		}
		b := img.Bounds()
		if name != format || b.Empty() || int64(b.Dx())*int64(b.Dy()) > fuzzLimits.MaxPixels {
			t.Fatalf("decoded %s %v; header said %s %d×%d", name, b, format, w, h)
		}
		dw, dh := b.Dx(), b.Dy()
		if o, ok := img.(*Oriented); ok {
			if name != "jpeg" || o.Orientation != exifOrientation(data) {
				t.Fatalf("%s oriented %d, EXIF says %d", name, o.Orientation, exifOrientation(data))
			}
			if o.transposed() {
				dw, dh = dh, dw
			}
		} else if name == "jpeg" && exifOrientation(data) != 1 {
			t.Fatalf("EXIF orientation %d not applied", exifOrientation(data))
		}
		switch {
		case (name == "png" || name == "jpeg") && (dw != w || dh != h):
			t.Fatalf("%s decoded %d×%d, header %d×%d", name, dw, dh, w, h)
		case dw > w || dh > h:
			t.Fatalf("%s decoded %d×%d, beyond its header's %d×%d", name, dw, dh, w, h)
		}
		img.At(b.Min.X, b.Min.Y)
		img.At(b.Max.X-1, b.Max.Y-1)
		img.At(b.Min.X+b.Dx()/2, b.Min.Y+b.Dy()/2)
	})
}

// FuzzDecodeFor runs the classifier's decode (libjpeg-turbo for JPEGs, scaled to the
// model's short side) on arbitrary bytes: no crash in C or Go, errors are ErrImage or
// ErrTooLarge, and a decoded image keeps at least the short side asked for (or its own).
func FuzzDecodeFor(f *testing.F) {
	if err := TurboJPEG(); err != nil {
		f.Skip(err) // without libjpeg-turbo DecodeFor is Decode, fuzzed above
	}
	for _, s := range fuzzImages(f) {
		f.Add(s, uint16(4))
	}
	f.Fuzz(func(t *testing.T, data []byte, minShort uint16) {
		want := int(minShort % 512)
		img, _, err := decodeFor(context.Background(), data, fuzzLimits, want, nil)
		if err != nil {
			if !isImageErr(err) {
				t.Fatalf("error outside ErrImage/ErrTooLarge: %v", err)
			}
			return
		}
		b := img.Bounds()
		if b.Empty() || int64(b.Dx())*int64(b.Dy()) > fuzzLimits.MaxPixels {
			t.Fatalf("decoded %v", b)
		}
		_, w, h, herr := CheckHeader(data, fuzzLimits)
		if herr == nil && min(b.Dx(), b.Dy()) < min(want, w, h) {
			t.Fatalf("decoded %v for a short side of %d (image %d×%d)", b, want, w, h)
		}
		img.At(b.Max.X-1, b.Max.Y-1)
	})
}

// FuzzEXIFOrientation parses arbitrary TIFF structures for their Orientation, alone and
// wrapped in a JPEG's APP1 segment (a round trip: the JPEG reader finds what the TIFF
// reader finds), and arbitrary bytes as a JPEG.
func FuzzEXIFOrientation(f *testing.F) {
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, o := range []uint16{1, 3, 6, 8, 9} {
			f.Add(tiffWithOrientation(bo, o))
		}
	}
	f.Add([]byte("II*\x00\x08\x00\x00\x00\xff\xff"))
	f.Fuzz(func(t *testing.T, tiff []byte) {
		o := tiffOrientation(tiff)
		if o < 0 || o > 8 {
			t.Fatalf("tiffOrientation = %d", o)
		}
		if e := exifOrientation(tiff); e < 1 || e > 8 {
			t.Fatalf("exifOrientation of raw bytes = %d", e)
		}
		if len(tiff) > 0xffff-8 {
			return
		}
		want := max(o, 1)
		jpg := withEXIF([]byte{0xff, 0xd8, 0xff, 0xd9}, tiff)
		if got := exifOrientation(jpg); got != want {
			t.Fatalf("in a JPEG: orientation %d, the TIFF alone %d", got, o)
		}
	})
}
