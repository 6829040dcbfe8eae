package audio

import (
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// benchSeconds is the length of the benchmark audio; the rtf metric is the decode time
// over this duration (real-time factor; 0.01 = 100× faster than real time).
const benchSeconds = 60

func reportRTF(b *testing.B) {
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/benchSeconds, "rtf")
}

// speechLike is a minute of a voiced, noisy signal: harmonics of a wandering pitch plus
// noise, so that codecs and the resampler see broadband content.
func speechLike(rate int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float64, rate*benchSeconds)
	phase := 0.0
	for i := range x {
		t := float64(i) / float64(rate)
		f0 := 120 + 40*math.Sin(2*math.Pi*0.3*t)
		phase += 2 * math.Pi * f0 / float64(rate)
		v := 0.0
		for h := 1.0; h <= 12; h++ {
			v += 0.2 / h * math.Sin(h*phase)
		}
		x[i] = v + 0.05*(rng.Float64()*2-1)
	}
	return x
}

// BenchmarkDecodeWAV44kStereo: a 60 s 44.1 kHz 16-bit stereo WAV to 16 kHz mono.
func BenchmarkDecodeWAV44kStereo(b *testing.B) {
	left, right := speechLike(44100, 1), speechLike(44100, 2)
	wav := makeWAV(wavSpec{tag: wavPCM, bits: 16, channels: 2, rate: 44100}, left, right)
	b.SetBytes(int64(len(wav)))
	for b.Loop() {
		if _, _, err := Decode(wav, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
	reportRTF(b)
}

// BenchmarkDecodeOpus: a 60 s voice note (espeak-ng speech, mono, 32 kbit/s as
// Telegram and WhatsApp send) decoded by libopusfile and resampled from 48 kHz.
func BenchmarkDecodeOpus(b *testing.B) {
	needOpus(b)
	ogg := benchOpus(b)
	b.SetBytes(int64(len(ogg)))
	for b.Loop() {
		if _, _, err := Decode(ogg, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
	reportRTF(b)
}

// benchOpus makes a minute of espeak-ng speech at 22.05 kHz and encodes it with opusenc.
func benchOpus(b *testing.B) []byte {
	espeak := needTool(b, "espeak-ng", "espeak-ng")
	dir := b.TempDir()
	speech := filepath.Join(dir, "speech.wav")
	text := "Hello, my order number four two seven one has not arrived, and I would like a refund or a replacement please. "
	if out, err := exec.Command(espeak, "-w", speech, text).CombinedOutput(); err != nil {
		b.Fatalf("espeak-ng: %v\n%s", err, out)
	}
	one, err := os.ReadFile(speech)
	if err != nil {
		b.Fatal(err)
	}
	w, err := parseWAV(one)
	if err != nil {
		b.Fatal(err)
	}
	x := make([]float64, 0, w.rate*benchSeconds)
	for len(x) < w.rate*benchSeconds {
		for i := 0; i+1 < len(w.data) && len(x) < w.rate*benchSeconds; i += 2 {
			x = append(x, float64(int16(uint16(w.data[i])|uint16(w.data[i+1])<<8))/32768)
		}
	}
	ogg := opusEncode(b, makeWAV(wavSpec{tag: wavPCM, bits: 16, channels: 1, rate: w.rate}, x), "--bitrate", "32")
	if _, info, err := Decode(ogg, DefaultLimits()); err != nil || (info.Duration-benchSeconds*time.Second).Abs() > 10*time.Millisecond {
		b.Fatalf("benchmark Opus: %v, %v", info.Duration, err)
	}
	return ogg
}

// BenchmarkResample44100: the resampler alone, a minute of 44.1 kHz mono.
func BenchmarkResample44100(b *testing.B) {
	in := toPCM16(speechLike(44100, 3))
	r, err := NewResampler(44100)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_ = r.Write(in)
		_ = r.Flush()
	}
	reportRTF(b)
}
