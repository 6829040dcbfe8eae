package intent

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// OutOfScope is the CLINC150 label of queries no in-scope intent covers.
const OutOfScope = "oos"

// ErrBadData means an evaluation file does not have the expected format.
var ErrBadData = errors.New("intent: unexpected data format")

// LoadBanking77 reads BANKING77's train.csv and test.csv (header text,category) from dir.
func LoadBanking77(dir string) (train, test []Example, err error) {
	if train, err = readBankingCSV(filepath.Join(dir, "train.csv")); err != nil {
		return nil, nil, err
	}
	if test, err = readBankingCSV(filepath.Join(dir, "test.csv")); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// readBankingCSV reads one BANKING77 split.
func readBankingCSV(path string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("intent: banking77: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 2
	head, err := r.Read()
	if err != nil || head[0] != "text" || head[1] != "category" {
		return nil, fmt.Errorf("%w: %s: header %v, %v", ErrBadData, path, head, err)
	}
	var out []Example
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadData, path, err)
		}
		out = append(out, Example{Text: rec[0], Label: rec[1]})
	}
}

// LoadCLINC150 reads CLINC150's data_full.json from dir. Each split holds its in-scope
// examples followed by its out-of-scope ones, labelled [OutOfScope].
func LoadCLINC150(dir string) (train, val, test []Example, err error) {
	raw, err := os.ReadFile(filepath.Join(dir, "data_full.json"))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("intent: clinc150: %w", err)
	}
	var splits map[string][][2]string
	if err := json.Unmarshal(raw, &splits); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: clinc150: %v", ErrBadData, err)
	}
	join := func(name string) []Example {
		var out []Example
		for _, key := range []string{name, "oos_" + name} {
			for _, pair := range splits[key] {
				out = append(out, Example{Text: pair[0], Label: pair[1]})
			}
		}
		return out
	}
	train, val, test = join("train"), join("val"), join("test")
	if len(train) == 0 || len(val) == 0 || len(test) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: clinc150: empty split", ErrBadData)
	}
	return train, val, test, nil
}

// Accuracy returns the share of test examples whose predicted label is their label.
func Accuracy(c *Classifier, test []Example) float64 {
	if len(test) == 0 {
		return 0
	}
	hits := 0
	for _, ex := range test {
		if c.Predict(ex.Text).Label == ex.Label {
			hits++
		}
	}
	return float64(hits) / float64(len(test))
}

// OOSResult is the outcome of an out-of-scope threshold sweep: a prediction whose
// confidence is below Threshold counts as [OutOfScope].
type OOSResult struct {
	Threshold      float64 // chosen on the validation split
	ValInScopeAcc  float64 // in-scope accuracy on validation at Threshold
	ValOOSRecall   float64 // share of validation OOS examples rejected at Threshold
	TestInScopeAcc float64 // in-scope accuracy on test at Threshold
	TestOOSRecall  float64 // share of test OOS examples rejected at Threshold
}

// scored is one example's top prediction, for threshold sweeps.
type scored struct {
	conf    float64
	correct bool // top label equals the gold in-scope label
	oos     bool // gold label is OutOfScope
}

// scoreAll predicts every example once.
func scoreAll(c *Classifier, examples []Example) []scored {
	out := make([]scored, len(examples))
	for i, ex := range examples {
		p := c.Predict(ex.Text)
		out[i] = scored{conf: p.Confidence, correct: p.Label == ex.Label, oos: ex.Label == OutOfScope}
	}
	return out
}

// rates returns in-scope accuracy and OOS recall of s at threshold th.
func rates(s []scored, th float64) (inAcc, oosRecall float64) {
	var in, inHit, oos, oosHit int
	for _, e := range s {
		if e.oos {
			oos++
			if e.conf < th {
				oosHit++
			}
			continue
		}
		in++
		if e.correct && e.conf >= th {
			inHit++
		}
	}
	return ratio(inHit, in), ratio(oosHit, oos)
}

// ratio is a/b, or 0 when b is 0.
func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// SweepOOS picks the confidence threshold that maximises in-scope accuracy + OOS recall
// on val (candidates: every distinct validation confidence) and reports both figures on
// val and test at that threshold. c should be trained on in-scope examples only.
func SweepOOS(c *Classifier, val, test []Example) OOSResult {
	vs := scoreAll(c, val)
	best, bestScore := 0.0, -1.0
	for _, th := range thresholds(vs) {
		in, oos := rates(vs, th)
		if in+oos > bestScore {
			best, bestScore = th, in+oos
		}
	}
	return report(best, vs, scoreAll(c, test))
}

// SweepOOSAtRecall picks the confidence threshold with the best in-scope accuracy on val
// among those whose val OOS recall is at least minRecall (the lowest such threshold),
// and reports both figures on val and test at that threshold. If no threshold reaches
// minRecall, the one with the highest recall is used.
func SweepOOSAtRecall(c *Classifier, val, test []Example, minRecall float64) OOSResult {
	vs := scoreAll(c, val)
	ths := thresholds(vs)
	best := ths[len(ths)-1]
	for _, th := range ths {
		if _, oos := rates(vs, th); oos >= minRecall {
			best = th
			break
		}
	}
	return report(best, vs, scoreAll(c, test))
}

// thresholds returns 0 and every distinct confidence in s, ascending, plus one value
// above them all (reject everything).
func thresholds(s []scored) []float64 {
	out := []float64{0, math.Nextafter(1, 2)}
	for _, e := range s {
		out = append(out, e.conf)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// report evaluates val and test at threshold th.
func report(th float64, val, test []scored) OOSResult {
	r := OOSResult{Threshold: th}
	r.ValInScopeAcc, r.ValOOSRecall = rates(val, th)
	r.TestInScopeAcc, r.TestOOSRecall = rates(test, th)
	return r
}

// InScope returns the examples whose label is not [OutOfScope].
func InScope(examples []Example) []Example {
	var out []Example
	for _, ex := range examples {
		if ex.Label != OutOfScope {
			out = append(out, ex)
		}
	}
	return out
}

// EvalBanking77 trains on BANKING77's train split in dir and returns test accuracy.
func EvalBanking77(ctx context.Context, dir string, opts Options) (float64, error) {
	train, test, err := LoadBanking77(dir)
	if err != nil {
		return 0, err
	}
	c, err := Train(ctx, train, opts)
	if err != nil {
		return 0, err
	}
	return Accuracy(c, test), nil
}

// DefaultMinValOOSRecall is the validation OOS recall [EvalCLINC150] asks of its
// recall-constrained threshold: the 0.75 target plus a margin, because CLINC150's
// validation split has only 100 out-of-scope queries (a standard error near 0.04).
const DefaultMinValOOSRecall = 0.80

// CLINC150Result reports a CLINC150 evaluation.
type CLINC150Result struct {
	// TestInScopeAccNoThreshold is test in-scope accuracy without OOS rejection.
	TestInScopeAccNoThreshold float64
	// Balanced uses the threshold of [SweepOOS] (max in-scope accuracy + OOS recall).
	Balanced OOSResult
	// AtRecall uses the threshold of [SweepOOSAtRecall] with DefaultMinValOOSRecall.
	AtRecall OOSResult
}

// EvalCLINC150 trains on CLINC150's in-scope train examples in dir, picks OOS
// thresholds on val and reports test in-scope accuracy and OOS recall at them.
func EvalCLINC150(ctx context.Context, dir string, opts Options) (CLINC150Result, error) {
	train, val, test, err := LoadCLINC150(dir)
	if err != nil {
		return CLINC150Result{}, err
	}
	c, err := Train(ctx, InScope(train), opts)
	if err != nil {
		return CLINC150Result{}, err
	}
	return CLINC150Result{
		TestInScopeAccNoThreshold: Accuracy(c, InScope(test)),
		Balanced:                  SweepOOS(c, val, test),
		AtRecall:                  SweepOOSAtRecall(c, val, test, DefaultMinValOOSRecall),
	}, nil
}
