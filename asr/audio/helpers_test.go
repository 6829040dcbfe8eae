package audio

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/cmplx"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// wavSpec describes a WAV file for makeWAV.
type wavSpec struct {
	tag        uint16 // wavPCM, wavFloat, wavMuLaw, wavALaw
	bits       int    // container bits
	channels   int
	rate       int
	extensible bool
	validBits  int // extensible only; 0 = bits
}

// makeWAV encodes chans (one slice per channel, samples in [-1, 1]) as a WAV file with
// a LIST chunk before the data, as many writers put one there.
func makeWAV(s wavSpec, chans ...[]float64) []byte {
	width := (s.bits + 7) / 8
	var pcm bytes.Buffer
	for i := range chans[0] {
		for _, ch := range chans {
			pcm.Write(encodeSample(s, width, ch[i]))
		}
	}
	var fmtc bytes.Buffer
	le := func(v any) { _ = binary.Write(&fmtc, binary.LittleEndian, v) }
	tag := s.tag
	if s.extensible {
		tag = wavExtensible
	}
	le(tag)
	le(uint16(s.channels))
	le(uint32(s.rate))
	le(uint32(s.rate * s.channels * width))
	le(uint16(s.channels * width))
	le(uint16(s.bits))
	if s.extensible {
		valid := s.validBits
		if valid == 0 {
			valid = s.bits
		}
		le(uint16(22))
		le(uint16(valid))
		le(uint32(0)) // channel mask
		le(s.tag)
		le(uint16(0))
		fmtc.Write(guidSuffix[:])
	}
	var body bytes.Buffer
	body.WriteString("WAVE")
	writeChunk(&body, "fmt ", fmtc.Bytes())
	writeChunk(&body, "LIST", []byte("INFOISFT\x06\x00\x00\x00test\x00\x00"))
	writeChunk(&body, "data", pcm.Bytes())
	var out bytes.Buffer
	out.WriteString("RIFF")
	_ = binary.Write(&out, binary.LittleEndian, uint32(body.Len()))
	out.Write(body.Bytes())
	return out.Bytes()
}

func writeChunk(b *bytes.Buffer, id string, data []byte) {
	b.WriteString(id)
	_ = binary.Write(b, binary.LittleEndian, uint32(len(data)))
	b.Write(data)
	if len(data)%2 == 1 {
		b.WriteByte(0)
	}
}

// encodeSample encodes v in [-1, 1] in the spec's sample format.
func encodeSample(s wavSpec, width int, v float64) []byte {
	b := make([]byte, width)
	switch {
	case s.tag == wavFloat && width == 4:
		binary.LittleEndian.PutUint32(b, math.Float32bits(float32(v)))
	case s.tag == wavFloat:
		binary.LittleEndian.PutUint64(b, math.Float64bits(v))
	case s.tag == wavMuLaw:
		b[0] = nearestCode(&muLaw, v)
	case s.tag == wavALaw:
		b[0] = nearestCode(&aLaw, v)
	case width == 1:
		b[0] = byte(clampInt(math.Round(v*127)+128, 0, 255))
	default:
		bits := s.validBits
		if bits == 0 {
			bits = s.bits
		}
		full := math.Ldexp(1, bits-1)
		iv := int64(clampInt(math.Round(v*(full-1)), -full, full-1)) << (8*width - bits)
		for i := range width {
			b[i] = byte(iv >> (8 * i))
		}
	}
	return b
}

func clampInt(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// nearestCode is the G.711 code whose expansion is nearest to v·32768.
func nearestCode(table *[256]int16, v float64) byte {
	best, bestErr := 0, math.Inf(1)
	for c, x := range table {
		if e := math.Abs(float64(x) - v*32768); e < bestErr {
			best, bestErr = c, e
		}
	}
	return byte(best)
}

// tone is n samples of amp·sin(2π·freq·t) at rate.
func tone(rate int, freq, amp float64, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))
	}
	return x
}

func add(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}

func toPCM16(x []float64) []int16 {
	out := make([]int16, len(x))
	for i, v := range x {
		out[i] = int16(clampInt(math.Round(v*32767), -32768, 32767))
	}
	return out
}

// amplitude measures the amplitude of the freq component of x (a fraction of full
// scale) by a Hann-windowed DFT at that one frequency, over x[skip:len(x)-skip].
func amplitude(x []int16, rate int, freq float64, skip int) float64 {
	x = x[skip : len(x)-skip]
	var acc complex128
	var wsum float64
	for i, v := range x {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(len(x)-1))
		acc += complex(w*float64(v), 0) * cmplx.Exp(complex(0, -2*math.Pi*freq*float64(i)/float64(rate)))
		wsum += w
	}
	return 2 * cmplx.Abs(acc) / wsum / 32768
}

func dB(ratio float64) float64 { return 20 * math.Log10(ratio) }

// snrAgainst is the ratio, in dB, of want's power to the power of got − want over
// [skip, len−skip).
func snrAgainst(got []int16, want []float64, skip int) float64 {
	var sig, noise float64
	for i := skip; i < len(want)-skip; i++ {
		w := want[i] * 32768
		d := float64(got[i]) - w
		sig += w * w
		noise += d * d
	}
	return 10 * math.Log10(sig/math.Max(noise, 1e-9))
}

// needTool returns the path of a command-line tool from the Debian package pkg, or
// skips the test (fails it in CI, like testenv's missing services).
func needTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if testenv.InCI() {
		t.Fatalf("%s not found: apt-get install %s (CI=true: a missing tool is a failure)", name, pkg)
	}
	t.Skipf("%s not found: apt-get install %s", name, pkg)
	return ""
}

// needOpus skips the test (fails it in CI) when libopusfile cannot be loaded.
func needOpus(t testing.TB) {
	t.Helper()
	if err := Opus(); err != nil {
		if testenv.InCI() {
			t.Fatalf("%v (CI=true: a missing library is a failure)", err)
		}
		t.Skip(err)
	}
}

// run runs a command and fails the test with its output when it fails.
func run(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// opusEncode encodes a WAV file with opusenc and returns the OGG/Opus bytes.
func opusEncode(t testing.TB, wav []byte, extra ...string) []byte {
	t.Helper()
	enc := needTool(t, "opusenc", "opus-tools")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.opus")
	if err := os.WriteFile(in, wav, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, enc, append(append([]string{"--quiet"}, extra...), in, out)...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
