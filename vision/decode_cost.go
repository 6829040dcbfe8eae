package vision

import (
	"encoding/binary"
	"math"
)

// decodeSlack covers what a decode allocates besides its pixel buffers: Huffman and
// quantisation tables, row buffers, the preprocessing grid.
const decodeSlack = 1 << 20

// DecodeCost is an upper estimate, from the header alone, of the memory in bytes that
// decoding data with DecodeFor (for a model needing a short side of minShort) holds at
// its peak: libjpeg-turbo's scaled output or image/jpeg's planes (whichever decoder may
// run), the coefficients of progressive JPEGs, PNG's output and interlacing passes, the
// planes and intermediate images of WebP. Data that Decode would refuse from its header
// gives the same error, so a caller can size a memory reservation before decoding.
func DecodeCost(data []byte, lim Limits, minShort int) (int64, error) {
	format, w, h, err := CheckHeader(data, lim)
	if err != nil {
		return 0, err
	}
	px := float64(w) * float64(h)
	var perPixel float64
	switch format {
	case "jpeg":
		return jpegCost(data, w, h, minShort), nil
	case "png":
		perPixel = pngBytesPerPixel(data)
	case "gif":
		perPixel = 1 // the first frame, paletted
	case "webp":
		perPixel = webpBytesPerPixel(data)
	}
	return int64(math.Ceil(px*perPixel)) + decodeSlack, nil
}

// pngBytesPerPixel is what image/png's output takes per pixel for the IHDR's colour type
// and bit depth (a tRNS chunk can turn grey and RGB into NRGBA), doubled for Adam7
// interlacing, which decodes each pass into an image of its own before merging.
func pngBytesPerPixel(data []byte) float64 {
	if len(data) < 29 {
		return 16
	}
	depth, colorType, interlace := data[24], data[25], data[28]
	bpp := 4.0
	switch {
	case colorType == 3:
		bpp = 1
	case depth == 16:
		bpp = 8
	}
	if interlace != 0 {
		bpp *= 2
	}
	return bpp
}

// webpBytesPerPixel: lossy VP8 decodes to 4:2:0 YCbCr; lossless VP8L to NRGBA plus, with
// a colour-indexing transform, a second image; the extended format may add an alpha
// plane decoded through VP8L.
func webpBytesPerPixel(data []byte) float64 {
	if len(data) < 16 {
		return 11
	}
	switch string(data[12:16]) {
	case "VP8 ":
		return 1.5
	case "VP8L":
		return 8
	}
	return 11
}

// jpegCost is the larger of what libjpeg-turbo (scaled output, plus whole-image
// coefficients for a progressive JPEG) and image/jpeg (full-size planes, an RGB or CMYK
// conversion, int32 coefficients for a progressive JPEG) allocate, since image/jpeg runs
// when libjpeg-turbo is missing or refuses the file.
func jpegCost(data []byte, w, h, minShort int) int64 {
	f, ok := parseJPEGFrame(data)
	if !ok {
		return int64(float64(w)*float64(h)*15) + decodeSlack // planes and coefficients of 4:4:4
	}
	samples := f.samples(w, h)
	goCost := samples
	switch {
	case f.nComp == 4:
		goCost += 4 * float64(w) * float64(h) // CMYK conversion
	case f.nComp == 3 && f.rgb:
		goCost += 4 * float64(w) * float64(h) // RGB conversion
	}
	turbo := 0.0
	if TurboJPEG() == nil {
		sw, sh := scaledSize(w, h, minShort)
		turbo = 4 * float64(sw) * float64(sh)
	}
	if f.progressive {
		goCost += 4 * samples // a [64]int32 block per 64 samples
		turbo += 2 * samples  // JCOEF is 16 bits
	}
	return int64(math.Ceil(max(goCost, turbo))) + decodeSlack
}

// jpegFrame is what the start-of-frame and application markers say about a JPEG.
type jpegFrame struct {
	nComp       int
	hv          [4][2]int // sampling factors per component
	progressive bool
	rgb         bool // image/jpeg decodes it as RGB (Adobe transform 0 or R, G, B ids; no JFIF)
}

// samples is the number of samples of all components, with each plane padded to whole
// MCUs as the decoders allocate them.
func (f jpegFrame) samples(w, h int) float64 {
	hMax, vMax := 1, 1
	for i := range f.nComp {
		hMax, vMax = max(hMax, f.hv[i][0]), max(vMax, f.hv[i][1])
	}
	mcuW, mcuH := 8*hMax, 8*vMax
	pw := float64((w + mcuW - 1) / mcuW * mcuW)
	ph := float64((h + mcuH - 1) / mcuH * mcuH)
	total := 0.0
	for i := range f.nComp {
		total += pw * float64(f.hv[i][0]) / float64(hMax) * ph * float64(f.hv[i][1]) / float64(vMax)
	}
	return total
}

// parseJPEGFrame walks the markers up to the start of frame.
func parseJPEGFrame(data []byte) (jpegFrame, bool) {
	var f jpegFrame
	jfif, adobe, adobeRGB := false, false, false
	var ids [4]byte
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			return f, false
		}
		m := data[i+1]
		if m == 0xff { // fill byte
			i++
			continue
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		seg := data[i+4 : min(len(data), i+2+n)]
		switch {
		case m == 0xe0 && len(seg) >= 5 && string(seg[:5]) == "JFIF\x00":
			jfif = true
		case m == 0xee && len(seg) >= 12 && string(seg[:5]) == "Adobe":
			adobe, adobeRGB = true, seg[11] == 0
		case m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc:
			if len(seg) < 6 {
				return f, false
			}
			f.nComp = int(seg[5])
			if f.nComp < 1 || f.nComp > 4 || len(seg) < 6+3*f.nComp {
				return f, false
			}
			for c := range f.nComp {
				ids[c] = seg[6+3*c]
				hv := seg[7+3*c]
				f.hv[c] = [2]int{max(int(hv>>4), 1), max(int(hv&15), 1)}
			}
			f.progressive = m == 0xc2 || m == 0xc6 || m == 0xca || m == 0xce
			f.rgb = f.nComp == 3 && !jfif && ((adobe && adobeRGB) || string(ids[:3]) == "RGB")
			return f, true
		case m == 0xda || m == 0xd9:
			return f, false
		}
		i += 2 + n
	}
	return f, false
}
