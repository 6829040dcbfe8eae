package audio

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// samplesAfterData reads the 16-bit samples after the "data" chunk header: an oracle
// independent of the parser, good enough for the canonical files of the shared sets.
func samplesAfterData(t *testing.T, b []byte) []int16 {
	t.Helper()
	i := bytes.Index(b, []byte("data"))
	if i < 0 {
		t.Fatal("no data chunk")
	}
	n := int(binary.LittleEndian.Uint32(b[i+4:])) / 2
	out := make([]int16, n)
	for j := range out {
		out[j] = int16(binary.LittleEndian.Uint16(b[i+8+2*j:]))
	}
	return out
}

// The 16 kHz speech sets (PocketSphinx cards and LibriVox, the Vosk test.wav) decode
// bit-exact, and goforward.raw through DecodeRaw.
func TestSharedSpeech16k(t *testing.T) {
	var files []string
	for _, pat := range []string{"speech_en_pocketsphinx_cards/*.wav", "speech_en_pocketsphinx_librivox/*.wav", "speech_en_vosk_testwav/*.wav"} {
		dir := testenv.SharedData(t, filepath.Dir(pat))
		m, err := filepath.Glob(filepath.Join(dir, filepath.Base(pat)))
		if err != nil || len(m) == 0 {
			t.Fatalf("%s: no files (%v)", pat, err)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pcm, info, err := Decode(b, DefaultLimits())
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		want := samplesAfterData(t, b)
		wantInfo := Info{Format: "wav", Encoding: "pcm", SampleRate: 16000, Channels: 1, BitsPerSample: 16,
			Duration: framesDuration(int64(len(want)), 16000)}
		if diff := cmp.Diff(wantInfo, info); diff != "" {
			t.Errorf("%s: Info (-want +got):\n%s", filepath.Base(f), diff)
		}
		if !slices.Equal(want, pcm) {
			t.Errorf("%s: samples differ from the data chunk", filepath.Base(f))
		}
		t.Logf("%-48s %v", filepath.Base(f), info.Duration.Round(time.Millisecond))
	}
	raw, err := os.ReadFile(filepath.Join(testenv.SharedData(t, "speech_en_pocketsphinx_cards"), "goforward.raw"))
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := DecodeRaw(raw, 16000, DefaultLimits())
	if err != nil || len(pcm) != len(raw)/2 || rms(pcm) < 100 {
		t.Errorf("goforward.raw: %d samples (RMS %.0f), %v", len(pcm), rms(pcm), err)
	}
}

// The 300 FSDD test recordings (8 kHz spoken digits) upsample to 16 kHz with twice the
// samples and the same energy (their content is below the 3.7 kHz pass band edge).
func TestSharedFSDD(t *testing.T) {
	dir := testenv.SharedData(t, "fsdd_test/recordings")
	files, err := filepath.Glob(filepath.Join(dir, "*.wav"))
	if err != nil || len(files) != 300 {
		t.Fatalf("%d FSDD recordings, want 300 (%v)", len(files), err)
	}
	var audio time.Duration
	start := time.Now()
	worst := 0.0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pcm, info, err := Decode(b, DefaultLimits())
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		in := samplesAfterData(t, b)
		if info.SampleRate != 8000 || info.Channels != 1 || len(pcm) != 2*len(in) {
			t.Errorf("%s: %+v, %d samples from %d", filepath.Base(f), info, len(pcm), len(in))
			continue
		}
		if d := math.Abs(dB(rms(pcm) / rms(in))); d > worst {
			worst = d
		}
		audio += info.Duration
	}
	t.Logf("300 files, %v of audio decoded and resampled in %v; worst RMS change %.2f dB",
		audio.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), worst)
	if worst > 0.5 {
		t.Errorf("RMS changed by up to %.2f dB, want ≤ 0.5", worst)
	}
}
