//go:build cgo

package audio

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testdata/hello.opus (3.9 KB) was made with
//
//	espeak-ng -w hello.wav "Hello, my order has not arrived."
//	opusenc --quiet --bitrate 12 --comp 10 hello.wav testdata/hello.opus
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeOpusFixture(t *testing.T) {
	needOpus(t)
	pcm, info, err := Decode(readFixture(t, "hello.opus"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// 46787 samples at 22050 Hz: opusenc keeps the length exact at 48 kHz
	want := Info{Format: "opus", Encoding: "opus", SampleRate: 48000, Channels: 1,
		Duration: framesDuration(101850, 48000)}
	if diff := cmp.Diff(want, info, cmp.Comparer(func(a, b time.Duration) bool {
		return (a - b).Abs() < time.Millisecond
	})); diff != "" {
		t.Errorf("Info (-want +got):\n%s", diff)
	}
	if got, want := len(pcm), int(math.Ceil(101850.0/3)); got != want {
		t.Errorf("%d samples, want %d", got, want)
	}
	if rms(pcm) < 500 {
		t.Errorf("RMS %.0f: decoded speech is near silence", rms(pcm))
	}
}

func rms(x []int16) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}

// Opus made at run time from a known tone: mono and stereo (opposite channels cancel in
// the downmix), at 48 and 16 kHz input, keep the tone's frequency and amplitude.
func TestDecodeOpusTone(t *testing.T) {
	needOpus(t)
	for _, tc := range []struct {
		name     string
		rate     int
		channels int
		invert   bool // right channel = −left
		want     float64
	}{
		{"mono 48k", 48000, 1, false, 0.5},
		{"stereo 48k", 48000, 2, false, 0.5},
		{"stereo 16k", 16000, 2, false, 0.5},
		{"stereo opposite", 44100, 2, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := tone(tc.rate, 800, 0.5, 2*tc.rate)
			chans := [][]float64{x}
			if tc.channels == 2 {
				right := x
				if tc.invert {
					right = make([]float64, len(x))
					for i, v := range x {
						right[i] = -v
					}
				}
				chans = append(chans, right)
			}
			ogg := opusEncode(t, makeWAV(wavSpec{tag: wavPCM, bits: 16, channels: tc.channels, rate: tc.rate}, chans...),
				"--bitrate", "64")
			pcm, info, err := Decode(ogg, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if info.Channels != tc.channels || (info.Duration-2*time.Second).Abs() > time.Millisecond {
				t.Errorf("Info %+v, want %d channels, 2 s", info, tc.channels)
			}
			if len(pcm) != 32000 {
				t.Errorf("%d samples, want 32000", len(pcm))
			}
			a := amplitude(pcm, 16000, 800, 1000)
			if math.Abs(a-tc.want) > 0.02 {
				t.Errorf("800 Hz amplitude %.3f, want %.2f", a, tc.want)
			}
		})
	}
}

func TestDecodeOpusErrors(t *testing.T) {
	needOpus(t)
	hello := readFixture(t, "hello.opus")
	garbage := append([]byte("OggS"), make([]byte, 200)...)
	vorbisLike := append([]byte("OggS\x00\x02"), make([]byte, 22)...)
	vorbisLike = append(vorbisLike, "\x01\x1e\x01vorbis"...)
	for _, tc := range []struct {
		name string
		data []byte
		lim  Limits
		want error
	}{
		{"garbage after OggS", garbage, Limits{}, ErrAudio},
		{"not Opus", vorbisLike, Limits{}, ErrAudio},
		{"headers only", hello[:200], Limits{}, ErrAudio},
		{"over the duration limit (from op_pcm_total)", hello, Limits{MaxDuration: time.Second}, ErrTooLong},
		{"over the byte limit", hello, Limits{MaxBytes: 1000}, ErrTooLong},
	} {
		pcm, _, err := Decode(tc.data, tc.lim)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %d samples, %v; want %v", tc.name, len(pcm), err, tc.want)
			continue
		}
		t.Logf("%s: %v", tc.name, err)
	}
	// a file cut short decodes what it holds or fails cleanly
	for _, cut := range []int{len(hello) / 3, len(hello) / 2, len(hello) - 7} {
		pcm, info, err := Decode(hello[:cut], Limits{})
		t.Logf("cut at %d of %d bytes: %d samples, %v, %v", cut, len(hello), len(pcm), info.Duration, err)
		if err != nil && !errors.Is(err, ErrAudio) {
			t.Errorf("cut at %d: %v", cut, err)
		}
	}
}

// An OGG/Opus file cut short decodes up to its last complete page.
func TestDecodeOpusTruncated(t *testing.T) {
	needOpus(t)
	ogg := opusEncode(t, makeWAV(wavSpec{tag: wavPCM, bits: 16, channels: 1, rate: 16000}, tone(16000, 800, 0.5, 6*16000)))
	pcm, info, err := Decode(ogg[:len(ogg)/2], Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Duration < time.Second || info.Duration > 4*time.Second || len(pcm) != int(info.Duration.Seconds()*16000+0.5) {
		t.Errorf("half of a 6 s file: %v, %d samples", info.Duration, len(pcm))
	}
}

// Without libopusfile, an Opus voice note is ErrUnavailable naming the Debian package,
// and WAV still decodes. Run in a child process, since the library loads once.
func TestOpusMissingLibrary(t *testing.T) {
	if os.Getenv("AUDIO_TEST_CHILD") == "1" {
		_, _, err := Decode(readFixture(t, "hello.opus"), Limits{})
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "libopusfile0") {
			t.Fatalf("Decode without libopusfile: %v", err)
		}
		if !errors.Is(Opus(), ErrUnavailable) {
			t.Fatal("Opus() reports the library present")
		}
		wav := makeWAV(wavSpec{tag: wavPCM, bits: 16, channels: 1, rate: 8000}, tone(8000, 440, 0.5, 800))
		if _, _, err := Decode(wav, Limits{}); err != nil {
			t.Fatalf("WAV without libopusfile: %v", err)
		}
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestOpusMissingLibrary$", "-test.v")
	cmd.Env = append(os.Environ(), "AUDIO_TEST_CHILD=1", EnvOpusFile+"=/nonexistent/libopusfile.so.0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	// a library without the API is reported too, and leaves a loaded one working
	if err := loadOpusFile("libc.so.6"); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "lacks") {
		t.Errorf("loading libc as libopusfile: %v", err)
	}
}
