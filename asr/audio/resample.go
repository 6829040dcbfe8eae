package audio

import (
	"math"
	"sync"
)

// Filter design (see the package comment): Kaiser-windowed sinc, stop band from the
// lower Nyquist frequency, pass band to passFrac of it.
const (
	stopAttenDB = 70.0
	passFrac    = 0.925
	// maxExactCoefs bounds an exact bank (one row per phase of the ratio), 512 KB; every
	// common rate fits. Other ratios interpolate between interpPhases+1 rows, so that
	// no header can make building a bank cost more than about 10 ms.
	maxExactCoefs = 1 << 17
	interpPhases  = 64
)

// kernel is a polyphase filter bank for one input rate. Output sample n sits at input
// time n·m/l, and the row for its fractional part f is row f·l (exact), or the blend of
// rows ⌊f·phases⌋ and ⌊f·phases⌋+1 (interpolated).
type kernel struct {
	l, m   int       // 16000/g and rate/g, g = gcd(rate, 16000)
	phases int       // l (exact) or interpPhases
	interp bool      // rows are blended
	taps   int       // even
	coef   []float32 // rows × taps; row p is for fractional time p/phases
}

// newKernel designs the filter bank for converting rate to TargetRate.
func newKernel(rate int) *kernel {
	g := gcd(rate, TargetRate)
	k := &kernel{l: TargetRate / g, m: rate / g}
	nyq := float64(min(rate, TargetRate)) / 2
	fc := (1 + passFrac) / 2 * nyq / float64(rate) // cutoff, cycles per input sample
	width := (1 - passFrac) * nyq / float64(rate)  // transition width, same unit
	beta := 0.1102 * (stopAttenDB - 8.7)
	n := (stopAttenDB - 8) / (2.285 * 2 * math.Pi * width) // Kaiser's length estimate
	half := int(math.Ceil(n / 2))
	k.taps = 2 * half
	rows := k.l
	if k.phases = k.l; k.l*k.taps > maxExactCoefs {
		k.phases, k.interp = interpPhases, true
		rows = interpPhases + 1 // the last row is fractional time 1
	}
	k.coef = make([]float32, rows*k.taps)
	i0beta := besselI0(beta)
	row := make([]float64, k.taps)
	for p := range rows {
		frac := float64(p) / float64(k.phases)
		var sum float64
		for j := range row {
			// tap j multiplies input sample ⌊t⌋-half+1+j, at distance tau from t
			tau := frac + float64(half-1-j)
			x := tau / float64(half)
			w := 0.0
			if x > -1 && x < 1 {
				w = besselI0(beta*math.Sqrt(1-x*x)) / i0beta
			}
			row[j] = 2 * fc * sinc(2*fc*tau) * w
			sum += row[j]
		}
		for j, v := range row { // unity gain at DC for every phase
			k.coef[p*k.taps+j] = float32(v / sum)
		}
	}
	return k
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the modified Bessel function of the first kind, order 0, by its series.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 200; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < sum*1e-12 {
			break
		}
	}
	return sum
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// commonKernels holds the filter banks of the usual rates, each built on first use and
// shared by every Resampler (they are read-only). Other rates, which any WAV header may
// name, get a bank of their own so that hostile headers cannot grow a shared cache.
var commonKernels = func() map[int]func() *kernel {
	m := make(map[int]func() *kernel)
	for _, r := range []int{8000, 11025, 12000, 22050, 24000, 32000, 44100, 48000, 88200, 96000} {
		m[r] = sync.OnceValue(func() *kernel { return newKernel(r) })
	}
	return m
}()

func kernelFor(rate int) *kernel {
	if f, ok := commonKernels[rate]; ok {
		return f()
	}
	return newKernel(rate)
}

// Resampler converts a stream of mono samples at one rate to 16 kHz, incrementally:
// Write takes any number of samples and returns the output they complete; Flush returns
// the rest and resets the Resampler for a new stream. Output is not delayed: after Flush,
// N input samples have given exactly ceil(N·16000/rate) output samples, output n being
// the input at time n/16000 s. A Resampler is not safe for concurrent use.
type Resampler struct {
	rate  int
	k     *kernel   // nil when rate is already TargetRate
	hist  []float32 // input from absolute index start on
	start int64
	ip    int64 // the next output is at input time ip + fr/k.l
	fr    int
	total int64 // input samples written since the last Flush
	buf   []float32
}

// NewResampler returns a Resampler from fromRate (MinRate…MaxRate) to 16 kHz; other
// rates are ErrAudio.
func NewResampler(fromRate int) (*Resampler, error) {
	if err := checkRate(fromRate); err != nil {
		return nil, err
	}
	r := &Resampler{rate: fromRate}
	if fromRate != TargetRate {
		r.k = kernelFor(fromRate)
	}
	r.reset()
	return r, nil
}

// reset starts a new stream: the history before time 0 is silence.
func (r *Resampler) reset() {
	r.ip, r.fr, r.total = 0, 0, 0
	if r.k == nil {
		return
	}
	pre := r.k.taps/2 - 1
	r.hist = append(r.hist[:0], make([]float32, pre)...)
	r.start = -int64(pre)
}

// Write adds in to the stream and returns the 16 kHz samples it completes, in a new
// slice.
func (r *Resampler) Write(in []int16) []int16 {
	var out []int16
	if r.k != nil {
		out = make([]int16, 0, r.outputLen(r.total+int64(len(in)))-r.outputLen(r.total)+1)
	}
	if cap(r.buf) < chunkFrames {
		r.buf = make([]float32, chunkFrames)
	}
	for len(in) > 0 {
		n := min(len(in), chunkFrames)
		for i, v := range in[:n] {
			r.buf[i] = float32(v)
		}
		out = r.appendFloat(out, r.buf[:n])
		in = in[n:]
	}
	return out
}

// Flush returns the output still owed for the samples written so far, and resets the
// Resampler for a new stream.
func (r *Resampler) Flush() []int16 {
	return r.appendFlush(nil)
}

// outputLen is the number of output samples that n input samples give once flushed.
func (r *Resampler) outputLen(n int64) int {
	if r.k == nil {
		return int(n)
	}
	l, m := int64(r.k.l), int64(r.k.m)
	return int((n*l + m - 1) / m)
}

// appendFloat adds in (int16 units) to the stream and appends the completed output.
func (r *Resampler) appendFloat(out []int16, in []float32) []int16 {
	r.total += int64(len(in))
	if r.k == nil {
		for _, v := range in {
			out = append(out, toInt16(v))
		}
		return out
	}
	r.hist = append(r.hist, in...)
	return r.run(out, false)
}

// appendFlush appends the remaining output and resets the stream.
func (r *Resampler) appendFlush(out []int16) []int16 {
	if r.k != nil && r.total > 0 {
		r.hist = append(r.hist, make([]float32, r.k.taps/2+1)...)
		out = r.run(out, true)
	}
	r.reset()
	return out
}

// run computes every output whose filter window is inside hist (final: every output
// before the end of the input, hist having been padded with silence), then drops the
// history no later output needs.
func (r *Resampler) run(out []int16, final bool) []int16 {
	k := r.k
	half := int64(k.taps / 2)
	end := r.start + int64(len(r.hist))
	for !final || r.ip < r.total {
		if r.ip+half >= end {
			break
		}
		first := int(r.ip - half + 1 - r.start)
		x := r.hist[first : first+k.taps]
		var v float32
		if k.interp {
			pos := r.fr * k.phases
			p := pos / k.l
			a := float32(pos-p*k.l) / float32(k.l)
			lo := dot(k.coef[p*k.taps:(p+1)*k.taps], x)
			hi := dot(k.coef[(p+1)*k.taps:(p+2)*k.taps], x)
			v = lo + a*(hi-lo)
		} else {
			v = dot(k.coef[r.fr*k.taps:(r.fr+1)*k.taps], x)
		}
		out = append(out, toInt16(v))
		r.fr += k.m
		r.ip += int64(r.fr / k.l)
		r.fr %= k.l
	}
	if drop := int(r.ip - half + 1 - r.start); drop > 0 {
		drop = min(drop, len(r.hist))
		r.hist = r.hist[:copy(r.hist, r.hist[drop:])]
		r.start += int64(drop)
	}
	return out
}

// dot is the filter's inner product, with four accumulators.
func dot(c, x []float32) float32 {
	x = x[:len(c)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(c); i += 4 {
		s0 += c[i] * x[i]
		s1 += c[i+1] * x[i+1]
		s2 += c[i+2] * x[i+2]
		s3 += c[i+3] * x[i+3]
	}
	for ; i < len(c); i++ {
		s0 += c[i] * x[i]
	}
	return (s0 + s1) + (s2 + s3)
}
