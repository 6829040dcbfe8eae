package audio

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"slices"
	"testing"
	"time"
)

// fuzzLimits keep each fuzz input's output small.
var fuzzLimits = Limits{MaxBytes: 1 << 20, MaxDuration: 20 * time.Second}

// FuzzDecode: no input panics, every error is one of the sentinels, and what decodes is
// within the limits and as long as Info says. Seeds: valid WAVs of every encoding, hostile
// headers, and the OGG/Opus fixture.
func FuzzDecode(f *testing.F) {
	short := tone(8000, 440, 0.5, 400)
	for _, s := range []wavSpec{
		{tag: wavPCM, bits: 8, channels: 1, rate: 8000},
		{tag: wavPCM, bits: 16, channels: 2, rate: 44100},
		{tag: wavPCM, bits: 24, channels: 1, rate: 16000},
		{tag: wavPCM, bits: 32, channels: 1, rate: 22050, extensible: true, validBits: 24},
		{tag: wavFloat, bits: 32, channels: 2, rate: 48000, extensible: true},
		{tag: wavFloat, bits: 64, channels: 1, rate: 11025},
		{tag: wavMuLaw, bits: 8, channels: 1, rate: 8000},
		{tag: wavALaw, bits: 8, channels: 1, rate: 8000},
	} {
		chans := make([][]float64, s.channels)
		for c := range chans {
			chans[c] = short
		}
		f.Add(makeWAV(s, chans...))
	}
	f.Add(append(wavHeader(wavPCM, 1, 4000, 8, 0xFFFFFFFF), make([]byte, 64)...))
	f.Add(append(wavHeader(wavPCM, 2, 191999, 16, 0x7FFFFFFF), make([]byte, 64)...))
	f.Add(append(wavHeader(wavFloat, 1, 16000, 32, 16), 0, 0, 0xC0, 0x7F, 0, 0, 0x80, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4))
	rf64 := binary.LittleEndian.AppendUint64([]byte("RF64\xff\xff\xff\xffWAVEds64\x1c\x00\x00\x00"), 1<<62)
	rf64 = append(binary.LittleEndian.AppendUint64(rf64, 1<<62), make([]byte, 12)...)
	f.Add(append(append(rf64, wavHeader(wavPCM, 1, 8000, 16, 0xFFFFFFFF)[12:]...), 1, 2, 3, 4))
	if b, err := os.ReadFile("testdata/hello.opus"); err == nil {
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte("OggS"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pcm, info, err := Decode(data, fuzzLimits)
		if err != nil {
			if !errors.Is(err, ErrAudio) && !errors.Is(err, ErrTooLong) && !errors.Is(err, ErrUnavailable) {
				t.Fatalf("error outside the sentinels: %v", err)
			}
			return
		}
		if info.Duration > fuzzLimits.MaxDuration || info.SampleRate < MinRate || info.SampleRate > MaxRate {
			t.Fatalf("Info out of limits: %+v", info)
		}
		if want := info.Duration.Seconds() * TargetRate; math.Abs(float64(len(pcm))-want) > 2 {
			t.Fatalf("%d samples for %v", len(pcm), info.Duration)
		}
	})
}

// FuzzResampler: any split of a stream into Writes gives the output of one Write.
func FuzzResampler(f *testing.F) {
	f.Add(uint8(0), uint16(100), []byte("some bytes that are samples, in pairs, little-endian"))
	f.Add(uint8(7), uint16(1), make([]byte, 3000))
	rates := []int{4000, 8000, 11025, 16000, 22050, 44100, 48000, 44056, 96000, 37800}
	f.Fuzz(func(t *testing.T, rateIdx uint8, split uint16, data []byte) {
		rate := rates[int(rateIdx)%len(rates)]
		in := make([]int16, len(data)/2)
		for i := range in {
			in[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
		}
		r, err := NewResampler(rate)
		if err != nil {
			t.Fatal(err)
		}
		whole := append(r.Write(in), r.Flush()...)
		if want := r.outputLen(int64(len(in))); len(whole) != want {
			t.Fatalf("%d samples at %d Hz gave %d, want %d", len(in), rate, len(whole), want)
		}
		step := 1 + int(split)%(len(in)+1)
		var got []int16
		for rest := in; len(rest) > 0; rest = rest[min(step, len(rest)):] {
			got = append(got, r.Write(rest[:min(step, len(rest))])...)
		}
		got = append(got, r.Flush()...)
		if !slices.Equal(whole, got) {
			t.Fatalf("%d Hz, writes of %d: output differs from one write", rate, step)
		}
	})
}
