package audio

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// resampleAll runs in through a fresh Resampler and flushes it.
func resampleAll(t testing.TB, rate int, in []int16) []int16 {
	t.Helper()
	r, err := NewResampler(rate)
	if err != nil {
		t.Fatal(err)
	}
	return append(r.Write(in), r.Flush()...)
}

// A 1 kHz sine at 44.1 kHz keeps its frequency, amplitude and phase: the output is the
// ideal 16 kHz sine to within 60 dB, and its spectrum peaks at 1000 Hz.
func TestResampleSine44100(t *testing.T) {
	const amp = 0.5
	in := toPCM16(tone(44100, 1000, amp, 44100))
	out := resampleAll(t, 44100, in)
	if len(out) != 16000 {
		t.Fatalf("got %d samples, want 16000", len(out))
	}
	want := tone(16000, 1000, amp*32767/32768, 16000)
	if snr := snrAgainst(out, want, 200); snr < 60 {
		t.Errorf("SNR against the ideal 16 kHz sine %.1f dB, want ≥ 60", snr)
	}
	if a := amplitude(out, 16000, 1000, 200); math.Abs(dB(a/amp)) > 0.05 {
		t.Errorf("1 kHz amplitude %.4f (%.3f dB), want %.1f", a, dB(a/amp), amp)
	}
	peak, best := 0.0, 0.0
	for f := 900.0; f <= 1100; f += 0.5 {
		if a := amplitude(out, 16000, f, 200); a > best {
			peak, best = f, a
		}
	}
	if peak != 1000 {
		t.Errorf("spectral peak at %.1f Hz, want 1000", peak)
	}
}

// A 7.5 kHz + 12 kHz mix at 48 kHz: the 12 kHz component, which would alias to 4 kHz,
// is attenuated by at least 40 dB (the design gives 70), and 7.5 kHz passes.
func TestResampleAntiAlias48000(t *testing.T) {
	const amp = 0.4
	in := toPCM16(add(tone(48000, 7500, amp, 48000), tone(48000, 12000, amp, 48000)))
	out := resampleAll(t, 48000, in)
	alias := amplitude(out, 16000, 4000, 200)
	pass := amplitude(out, 16000, 7500, 200)
	t.Logf("7.5 kHz: %.2f dB; 12 kHz aliased to 4 kHz: %.1f dB", dB(pass/amp), dB(alias/amp))
	if dB(alias/amp) > -40 {
		t.Errorf("12 kHz attenuated only %.1f dB, want ≥ 40", -dB(alias/amp))
	}
	if dB(pass/amp) < -1 {
		t.Errorf("7.5 kHz attenuated %.2f dB, want < 1", -dB(pass/amp))
	}
}

// Every kind of rate: a 1 kHz tone passes unchanged, and a tone that would alias (or
// image, when upsampling) into 0–8 kHz is at least 60 dB down.
func TestResampleRates(t *testing.T) {
	for _, rate := range []int{4000, 8000, 11025, 12000, 22050, 24000, 32000, 37800, 44056, 44100, 48000, 96000, 192000} {
		n := rate // one second
		pass := resampleAll(t, rate, toPCM16(tone(rate, 1000, 0.5, n)))
		if got, want := len(pass), 16000; got != want {
			t.Errorf("%d Hz: %d samples, want %d", rate, got, want)
			continue
		}
		snr := snrAgainst(pass, tone(16000, 1000, 0.5*32767/32768, 16000), 300)
		if snr < 55 {
			t.Errorf("%d Hz: 1 kHz tone SNR %.1f dB, want ≥ 55", rate, snr)
		}
		var f, image float64
		if rate < TargetRate {
			f = 0.4 * float64(rate)
			image = float64(rate) - f // the first image of f
		} else {
			f = math.Min(12000, 0.45*float64(rate))
			image = float64(TargetRate) - f // where f folds
		}
		if rate == TargetRate || f < 8500 && rate > TargetRate {
			continue
		}
		stop := resampleAll(t, rate, toPCM16(tone(rate, f, 0.5, n)))
		a := dB(amplitude(stop, 16000, image, 300) / 0.5)
		t.Logf("%6d Hz: 1 kHz SNR %.1f dB; %.0f Hz → %.0f Hz at %.1f dB", rate, snr, f, image, a)
		if a > -60 {
			t.Errorf("%d Hz: tone at %.0f Hz shows at %.0f Hz at %.1f dB, want ≤ -60", rate, f, image, a)
		}
	}
}

// Writing in chunks of any size gives exactly the output of one Write, Flush resets the
// stream, and N input samples give ceil(N·16000/rate) outputs.
func TestResamplerStreaming(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rate := range []int{8000, 16000, 22050, 44100, 48000, 44056} {
		in := make([]int16, 12345)
		for i := range in {
			in[i] = int16(rng.IntN(20000) - 10000)
		}
		whole := resampleAll(t, rate, in)
		if want := int(math.Ceil(float64(len(in)) * 16000 / float64(rate))); len(whole) != want {
			t.Errorf("%d Hz: %d samples, want %d", rate, len(whole), want)
		}
		r, err := NewResampler(rate)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second round checks that Flush reset the stream
			var got []int16
			for rest := in; len(rest) > 0; {
				n := min(len(rest), 1+rng.IntN(700))
				got = append(got, r.Write(rest[:n])...)
				rest = rest[n:]
			}
			got = append(got, r.Flush()...)
			if diff := cmp.Diff(whole, got); diff != "" {
				t.Fatalf("%d Hz: chunked output differs (-whole +chunked):\n%s", rate, diff)
			}
		}
	}
}

// A constant input stays constant (every phase has unity DC gain) away from the
// stream's edges, where the filter sees the silence before and after it.
func TestResamplerDC(t *testing.T) {
	for _, rate := range []int{8000, 11025, 44100, 48000, 44056} {
		in := slices.Repeat([]int16{-12000}, rate)
		out := resampleAll(t, rate, in)
		for i := 500; i < len(out)-500; i++ {
			if out[i] != -12000 {
				t.Fatalf("%d Hz: out[%d] = %d, want -12000", rate, i, out[i])
			}
		}
	}
}

func TestNewResamplerRates(t *testing.T) {
	for _, rate := range []int{0, -1, 3999, 192001, 1 << 30} {
		if _, err := NewResampler(rate); !errors.Is(err, ErrAudio) {
			t.Errorf("NewResampler(%d) = %v, want ErrAudio", rate, err)
		}
	}
	r, err := NewResampler(16000)
	if err != nil {
		t.Fatal(err)
	}
	in := []int16{1, -2, 32767, -32768}
	if diff := cmp.Diff(in, append(r.Write(in), r.Flush()...)); diff != "" {
		t.Errorf("16 kHz passthrough (-want +got):\n%s", diff)
	}
}

// The filter banks stay small and cheap to build whatever rate a header names, and the
// common rates' banks are exact and shared.
func TestKernelSize(t *testing.T) {
	for _, tc := range []struct {
		rate, phases int
		interp       bool
	}{
		{8000, 2, false}, {11025, 640, false}, {44100, 160, false}, {48000, 1, false}, {96000, 1, false},
		{44056, 64, true}, {191999, 64, true}, {191984, 64, true}, {4001, 64, true},
	} {
		start := time.Now()
		k := newKernel(tc.rate)
		took := time.Since(start)
		if k.phases != tc.phases || k.interp != tc.interp {
			t.Errorf("%d Hz: %d phases (interpolated %v), want %d (%v)", tc.rate, k.phases, k.interp, tc.phases, tc.interp)
		}
		if len(k.coef) > maxExactCoefs {
			t.Errorf("%d Hz: %d coefficients", tc.rate, len(k.coef))
		}
		t.Logf("%6d Hz: %4d phases × %4d taps, built in %v", tc.rate, k.phases, k.taps, took)
	}
	if kernelFor(44100) != kernelFor(44100) {
		t.Error("the 44.1 kHz filter bank is not shared")
	}
}
