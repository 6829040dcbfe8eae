package sentiment

import (
	"context"

	"github.com/switchboard-cs/switchboard/internal/par"
)

// Eval is how well the model's polarity (negative when [Model.Negativity] > 0.5) matches
// a labelled set.
type Eval struct {
	N        int        `json:"n"`
	Accuracy float64    `json:"accuracy"`
	LogLoss  float64    `json:"log_loss"` // mean cross-entropy of Negativity against the labels
	Negative ClassScore `json:"negative"`
	Positive ClassScore `json:"positive"`
}

// ClassScore is one class's precision and recall; Support is its number of gold
// examples.
type ClassScore struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	Support   int     `json:"support"`
}

// Evaluate scores the model on labelled examples, each through Negativity (so by its
// script's classifier). It returns ctx's error if ctx has ended.
func (m *Model) Evaluate(ctx context.Context, examples []Example) (Eval, error) {
	if err := ctx.Err(); err != nil {
		return Eval{}, err
	}
	p := par.Map(examples, 256, func(e Example) float64 { return m.Negativity(e.Text) })
	var tp, fp, tn, fn int // "positive" of the confusion counts is the negative class
	var loss float64
	for i, e := range examples {
		loss += logLoss(p[i], e.Negative)
		neg := p[i] > 0.5
		switch {
		case e.Negative && neg:
			tp++
		case e.Negative:
			fn++
		case neg:
			fp++
		default:
			tn++
		}
	}
	return Eval{
		N:        len(examples),
		Accuracy: ratio(tp+tn, len(examples)),
		LogLoss:  loss / float64(max(1, len(examples))),
		Negative: ClassScore{Precision: ratio(tp, tp+fp), Recall: ratio(tp, tp+fn), Support: tp + fn},
		Positive: ClassScore{Precision: ratio(tn, tn+fn), Recall: ratio(tn, tn+fp), Support: tn + fp},
	}, nil
}

// evaluateSets evaluates each set and all of them together.
func (m *Model) evaluateSets(ctx context.Context, sets []Set) (Eval, []NamedEval, error) {
	var all []Example
	var each []NamedEval
	for _, s := range sets {
		ev, err := m.Evaluate(ctx, s.Examples)
		if err != nil {
			return Eval{}, nil, err
		}
		each = append(each, NamedEval{Name: s.Name, Eval: ev})
		all = append(all, s.Examples...)
	}
	total, err := m.Evaluate(ctx, all)
	return total, each, err
}

// ratio is a/b, 0 when b is 0.
func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
