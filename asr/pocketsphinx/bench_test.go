package pocketsphinx

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/asr/asreval"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// TestBenchMeasuresTheEngine runs the harness of `switchboard bench asr` on PocketSphinx
// with one stream level and one WER set: every figure is filled, each step is reported,
// and the WER is the engine's (cards: 0.05 in the README's figures).
func TestBenchMeasuresTheEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes the librivox set three times")
	}
	e := engine(t, Config{})
	data := filepath.Dir(testenv.SharedData(t, "speech_en_pocketsphinx_librivox"))
	var steps []string
	res, err := asreval.Bench(context.Background(), e, data, []string{"cards"}, 1, func(s string) { steps = append(steps, s) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rtf %.2f, streamed %.2f, steps %+v, WER %v over %v words", res.RTF, res.RTFStreamed, res.Steps, res.WER, res.Words)
	if res.Engine != "pocketsphinx" || res.RTF <= 0 || res.RTFStreamed <= 0 || len(res.Steps) != 1 || res.Steps[0].RTF <= 0 ||
		res.StreamAudioSec <= 0 || res.Words["cards"] == 0 || res.WER["cards"] > 0.3 || len(steps) < 4 {
		t.Fatalf("bench result %+v, steps %v", res, steps)
	}
	// an unknown set is refused before any decoding
	start := time.Now()
	if _, err := asreval.Bench(context.Background(), e, data, []string{"cards", "nope"}, 1, func(string) {}); err == nil || time.Since(start) > time.Second {
		t.Errorf("an unknown set: %v after %s", err, time.Since(start))
	}
}
