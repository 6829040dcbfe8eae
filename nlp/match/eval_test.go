package match

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/internal/testenv"

	"github.com/switchboard-cs/switchboard/internal/par"
)

// TestEvalAll fits on each dev split and checks test accuracy. The floors sit just under
// the figures reached (BQ 0.752, LCQMC 0.793, ATEC+CCKS 0.792 at the default options),
// so a regression in the features or the classifier fails here.
func TestEvalAll(t *testing.T) {
	dataDir := filepath.Dir(testenv.SharedData(t, "bq_corpus"))
	start := time.Now()
	got, err := EvalAll(context.Background(), dataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("EvalAll %v in %v", got, time.Since(start).Round(time.Millisecond))
	floors := map[string]float64{"bq_acc": 0.745, "lcqmc_acc": 0.785, "atec_ccks_acc": 0.785}
	for key, floor := range floors {
		acc, ok := got[key]
		if !ok {
			t.Errorf("EvalAll lacks %s", key)
			continue
		}
		if acc < floor {
			t.Errorf("%s = %.4f, want >= %.3f", key, acc, floor)
		}
	}
}

// TestBeatsCosineBaseline checks, on each set, that the fitted matcher beats a unit
// unigram TF-IDF cosine whose threshold is tuned for accuracy on the same dev split.
func TestBeatsCosineBaseline(t *testing.T) {
	for _, set := range evalSets {
		dev, test, err := set.load(testenv.SharedData(t, set.dir))
		if err != nil {
			t.Fatal(err)
		}
		baseAcc := cosineBaseline(dev, test)
		m, err := Fit(context.Background(), dev, Options{})
		if err != nil {
			t.Fatal(err)
		}
		acc := Accuracy(m, test)
		t.Logf("%s: cosine baseline %.4f, matcher %.4f", set.key, baseAcc, acc)
		if acc < baseAcc+0.015 {
			t.Errorf("%s: matcher %.4f does not beat the cosine baseline %.4f by 0.015", set.key, acc, baseAcc)
		}
	}
}

// cosineBaseline is the test accuracy of the unigram TF-IDF cosine (IDF over dev texts)
// at the threshold that is best on dev.
func cosineBaseline(dev, test []Pair) float64 {
	idf := FitIDF(texts(dev))
	cos := func(ps []Pair) []float64 {
		return par.Map(ps, 1, func(p Pair) float64 { return idf.Similarity(p.A, p.B)[FeatCosUnigram] })
	}
	th := bestThreshold(cos(dev), labels(dev))
	n := 0
	for i, s := range cos(test) {
		if (s >= th) == test[i].Same {
			n++
		}
	}
	return float64(n) / float64(len(test))
}

func texts(ps []Pair) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.A, p.B)
	}
	return out
}

func labels(ps []Pair) []bool {
	out := make([]bool, len(ps))
	for i, p := range ps {
		out[i] = p.Same
	}
	return out
}
