package pocketsphinx

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-cs/switchboard/asr/asreval"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// utterance is one recording of an evaluation set with its reference transcript.
type utterance = asreval.Utterance

var seconds = asreval.Seconds

// loader reads one set of asreval from the shared data; a missing set skips (fails in CI).
func loader(load func(string) ([]utterance, error)) func(testing.TB) []utterance {
	return func(t testing.TB) []utterance {
		t.Helper()
		root := filepath.Dir(testenv.SharedData(t, "speech_en_pocketsphinx_cards"))
		utts, err := load(root)
		if errors.Is(err, asreval.ErrMissing) {
			if testenv.InCI() {
				t.Fatal(err)
			}
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		return utts
	}
}

var (
	librivox    = loader(asreval.Librivox)
	cards       = loader(asreval.Cards)
	goforward   = loader(asreval.GoForward)
	voskTestWAV = loader(asreval.VoskTestWAV)
	fsdd        = loader(asreval.FSDD)
	espeak      = loader(asreval.Espeak)
)

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
