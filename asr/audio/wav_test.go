package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Every supported WAV encoding, rate and channel count decodes to a 16 kHz mono sine of
// the right amplitude and length.
func TestDecodeWAVFormats(t *testing.T) {
	const amp, freq = 0.5, 440.0
	for _, tc := range []struct {
		name  string
		spec  wavSpec
		want  Info
		tolDB float64
	}{
		{"u8 mono 8k", wavSpec{tag: wavPCM, bits: 8, channels: 1, rate: 8000},
			Info{Encoding: "pcm", BitsPerSample: 8}, 0.2},
		{"s16 mono 16k", wavSpec{tag: wavPCM, bits: 16, channels: 1, rate: 16000},
			Info{Encoding: "pcm", BitsPerSample: 16}, 0.01},
		{"s16 stereo 44.1k", wavSpec{tag: wavPCM, bits: 16, channels: 2, rate: 44100},
			Info{Encoding: "pcm", BitsPerSample: 16}, 0.01},
		{"s16 mono 11025", wavSpec{tag: wavPCM, bits: 16, channels: 1, rate: 11025},
			Info{Encoding: "pcm", BitsPerSample: 16}, 0.01},
		{"s16 stereo 22050", wavSpec{tag: wavPCM, bits: 16, channels: 2, rate: 22050},
			Info{Encoding: "pcm", BitsPerSample: 16}, 0.01},
		{"s24 stereo 48k", wavSpec{tag: wavPCM, bits: 24, channels: 2, rate: 48000},
			Info{Encoding: "pcm", BitsPerSample: 24}, 0.01},
		{"s32 mono 32k", wavSpec{tag: wavPCM, bits: 32, channels: 1, rate: 32000},
			Info{Encoding: "pcm", BitsPerSample: 32}, 0.01},
		{"f32 stereo 48k", wavSpec{tag: wavFloat, bits: 32, channels: 2, rate: 48000},
			Info{Encoding: "float", BitsPerSample: 32}, 0.01},
		{"f64 mono 24k", wavSpec{tag: wavFloat, bits: 64, channels: 1, rate: 24000},
			Info{Encoding: "float", BitsPerSample: 64}, 0.01},
		{"mulaw mono 8k", wavSpec{tag: wavMuLaw, bits: 8, channels: 1, rate: 8000},
			Info{Encoding: "mulaw", BitsPerSample: 8}, 0.1},
		{"alaw mono 8k", wavSpec{tag: wavALaw, bits: 8, channels: 1, rate: 8000},
			Info{Encoding: "alaw", BitsPerSample: 8}, 0.1},
		{"extensible s16 stereo 44.1k", wavSpec{tag: wavPCM, bits: 16, channels: 2, rate: 44100, extensible: true},
			Info{Encoding: "pcm", BitsPerSample: 16}, 0.01},
		{"extensible 24 in 32 mono 96k", wavSpec{tag: wavPCM, bits: 32, validBits: 24, channels: 1, rate: 96000, extensible: true},
			Info{Encoding: "pcm", BitsPerSample: 32}, 0.01},
		{"extensible f32 6ch 48k", wavSpec{tag: wavFloat, bits: 32, channels: 6, rate: 48000, extensible: true},
			Info{Encoding: "float", BitsPerSample: 32}, 0.01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			n := s.rate / 2 // 0.5 s
			chans := make([][]float64, s.channels)
			for c := range chans {
				chans[c] = tone(s.rate, freq, amp, n)
			}
			pcm, info, err := Decode(makeWAV(s, chans...), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			want.Format, want.SampleRate, want.Channels = "wav", s.rate, s.channels
			want.Duration = framesDuration(int64(n), s.rate)
			if diff := cmp.Diff(want, info); diff != "" {
				t.Errorf("Info (-want +got):\n%s", diff)
			}
			if len(pcm) != 8000 {
				t.Fatalf("%d samples, want 8000", len(pcm))
			}
			if a := amplitude(pcm, 16000, freq, 200); math.Abs(dB(a/amp)) > tc.tolDB {
				t.Errorf("amplitude %.4f, %.3f dB off, want within %.2f dB", a, dB(a/amp), tc.tolDB)
			}
		})
	}
}

// Channels are averaged: opposite channels cancel, one silent channel halves.
func TestDecodeWAVDownmix(t *testing.T) {
	s := wavSpec{tag: wavPCM, bits: 16, channels: 2, rate: 16000}
	x := tone(16000, 1000, 0.5, 1600)
	neg := make([]float64, len(x))
	for i, v := range x {
		neg[i] = -v
	}
	silent := make([]float64, len(x))
	for _, tc := range []struct {
		name  string
		right []float64
		want  float64
	}{{"opposite", neg, 0}, {"one silent", silent, 0.25}, {"same", x, 0.5}} {
		pcm, _, err := Decode(makeWAV(s, x, tc.right), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if a := amplitude(pcm, 16000, 1000, 0); math.Abs(a-tc.want) > 0.001 {
			t.Errorf("%s: amplitude %.4f, want %.2f", tc.name, a, tc.want)
		}
	}
}

// 16-bit mono at 16 kHz comes out bit-exact.
func TestDecodeWAVPassthrough(t *testing.T) {
	want := toPCM16(tone(16000, 300, 0.9, 1000))
	x := make([]float64, len(want))
	for i, v := range want {
		x[i] = float64(v) / 32767
	}
	pcm, _, err := Decode(makeWAV(wavSpec{tag: wavPCM, bits: 16, channels: 1, rate: 16000}, x), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, pcm); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestG711(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table *[256]int16
		code  byte
		want  int16
	}{
		{"mu 0xFF", &muLaw, 0xFF, 0}, {"mu 0x7F", &muLaw, 0x7F, 0},
		{"mu 0x80", &muLaw, 0x80, 32124}, {"mu 0x00", &muLaw, 0x00, -32124},
		{"mu 0xF0", &muLaw, 0xF0, 120}, {"a 0xD5", &aLaw, 0xD5, 8}, {"a 0x55", &aLaw, 0x55, -8},
		{"a 0xAA", &aLaw, 0xAA, 32256}, {"a 0x2A", &aLaw, 0x2A, -32256},
	} {
		if got := tc.table[tc.code]; got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	for i := 1; i < 128; i++ { // monotonic within each sign
		if muLaw[0x80+i] >= muLaw[0x80+i-1] || aLaw[0xD5^i] <= aLaw[0xD5^(i-1)] {
			t.Fatalf("G.711 tables not monotonic at %d", i)
		}
	}
}

// wavHeader builds a canonical 44-byte WAV header for hand-made hostile files.
func wavHeader(tag uint16, channels, rate, bits int, dataSize uint32) []byte {
	b := make([]byte, 44)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], 36+dataSize)
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], tag)
	binary.LittleEndian.PutUint16(b[22:], uint16(channels))
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	width := (bits + 7) / 8
	binary.LittleEndian.PutUint32(b[28:], uint32(rate*channels*width))
	binary.LittleEndian.PutUint16(b[32:], uint16(channels*width))
	binary.LittleEndian.PutUint16(b[34:], uint16(bits))
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], dataSize)
	return b
}

func TestDecodeErrors(t *testing.T) {
	good := makeWAV(wavSpec{tag: wavPCM, bits: 16, channels: 1, rate: 8000}, tone(8000, 440, 0.5, 8000))
	samples := make([]byte, 1000)
	with := func(h []byte, tail []byte) []byte { return append(append([]byte{}, h...), tail...) }
	setU16 := func(b []byte, off int, v uint16) []byte {
		c := bytes.Clone(b)
		binary.LittleEndian.PutUint16(c[off:], v)
		return c
	}
	for _, tc := range []struct {
		name string
		data []byte
		lim  Limits
		want error
	}{
		{"empty", nil, Limits{}, ErrAudio},
		{"text", []byte("hello, this is not audio"), Limits{}, ErrAudio},
		{"raw PCM is not guessed", samples, Limits{}, ErrAudio},
		{"RIFF only", []byte("RIFF\x00\x00\x00\x00WAVE"), Limits{}, ErrAudio},
		{"AVI", []byte("RIFF\x00\x00\x00\x00AVI LIST"), Limits{}, ErrAudio},
		{"header cut in fmt", good[:30], Limits{}, ErrAudio},
		{"no data chunk", good[:36], Limits{}, ErrAudio},
		{"data header cut", good[:40], Limits{}, ErrAudio},
		{"no whole frame", with(wavHeader(wavPCM, 2, 8000, 16, 100), []byte{1, 2, 3}), Limits{}, ErrAudio},
		{"zero-length data, nothing after it", wavHeader(wavPCM, 1, 8000, 16, 0), Limits{}, ErrAudio},
		{"fmt chunk too short", setU16(wavHeader(wavPCM, 1, 8000, 16, 1000), 16, 14), Limits{}, ErrAudio},
		{"fmt bigger than file", setU16(good, 16, 0xFFF0), Limits{}, ErrAudio},
		{"ADPCM", with(wavHeader(0x0002, 1, 8000, 4, 1000), samples), Limits{}, ErrAudio},
		{"MP3 in WAV", with(wavHeader(0x0055, 1, 8000, 0, 1000), samples), Limits{}, ErrAudio},
		{"zero channels", with(wavHeader(wavPCM, 0, 8000, 16, 1000), samples), Limits{}, ErrAudio},
		{"9 channels", with(wavHeader(wavPCM, 9, 8000, 16, 1000), samples), Limits{}, ErrAudio},
		{"zero rate", with(wavHeader(wavPCM, 1, 0, 16, 1000), samples), Limits{}, ErrAudio},
		{"1 MHz", with(wavHeader(wavPCM, 1, 1_000_000, 16, 1000), samples), Limits{}, ErrAudio},
		{"zero bits", with(wavHeader(wavPCM, 1, 8000, 0, 1000), samples), Limits{}, ErrAudio},
		{"4-bit PCM", with(wavHeader(wavPCM, 1, 8000, 4, 1000), samples), Limits{}, ErrAudio},
		{"40-bit PCM", with(wavHeader(wavPCM, 1, 8000, 40, 1000), samples), Limits{}, ErrAudio},
		{"16-bit float", with(wavHeader(wavFloat, 1, 8000, 16, 1000), samples), Limits{}, ErrAudio},
		{"16-bit mu-law", with(wavHeader(wavMuLaw, 1, 8000, 16, 1000), samples), Limits{}, ErrAudio},
		{"block align mismatch", setU16(with(wavHeader(wavPCM, 2, 8000, 16, 1000), samples), 32, 3), Limits{}, ErrAudio},
		{"over the byte limit", good, Limits{MaxBytes: 1000}, ErrTooLong},
		{"over the duration limit", good, Limits{MaxDuration: 999 * time.Millisecond}, ErrTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pcm, _, err := Decode(tc.data, tc.lim)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %d samples, %v; want %v", len(pcm), err, tc.want)
			}
			t.Log(err)
		})
	}
	if _, _, err := Decode(good, Limits{MaxDuration: time.Second}); err != nil {
		t.Errorf("exactly at the duration limit: %v", err)
	}
}

// WAVE_FORMAT_EXTENSIBLE headers that are not PCM or float, or malformed.
func TestDecodeExtensibleErrors(t *testing.T) {
	base := makeWAV(wavSpec{tag: wavPCM, bits: 16, channels: 1, rate: 8000, extensible: true}, tone(8000, 440, 0.5, 800))
	fmtAt := 20 // the fmt chunk's body
	for _, tc := range []struct {
		name string
		off  int
		val  byte
	}{
		{"ADPCM sub-format", fmtAt + 24, 0x02},
		{"foreign GUID", fmtAt + 30, 0x11},
		{"more valid bits than the container", fmtAt + 18, 17},
		{"short extension", fmtAt + 16, 10},
	} {
		b := bytes.Clone(base)
		b[tc.off] = tc.val
		if _, _, err := Decode(b, Limits{}); !errors.Is(err, ErrAudio) {
			t.Errorf("%s: %v, want ErrAudio", tc.name, err)
		}
	}
}

// A data chunk that declares more than the file holds decodes what is there (whole
// frames only), says so in Info, and allocates in proportion to the file, not the
// declared size.
func TestDecodeTruncated(t *testing.T) {
	body := make([]byte, 16001) // one second of 8 kHz 16-bit mono, and half a sample
	for i := range body {
		body[i] = byte(i * 7)
	}
	for _, tc := range []struct {
		name string
		size uint32
	}{{"declared 10 s", 160000}, {"streaming writer 0xFFFFFFFF", 0xFFFFFFFF}, {"declared 4 GB", 0xFFFFFFF0},
		{"streaming writer 0", 0}} {
		data := append(wavHeader(wavPCM, 1, 8000, 16, tc.size), body...)
		pcm, info, err := Decode(data, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !info.Truncated || info.Duration != time.Second || len(pcm) != 16000 {
			t.Errorf("%s: truncated=%v duration=%v samples=%d, want true 1s 16000",
				tc.name, info.Truncated, info.Duration, len(pcm))
		}
	}
	full := makeWAV(wavSpec{tag: wavPCM, bits: 16, channels: 1, rate: 8000}, tone(8000, 440, 0.5, 800))
	if _, info, err := Decode(full, Limits{}); err != nil || info.Truncated {
		t.Errorf("complete file: truncated=%v, %v", info.Truncated, err)
	}
}

// Hostile headers on a small file allocate little: nothing is sized from a declared
// length.
func TestDecodeHostileHeadersAllocateLittle(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"4 GB data chunk at 4 kHz", append(wavHeader(wavPCM, 1, 4000, 8, 0xFFFFFFFF), make([]byte, 100)...)},
		{"4 GB fmt chunk", func() []byte {
			b := wavHeader(wavPCM, 1, 8000, 16, 100)
			binary.LittleEndian.PutUint32(b[16:], 0xFFFFFFFF)
			return b
		}()},
		{"4 GB unknown chunk", append([]byte("RIFF\xff\xff\xff\xffWAVEJUNK\xff\xff\xff\xff"), make([]byte, 100)...)},
		{"RF64 with a 2^60 ds64 size", func() []byte {
			b := []byte("RF64\xff\xff\xff\xffWAVEds64\x1c\x00\x00\x00")
			b = binary.LittleEndian.AppendUint64(b, 1<<60)
			b = binary.LittleEndian.AppendUint64(b, 1<<60)
			b = binary.LittleEndian.AppendUint64(b, 1<<59)
			b = binary.LittleEndian.AppendUint32(b, 0)
			h := wavHeader(wavPCM, 1, 8000, 16, 0xFFFFFFFF)
			return append(append(b, h[12:]...), make([]byte, 100)...)
		}()},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err := Decode(tc.data, Limits{})
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
			t.Errorf("%s: allocated %d bytes (err %v)", tc.name, alloc, err)
		}
	}
}

// RF64 takes the data size from its ds64 chunk.
func TestDecodeRF64(t *testing.T) {
	wav := makeWAV(wavSpec{tag: wavPCM, bits: 16, channels: 1, rate: 16000}, tone(16000, 440, 0.5, 1000))
	dataAt := bytes.Index(wav, []byte("data"))
	b := []byte("RF64\xff\xff\xff\xffWAVEds64\x1c\x00\x00\x00")
	b = binary.LittleEndian.AppendUint64(b, uint64(len(wav)-8))
	b = binary.LittleEndian.AppendUint64(b, 2000)
	b = binary.LittleEndian.AppendUint64(b, 1000)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = append(b, wav[12:dataAt]...)
	b = append(b, "data\xff\xff\xff\xff"...)
	b = append(b, wav[dataAt+8:]...)
	b = append(b, "LIST\x04\x00\x00\x00INFO"...) // a chunk after the data is not audio
	want, _, err := Decode(wav, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got, info, err := Decode(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Truncated {
		t.Error("RF64 file reported truncated")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RF64 vs RIFF (-want +got):\n%s", diff)
	}
}

func TestDecodeRaw(t *testing.T) {
	x := toPCM16(tone(8000, 500, 0.5, 8000))
	raw := make([]byte, 2*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(v))
	}
	pcm, err := DecodeRaw(raw, 8000, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) != 16000 {
		t.Fatalf("%d samples, want 16000", len(pcm))
	}
	if a := amplitude(pcm, 16000, 500, 300); math.Abs(dB(a/0.5)) > 0.01 {
		t.Errorf("amplitude %.4f, want 0.5", a)
	}
	same, err := DecodeRaw(raw, 16000, Limits{})
	if err != nil || !cmp.Equal(x, same) {
		t.Errorf("16 kHz raw is not passed through: %v", err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		rate int
		lim  Limits
		want error
	}{
		{"odd length", raw[:101], 8000, Limits{}, ErrAudio},
		{"bad rate", raw, 100, Limits{}, ErrAudio},
		{"too many bytes", raw, 8000, Limits{MaxBytes: 100}, ErrTooLong},
		{"too long", raw, 8000, Limits{MaxDuration: 500 * time.Millisecond}, ErrTooLong},
	} {
		if _, err := DecodeRaw(tc.data, tc.rate, tc.lim); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// Cross-check with sox: G.711 and 24-bit WAVs that sox writes decode to what sox itself
// decodes them to, and our 22.05 → 16 kHz conversion of espeak-ng speech agrees with
// sox's very-high-quality rate effect.
func TestAgainstSox(t *testing.T) {
	sox := needTool(t, "sox", "sox")
	espeak := needTool(t, "espeak-ng", "espeak-ng")
	dir := t.TempDir()
	speech := filepath.Join(dir, "speech.wav")
	run(t, espeak, "-w", speech, "Your order number is four two seven one. Thank you for calling.")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	run(t, sox, speech, "-r", "16000", "-b", "16", filepath.Join(dir, "ref16k.wav"), "rate", "-v")
	ref, _, err := Decode(read("ref16k.wav"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ours, info, err := Decode(read("speech.wav"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// sox rounds the output length, we round it up (every output instant before the end)
	if info.SampleRate != 22050 || len(ours)-len(ref) < 0 || len(ours)-len(ref) > 1 {
		t.Fatalf("espeak-ng at %d Hz → %d samples; sox gives %d", info.SampleRate, len(ours), len(ref))
	}
	ours = ours[:len(ref)]
	refF := make([]float64, len(ref))
	for i, v := range ref {
		refF[i] = float64(v) / 32768
	}
	snr := snrAgainst(ours, refF, 100)
	t.Logf("22.05 → 16 kHz speech: agreement with sox rate -v %.1f dB", snr)
	if snr < 30 {
		t.Errorf("agreement with sox %.1f dB, want ≥ 30", snr)
	}
	for _, enc := range []struct{ name, args string }{
		{"mulaw.wav", "-e u-law -r 8000"}, {"alaw.wav", "-e a-law -r 8000"}, {"s24.wav", "-b 24 -r 16000"},
	} {
		args := append([]string{speech}, append(strings.Fields(enc.args), filepath.Join(dir, enc.name))...)
		run(t, sox, args...)
		dec := "dec_" + enc.name
		run(t, sox, "-D", filepath.Join(dir, enc.name), "-e", "signed-integer", "-b", "16", filepath.Join(dir, dec))
		want, _, err := Decode(read(dec), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := Decode(read(enc.name), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", enc.name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: differs from sox's own decoding (-sox +ours):\n%.2000s", enc.name, diff)
		}
	}
}
