package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/nlp/pii"
)

// TestPIIEvalOnSharedData runs `pii eval --json` and holds the figures issue 17 asks for
// where they are reached: phones ≥ 0.95 and cards ≥ 0.99 recall and precision on the
// held-out part of the presidio set; names and addresses ≥ 0.80 recall there (the tagger
// trained on the rest; today 0.864 and 0.940) and on zh_address_parsing's test split
// (0.971); and ≤ 1 % of ordinary support messages touched.
func TestPIIEvalOnSharedData(t *testing.T) {
	data := testenv.SharedData(t, "")
	var rep piiReport
	out := runCLI(t, "pii", "eval", "--json", "--data", data, "--keep", "2000")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if rep.PresidioHeldOutRecords < 400 || rep.PresidioHeldOutRecords > 500 {
		t.Errorf("held-out records %d, want about 30 %% of 1 500", rep.PresidioHeldOutRecords)
	}
	for typ, floor := range map[string]float64{pii.TypePhone: 0.95, pii.TypeBankCard: 0.99, pii.TypeEmail: 0.99, pii.TypeIBAN: 0.99} {
		if s := rep.PresidioHeldOut[typ]; s.TP == 0 || s.Recall < floor || s.Precision < floor {
			t.Errorf("held-out %s: %+v, want precision and recall ≥ %.2f", typ, s, floor)
		}
	}
	for typ, s := range map[string]pii.Score{"held-out PERSON": rep.PresidioHeldOut[pii.TypePerson],
		"held-out ADDRESS": rep.PresidioHeldOut[pii.TypeAddress], "Chinese ADDRESS": rep.ZhAddressTest[pii.TypeAddress]} {
		if s.Recall < 0.8 || s.Precision < 0.9 {
			t.Errorf("%s: %+v, want recall ≥ 0.80 and precision ≥ 0.90", typ, s)
		}
	}
	if !strings.Contains(rep.Tagger, "pii_presidio_synth (training part)") || strings.Contains(rep.Tagger, "zh_address_parsing test") {
		t.Errorf("tagger %q: trained on the presidio set's training part, never on a reported set", rep.Tagger)
	}
	if s := rep.ZhStructured[pii.TypePhone]; s.Recall < 0.995 || s.Precision < 0.99 {
		t.Errorf("Chinese phones %+v", s)
	}
	if _, ok := rep.ZhAddressTest[pii.TypeAddress]; !ok {
		t.Error("no zh_address_parsing figures")
	}
	for _, lang := range []string{"en", "zh"} {
		if k := rep.KeepFalsePositives[lang]; k.Messages != 2000 || k.Rate > 0.01 {
			t.Errorf("%s ordinary messages: %+v", lang, k)
		}
	}
	text := runCLI(t, "pii", "eval", "--data", data, "--keep", "100")
	if !strings.Contains(text, "held-out part") || !strings.Contains(text, "touched") {
		t.Errorf("text report:\n%s", text)
	}
}

// TestPIITrainIfMissing: `pii train --if-missing` writes the tagger once, leaves a good
// one alone, trains anew over an unreadable one, and serve's redactor then uses it.
func TestPIITrainIfMissing(t *testing.T) {
	data := testenv.SharedData(t, "")
	dir := t.TempDir()
	t.Setenv("SWITCHBOARD_DATA_DIR", dir)
	path := filepath.Join(dir, "pii-tagger.bin")
	runCLI(t, "pii", "train", "--if-missing", "--data", data)
	first, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if out := runCLI(t, "pii", "train", "--if-missing", "--data", data); out != "" {
		t.Errorf("a good model is left alone, yet: %s", out)
	}
	if again, _ := os.Stat(path); !again.ModTime().Equal(first.ModTime()) {
		t.Error("the model was written again")
	}
	if err := os.WriteFile(path, []byte("SBNER001 an older format"), 0o600); err != nil {
		t.Fatal(err)
	}
	runCLI(t, "pii", "train", "--if-missing", "--data", data)
	cfg := config.Default()
	cfg.DataDir = dir
	r, err := newRedactor(cfg)
	if err != nil {
		t.Fatalf("the model trained anew does not load: %v", err)
	}
	res, err := r.Redact(context.Background(), "Please ship it to 1593 Pagari 18 Suite 932, Tallinn, attention Noelle Martinsson.")
	if err != nil || !strings.Contains(res.Text, "[ADDRESS_1]") || !strings.Contains(res.Text, "[PERSON_1]") {
		t.Errorf("with the tagger: %q (%v)", res.Text, err)
	}
}

// TestBenchPII runs `bench pii --json` briefly: both text sets are timed with the tagger
// and against the cues alone. (The throughput issue 17 asks for is a figure of the
// command on a quiet machine, not a floor here.)
func TestBenchPII(t *testing.T) {
	data := testenv.SharedData(t, "")
	var rep struct {
		MB        float64 `json:"mb_per_sec_per_core"`
		Base      float64 `json:"baseline_cues_only_mb_per_sec_per_core"`
		Ratio     float64 `json:"ratio"`
		Tagger    bool    `json:"tagger"`
		Texts     int     `json:"texts"`
		Dense     float64 `json:"presidio_mb_per_sec_per_core"`
		DenseBase float64 `json:"presidio_baseline_cues_only_mb_per_sec_per_core"`
		DenseN    int     `json:"presidio_texts"`
	}
	out := runCLI(t, "bench", "pii", "--json", "--seconds", "0.2", "--data", data)
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !rep.Tagger || rep.Texts != 5000 || rep.DenseN != 1500 || rep.MB <= 0 || rep.Base <= 0 || rep.Dense <= 0 || rep.DenseBase <= 0 {
		t.Errorf("report %+v", rep)
	}
	if r := rep.MB / rep.Base; r < rep.Ratio*0.999 || r > rep.Ratio*1.001 {
		t.Errorf("ratio %.3f, figures give %.3f", rep.Ratio, r)
	}
}
