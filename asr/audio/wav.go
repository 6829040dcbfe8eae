package audio

import (
	"encoding/binary"
	"fmt"
	"math"
)

// WAVE format tags (the fmt chunk's wFormatTag, or the first two bytes of the
// WAVE_FORMAT_EXTENSIBLE sub-format GUID).
const (
	wavPCM        = 0x0001
	wavFloat      = 0x0003
	wavALaw       = 0x0006
	wavMuLaw      = 0x0007
	wavExtensible = 0xFFFE
)

// maxChannels bounds the channel count a WAV header may declare.
const maxChannels = 8

// guidSuffix is the common tail of the KSDATAFORMAT_SUBTYPE_* GUIDs (after the two-byte
// format tag and two zero bytes) that WAVE_FORMAT_EXTENSIBLE carries.
var guidSuffix = [12]byte{0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

// wavFormat is what the fmt chunk says about the samples.
type wavFormat struct {
	tag      uint16 // after resolving WAVE_FORMAT_EXTENSIBLE
	channels int
	rate     int
	bits     int // container bits per sample
	width    int // container bytes per sample
}

// wavLayout is a parsed WAV header: the format and where the samples are.
type wavLayout struct {
	wavFormat
	data      []byte // whole frames only
	truncated bool
}

// decodeWAV decodes a RIFF/WAVE (or RF64) file to 16 kHz mono.
func decodeWAV(data []byte, lim Limits) ([]int16, Info, error) {
	w, err := parseWAV(data)
	if err != nil {
		return nil, Info{}, err
	}
	frameSize := w.width * w.channels
	frames := int64(len(w.data) / frameSize)
	if err := lim.checkFrames(frames, w.rate); err != nil {
		return nil, Info{}, err
	}
	info := Info{
		Format: "wav", Encoding: encodingName(w.tag), SampleRate: w.rate, Channels: w.channels,
		BitsPerSample: w.bits, Duration: framesDuration(frames, w.rate), Truncated: w.truncated,
	}
	conv := sampleConverter(w.wavFormat)
	if w.rate == TargetRate {
		out := make([]int16, frames)
		var chunk [chunkFrames]float32
		for i := 0; i < len(out); i += chunkFrames {
			n := min(chunkFrames, len(out)-i)
			conv(chunk[:n], w.data[i*frameSize:(i+n)*frameSize], w.channels)
			for j, v := range chunk[:n] {
				out[i+j] = toInt16(v)
			}
		}
		return out, info, nil
	}
	r, err := NewResampler(w.rate)
	if err != nil {
		return nil, Info{}, err
	}
	out := make([]int16, 0, r.outputLen(frames))
	var chunk [chunkFrames]float32
	for src := w.data; len(src) > 0; {
		n := min(len(src)/frameSize, chunkFrames)
		conv(chunk[:n], src[:n*frameSize], w.channels)
		out = r.appendFloat(out, chunk[:n])
		src = src[n*frameSize:]
	}
	return r.appendFlush(out), info, nil
}

// parseWAV walks the RIFF chunks up to the data chunk. It reads nothing past the end of
// data and allocates nothing in proportion to any declared size.
func parseWAV(data []byte) (wavLayout, error) {
	var w wavLayout
	rf64 := string(data[:4]) == "RF64"
	var ds64Data uint64 // RF64: the true data size, from the ds64 chunk (0: none)
	haveFmt := false
	for off := 12; ; {
		if len(data)-off < 8 {
			if !haveFmt {
				return w, fmt.Errorf("%w: WAV without a fmt chunk", ErrAudio)
			}
			return w, fmt.Errorf("%w: WAV without a data chunk", ErrAudio)
		}
		id := string(data[off : off+4])
		size := uint64(binary.LittleEndian.Uint32(data[off+4:]))
		body := off + 8
		avail := uint64(len(data) - body)
		switch id {
		case "fmt ":
			if size > avail {
				return w, fmt.Errorf("%w: WAV fmt chunk truncated", ErrAudio)
			}
			f, err := parseFmt(data[body : body+int(size)])
			if err != nil {
				return w, err
			}
			w.wavFormat, haveFmt = f, true
		case "ds64":
			if !rf64 || size < 16 || size > avail {
				return w, fmt.Errorf("%w: bad RF64 ds64 chunk", ErrAudio)
			}
			ds64Data = binary.LittleEndian.Uint64(data[body+8:])
		case "data":
			if !haveFmt {
				return w, fmt.Errorf("%w: WAV data chunk before its fmt chunk", ErrAudio)
			}
			if rf64 && size == math.MaxUint32 && ds64Data > 0 {
				size = ds64Data
			}
			if size > avail || size == 0 { // cut short, or a streaming writer's placeholder
				size, w.truncated = avail, true
			}
			frameSize := uint64(w.width * w.channels)
			frames := size / frameSize
			if frames == 0 {
				return w, fmt.Errorf("%w: WAV data chunk holds no whole frame", ErrAudio)
			}
			w.data = data[body : body+int(frames*frameSize)]
			return w, nil
		}
		next := uint64(body) + size + size&1 // chunks are padded to even sizes
		if next > uint64(len(data)) {
			return w, fmt.Errorf("%w: WAV truncated in a %q chunk before the samples", ErrAudio, id)
		}
		off = int(next)
	}
}

// parseFmt checks a fmt chunk and resolves WAVE_FORMAT_EXTENSIBLE to its sub-format.
func parseFmt(b []byte) (wavFormat, error) {
	if len(b) < 16 {
		return wavFormat{}, fmt.Errorf("%w: WAV fmt chunk of %d bytes", ErrAudio, len(b))
	}
	f := wavFormat{
		tag:      binary.LittleEndian.Uint16(b[0:]),
		channels: int(binary.LittleEndian.Uint16(b[2:])),
		rate:     int(binary.LittleEndian.Uint32(b[4:])),
		bits:     int(binary.LittleEndian.Uint16(b[14:])),
	}
	blockAlign := int(binary.LittleEndian.Uint16(b[12:]))
	if f.tag == wavExtensible {
		if len(b) < 40 || binary.LittleEndian.Uint16(b[16:]) < 22 {
			return f, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes", ErrAudio, len(b))
		}
		valid := int(binary.LittleEndian.Uint16(b[18:]))
		if valid > f.bits {
			return f, fmt.Errorf("%w: %d valid bits in %d-bit samples", ErrAudio, valid, f.bits)
		}
		if [12]byte(b[28:40]) != guidSuffix || b[26] != 0 || b[27] != 0 {
			return f, fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE with an unknown sub-format", ErrAudio)
		}
		f.tag = binary.LittleEndian.Uint16(b[24:])
	}
	if f.channels < 1 || f.channels > maxChannels {
		return f, fmt.Errorf("%w: WAV with %d channels (1–%d supported)", ErrAudio, f.channels, maxChannels)
	}
	if err := checkRate(f.rate); err != nil {
		return f, err
	}
	f.width = (f.bits + 7) / 8
	ok := false
	switch f.tag {
	case wavPCM:
		ok = f.bits >= 8 && f.bits <= 32 // 8 unsigned; 9–32 signed, left-justified
	case wavFloat:
		ok = f.bits == 32 || f.bits == 64
	case wavMuLaw, wavALaw:
		ok = f.bits == 8
	default:
		return f, fmt.Errorf("%w: unsupported WAV encoding (format tag 0x%04X)", ErrAudio, f.tag)
	}
	if !ok {
		return f, fmt.Errorf("%w: %d-bit %s WAV is not supported", ErrAudio, f.bits, encodingName(f.tag))
	}
	if blockAlign != 0 && blockAlign != f.width*f.channels {
		return f, fmt.Errorf("%w: WAV block align %d for %d channels of %d bits",
			ErrAudio, blockAlign, f.channels, f.bits)
	}
	return f, nil
}

func encodingName(tag uint16) string {
	switch tag {
	case wavPCM:
		return "pcm"
	case wavFloat:
		return "float"
	case wavMuLaw:
		return "mulaw"
	case wavALaw:
		return "alaw"
	}
	return fmt.Sprintf("0x%04X", tag)
}
