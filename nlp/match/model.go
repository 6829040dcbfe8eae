package match

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/switchboard-cs/switchboard/internal/par"
)

// Errors returned by [Fit].
var (
	// ErrNoPairs means Fit got no pairs, or pairs of only one label.
	ErrNoPairs = errors.New("match: need labelled pairs of both kinds")
	// ErrBadOptions means an [Options] field is out of range.
	ErrBadOptions = errors.New("match: invalid options")
)

// Pair is two questions and whether they mean the same thing.
type Pair struct {
	A, B string
	Same bool
}

// Options tune [Fit]; a zero field takes its default.
type Options struct {
	Epochs       int     // SGD passes over the pairs (default 8)
	LearningRate float64 // AdaGrad step size (default 0.01)
	L2           float64 // L2 penalty per update on the touched weights (default 1e-5)
	Folds        int     // folds of the out-of-fold scores the threshold is tuned on (default 5)
	Bins         int     // quantile bins per similarity feature (default 8)
	HashBits     int     // log2 of the hashed unshared-term space (default 18)
	Seed         uint64  // shuffling seed; the same seed and pairs give the same Matcher
}

// Defaults for a zero [Options] field.
const (
	defaultEpochs   = 8
	defaultLR       = 0.01
	defaultL2       = 1e-5
	defaultFolds    = 5
	defaultBins     = 8
	defaultHashBits = 18
)

// withDefaults fills the zero fields of o and checks the ranges.
func (o Options) withDefaults() (Options, error) {
	if o.Epochs < 0 || o.LearningRate < 0 || o.L2 < 0 || o.Folds < 0 || o.Folds == 1 ||
		o.Bins < 0 || o.HashBits < 0 || o.HashBits > 24 {
		return o, fmt.Errorf("%w: %+v", ErrBadOptions, o)
	}
	o.Epochs = cmpOr(o.Epochs, defaultEpochs)
	o.LearningRate = cmpOr(o.LearningRate, defaultLR)
	o.L2 = cmpOr(o.L2, defaultL2)
	o.Folds = cmpOr(o.Folds, defaultFolds)
	o.Bins = cmpOr(o.Bins, defaultBins)
	o.HashBits = cmpOr(o.HashBits, defaultHashBits)
	return o, nil
}

func cmpOr[T int | float64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Matcher decides whether two questions mean the same thing. It is safe for concurrent
// use once returned by [Fit].
type Matcher struct {
	idf       *IDF
	enc       *encoder
	model     *logistic
	threshold float64
}

// Fit fits the IDF on the texts of pairs, fits the classifier on the labelled pairs, and
// tunes the decision threshold for accuracy on out-of-fold scores of the same pairs.
func Fit(ctx context.Context, pairs []Pair, opts Options) (*Matcher, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if !bothLabels(pairs) {
		return nil, ErrNoPairs
	}
	texts := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		texts = append(texts, p.A, p.B)
	}
	idf := FitIDF(texts)
	dense := par.Map(pairs, 1, func(p Pair) []float64 { return idf.Similarity(p.A, p.B) })
	enc := newEncoder(dense, o.Bins, o.HashBits)
	xs := make([]sparse, len(pairs))
	for i, p := range pairs {
		xs[i] = enc.encode(dense[i], p.A, p.B)
	}
	y := make([]bool, len(pairs))
	for i, p := range pairs {
		y[i] = p.Same
	}
	th, err := tuneThreshold(ctx, xs, y, enc.dim, o)
	if err != nil {
		return nil, err
	}
	model, err := train(ctx, xs, y, enc.dim, o)
	if err != nil {
		return nil, err
	}
	return &Matcher{idf: idf, enc: enc, model: model, threshold: th}, nil
}

// bothLabels reports whether pairs hold at least one positive and one negative.
func bothLabels(pairs []Pair) bool {
	var pos, neg bool
	for _, p := range pairs {
		pos, neg = pos || p.Same, neg || !p.Same
	}
	return pos && neg
}

// Score returns the probability the classifier gives that a and b mean the same thing.
func (m *Matcher) Score(a, b string) float64 {
	return m.model.prob(m.enc.encode(m.idf.Similarity(a, b), a, b))
}

// Same reports whether Score(a, b) reaches the tuned threshold.
func (m *Matcher) Same(a, b string) bool { return m.Score(a, b) >= m.threshold }

// Threshold returns the decision threshold on [Matcher.Score].
func (m *Matcher) Threshold() float64 { return m.threshold }

// tuneThreshold trains on all folds but one, scores the held-out fold, and returns the
// threshold with the highest accuracy over all out-of-fold scores.
func tuneThreshold(ctx context.Context, xs []sparse, y []bool, dim int, o Options) (float64, error) {
	scores := make([]float64, len(xs))
	errs := make([]error, o.Folds)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for k := range o.Folds {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var trX []sparse
			var trY []bool
			for i := range xs {
				if i%o.Folds != k {
					trX, trY = append(trX, xs[i]), append(trY, y[i])
				}
			}
			m, err := train(ctx, trX, trY, dim, o)
			if err != nil {
				errs[k] = err
				return
			}
			for i := k; i < len(xs); i += o.Folds {
				scores[i] = m.prob(xs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return bestThreshold(scores, y), nil
}

// bestThreshold returns the cut between sorted scores that classifies the most pairs
// correctly as "same when score ≥ threshold"; ties keep the lowest such cut.
func bestThreshold(scores []float64, y []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpFloat(scores[a], scores[b]) })
	correct := 0 // everything predicted same
	for _, same := range y {
		if same {
			correct++
		}
	}
	best, bestTh := correct, 0.0
	for k, i := range idx {
		if y[i] {
			correct--
		} else {
			correct++
		}
		if k+1 < len(idx) && scores[idx[k+1]] == scores[i] {
			continue
		}
		if correct > best {
			best, bestTh = correct, math.Nextafter(scores[i], math.Inf(1))
			if k+1 < len(idx) {
				bestTh = (scores[i] + scores[idx[k+1]]) / 2
			}
		}
	}
	return bestTh
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// logistic is a binary logistic regression over sparse inputs.
type logistic struct {
	w    []float64
	bias float64
}

// prob is the predicted probability of "same" for x.
func (l *logistic) prob(x sparse) float64 {
	z := l.bias
	for k, i := range x.idx {
		z += l.w[i] * float64(x.val[k])
	}
	return 1 / (1 + math.Exp(-z))
}

// train fits a logistic regression with AdaGrad SGD in a seeded shuffled order.
func train(ctx context.Context, xs []sparse, y []bool, dim int, o Options) (*logistic, error) {
	l := &logistic{w: make([]float64, dim)}
	g2 := make([]float64, dim)
	var b2 float64
	order := make([]int, len(xs))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x6d61746368))
	for range o.Epochs {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("match: fit: %w", err)
		}
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			g := l.prob(xs[i]) - label(y[i])
			for k, j := range xs[i].idx {
				gj := g*float64(xs[i].val[k]) + o.L2*l.w[j]
				g2[j] += gj * gj
				l.w[j] -= o.LearningRate * gj / math.Sqrt(g2[j]+1e-8)
			}
			b2 += g * g
			l.bias -= o.LearningRate * g / math.Sqrt(b2+1e-8)
		}
	}
	return l, nil
}

// label is 1 for a pair of the same meaning and 0 otherwise.
func label(same bool) float64 {
	if same {
		return 1
	}
	return 0
}
