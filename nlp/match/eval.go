package match

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/switchboard-cs/switchboard/internal/par"
)

// Evaluate fits a [Matcher] on fit with opts and returns its accuracy on test.
func Evaluate(ctx context.Context, fit, test []Pair, opts Options) (float64, error) {
	m, err := Fit(ctx, fit, opts)
	if err != nil {
		return 0, err
	}
	return Accuracy(m, test), nil
}

// Accuracy is the share of pairs whose label m.Same predicts.
func Accuracy(m *Matcher, pairs []Pair) float64 {
	if len(pairs) == 0 {
		return 0
	}
	ok := par.Map(pairs, 1, func(p Pair) bool { return m.Same(p.A, p.B) == p.Same })
	n := 0
	for _, v := range ok {
		if v {
			n++
		}
	}
	return float64(n) / float64(len(pairs))
}

// evalSet names one benchmark: its result key, directory under the data root and loader.
type evalSet struct {
	key, dir string
	load     func(string) (dev, test []Pair, err error)
}

var evalSets = []evalSet{
	{"bq_acc", "bq_corpus", LoadBQ},
	{"lcqmc_acc", "lcqmc", LoadLCQMC},
	{"atec_ccks_acc", "atec_ccks", LoadATEC},
}

// EvalAll fits a Matcher on the dev split of BQ, LCQMC and ATEC+CCKS under dataDir (the
// shared data directory) — classifier and threshold alike — and returns the accuracy on
// each test split under the keys bq_acc, lcqmc_acc and atec_ccks_acc.
func EvalAll(ctx context.Context, dataDir string) (map[string]float64, error) {
	out := make(map[string]float64, len(evalSets))
	for _, s := range evalSets {
		dev, test, err := s.load(filepath.Join(dataDir, s.dir))
		if err != nil {
			return nil, err
		}
		acc, err := Evaluate(ctx, dev, test, Options{})
		if err != nil {
			return nil, fmt.Errorf("match: %s: %w", s.dir, err)
		}
		out[s.key] = acc
	}
	return out, nil
}
