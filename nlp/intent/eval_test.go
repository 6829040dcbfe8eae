package intent

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// Figures the shared-data evaluations must keep (measured values in the comments; the
// floors sit a little below them so that a regression fails the test).
const (
	minBanking77Acc     = 0.918 // measured 0.9201; issue target 0.92, sklearn baseline 0.912
	minCLINCInScopeAcc  = 0.912 // measured 0.9169 at the recall-constrained threshold
	minCLINCOOSRecall   = 0.745 // measured 0.761 there; issue target 0.75, baseline 0.68
	maxEvalTrainingTime = 30 * time.Second
)

func TestBanking77(t *testing.T) {
	dir := testenv.SharedData(t, "banking77")
	train, test, err := LoadBanking77(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(train) != 10003 || len(test) != 3080 {
		t.Fatalf("banking77: %d train / %d test examples, want 10003 / 3080", len(train), len(test))
	}
	start := time.Now()
	c, err := Train(context.Background(), train, Options{})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	acc := Accuracy(c, test)
	t.Logf("banking77: %d labels, %d features, trained in %v, test accuracy %.4f", len(c.Labels()), len(c.vec.idf), took.Round(time.Millisecond), acc)
	if len(c.Labels()) != 77 {
		t.Errorf("banking77: %d labels, want 77", len(c.Labels()))
	}
	if acc < minBanking77Acc {
		t.Errorf("banking77 test accuracy %.4f < %.3f", acc, minBanking77Acc)
	}
	if took > maxEvalTrainingTime {
		t.Errorf("banking77 training took %v > %v", took, maxEvalTrainingTime)
	}
}

func TestCLINC150(t *testing.T) {
	dir := testenv.SharedData(t, "clinc150")
	start := time.Now()
	r, err := EvalCLINC150(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("clinc150 (train + 3 sweeps) in %v", time.Since(start).Round(time.Millisecond))
	t.Logf("clinc150 in-scope accuracy without threshold: %.4f", r.TestInScopeAccNoThreshold)
	t.Logf("clinc150 balanced threshold: %+v", r.Balanced)
	t.Logf("clinc150 threshold at val OOS recall ≥ %.2f: %+v", DefaultMinValOOSRecall, r.AtRecall)
	if r.AtRecall.TestInScopeAcc < minCLINCInScopeAcc || r.AtRecall.TestOOSRecall < minCLINCOOSRecall {
		t.Errorf("clinc150 at threshold %.3f: in-scope %.4f (want ≥ %.3f), OOS recall %.4f (want ≥ %.3f)",
			r.AtRecall.Threshold, r.AtRecall.TestInScopeAcc, minCLINCInScopeAcc, r.AtRecall.TestOOSRecall, minCLINCOOSRecall)
	}
	if r.Balanced.TestOOSRecall < r.AtRecall.TestOOSRecall {
		t.Errorf("balanced threshold rejects less OOS (%.4f) than the recall-constrained one (%.4f)", r.Balanced.TestOOSRecall, r.AtRecall.TestOOSRecall)
	}
}

func TestLoadCLINC150Splits(t *testing.T) {
	dir := testenv.SharedData(t, "clinc150")
	train, val, test, err := LoadCLINC150(dir)
	if err != nil {
		t.Fatal(err)
	}
	count := func(xs []Example) [2]int {
		var n [2]int
		for _, ex := range xs {
			if ex.Label == OutOfScope {
				n[1]++
			} else {
				n[0]++
			}
		}
		return n
	}
	got := [][2]int{count(train), count(val), count(test)}
	want := [][2]int{{15000, 100}, {3000, 100}, {4500, 1000}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("in-scope/OOS counts per split mismatch (-want +got):\n%s", diff)
	}
}

func TestRates(t *testing.T) {
	s := []scored{
		{conf: 0.9, correct: true}, {conf: 0.4, correct: true}, {conf: 0.8, correct: false},
		{conf: 0.3, oos: true}, {conf: 0.7, oos: true},
	}
	tests := []struct {
		th          float64
		wantIn      float64
		wantOOSRecl float64
	}{
		{0, 2.0 / 3, 0},
		{0.5, 1.0 / 3, 0.5},
		{0.75, 1.0 / 3, 1},
		{0.95, 0, 1},
	}
	for _, tt := range tests {
		in, oos := rates(s, tt.th)
		if diff := cmp.Diff([2]float64{tt.wantIn, tt.wantOOSRecl}, [2]float64{in, oos}); diff != "" {
			t.Errorf("rates(th=%v) mismatch (-want +got):\n%s", tt.th, diff)
		}
	}
	if diff := cmp.Diff([]float64{0, 0.3, 0.4, 0.7, 0.8, 0.9, 1.0000000000000002}, thresholds(s)); diff != "" {
		t.Errorf("thresholds mismatch (-want +got):\n%s", diff)
	}
}

func BenchmarkPredictBanking77(b *testing.B) {
	train, test, err := LoadBanking77(testenv.SharedData(b, "banking77"))
	if err != nil {
		b.Fatal(err)
	}
	c, err := Train(context.Background(), train, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Predict(test[i%len(test)].Text)
		i++
	}
}
