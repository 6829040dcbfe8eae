package audio

import (
	"encoding/binary"
	"math"
)

// converter writes len(dst) mono frames, in int16 units (full scale ±32768), from the
// interleaved frames in src, averaging the channels.
type converter func(dst []float32, src []byte, channels int)

// sampleConverter returns the converter for a checked WAV format.
func sampleConverter(f wavFormat) converter {
	if f.tag == wavPCM && f.width == 2 {
		return convS16 // the common case, without a call per sample
	}
	return func(dst []float32, src []byte, channels int) {
		mixFrames(dst, src, channels, f.width, sampleFunc(f))
	}
}

// sampleFunc decodes one sample of a checked WAV format to int16 units.
func sampleFunc(f wavFormat) func([]byte) float32 {
	switch {
	case f.tag == wavMuLaw:
		return func(b []byte) float32 { return float32(muLaw[b[0]]) }
	case f.tag == wavALaw:
		return func(b []byte) float32 { return float32(aLaw[b[0]]) }
	case f.tag == wavFloat && f.width == 4:
		return func(b []byte) float32 {
			return finite(math.Float32frombits(binary.LittleEndian.Uint32(b)) * 32768)
		}
	case f.tag == wavFloat:
		return func(b []byte) float32 {
			return finite(float32(math.Float64frombits(binary.LittleEndian.Uint64(b)) * 32768))
		}
	case f.width == 1: // 8-bit PCM is unsigned, centred on 128
		return func(b []byte) float32 { return float32(int(b[0])-128) * 256 }
	case f.width == 3:
		return func(b []byte) float32 {
			v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8
			return float32(v) / 256
		}
	default: // 4 bytes
		return func(b []byte) float32 { return float32(int32(binary.LittleEndian.Uint32(b))) / 65536 }
	}
}

// mixFrames is the general converter: one sample function call per sample.
func mixFrames(dst []float32, src []byte, channels, width int, sample func([]byte) float32) {
	frameSize := channels * width
	scale := 1 / float32(channels)
	for i := range dst {
		frame := src[i*frameSize : (i+1)*frameSize]
		var sum float32
		for c := 0; c < frameSize; c += width {
			sum += sample(frame[c : c+width])
		}
		dst[i] = sum * scale
	}
}

// convS16 converts 16-bit signed PCM.
func convS16(dst []float32, src []byte, channels int) {
	if channels == 1 {
		src = src[:2*len(dst)]
		for i := range dst {
			dst[i] = float32(int16(binary.LittleEndian.Uint16(src[2*i:])))
		}
		return
	}
	frameSize := 2 * channels
	scale := 1 / float32(channels)
	for i := range dst {
		frame := src[i*frameSize : (i+1)*frameSize]
		var sum int32
		for c := 0; c < frameSize; c += 2 {
			sum += int32(int16(binary.LittleEndian.Uint16(frame[c:])))
		}
		dst[i] = float32(sum) * scale
	}
}

// finite maps NaN and ±Inf (legal bit patterns in a float WAV) to silence and full
// scale, so that they cannot poison the resampler's sums.
func finite(v float32) float32 {
	switch {
	case v != v:
		return 0
	case v > 32768:
		return 32768
	case v < -32768:
		return -32768
	}
	return v
}

// toInt16 rounds v to the nearest int16, halves up (as sox does), saturating.
func toInt16(v float32) int16 {
	switch {
	case v >= 32766.5:
		return 32767
	case v <= -32768:
		return -32768
	}
	return int16(int32(float64(v)+32768.5) - 32768) // truncating a positive number floors it
}

// G.711 expansion tables (ITU-T G.711, as in Sun's g711.c): 8-bit codes to 16-bit
// linear PCM.
var muLaw, aLaw = g711Tables()

func g711Tables() (mu, a [256]int16) {
	for i := range 256 {
		mu[i] = expandMuLaw(byte(i))
		a[i] = expandALaw(byte(i))
	}
	return mu, a
}

// expandMuLaw decodes one μ-law code: the complemented byte holds a sign bit, a 3-bit
// segment and a 4-bit mantissa, biased by 0x84.
func expandMuLaw(u byte) int16 {
	u = ^u
	t := (int(u&0x0F)<<3 + 0x84) << ((u & 0x70) >> 4)
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

// expandALaw decodes one A-law code: even bits inverted, then sign, segment and
// mantissa; segment 0 is linear.
func expandALaw(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0F) << 4
	switch seg := (a & 0x70) >> 4; seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t = (t + 0x108) << (seg - 1)
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}
