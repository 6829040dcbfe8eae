package match

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// synthPairs builds pairs where "same" pairs differ only by a question-word paraphrase
// and "different" pairs swap the product name.
func synthPairs() []Pair {
	products := []string{"花呗", "借呗", "余额宝", "信用卡", "微粒贷", "账户"}
	actions := []string{"还款", "开通", "提额", "注销", "逾期", "冻结", "解绑", "转账"}
	var pairs []Pair
	for i, p := range products {
		for j, a := range actions {
			q := p + "怎么" + a
			pairs = append(pairs, Pair{A: q, B: "如何" + a + p, Same: true})
			other := products[(i+j+1)%len(products)]
			pairs = append(pairs, Pair{A: q, B: other + "怎么" + a, Same: false})
		}
	}
	return pairs
}

func TestFitErrors(t *testing.T) {
	ctx := context.Background()
	onlySame := []Pair{{A: "a", B: "a", Same: true}, {A: "b", B: "b", Same: true}}
	tests := []struct {
		name  string
		pairs []Pair
		opts  Options
		want  error
	}{
		{"no pairs", nil, Options{}, ErrNoPairs},
		{"one label", onlySame, Options{}, ErrNoPairs},
		{"one fold", synthPairs(), Options{Folds: 1}, ErrBadOptions},
		{"negative epochs", synthPairs(), Options{Epochs: -1}, ErrBadOptions},
		{"huge hash", synthPairs(), Options{HashBits: 30}, ErrBadOptions},
	}
	for _, tc := range tests {
		if _, err := Fit(ctx, tc.pairs, tc.opts); !errors.Is(err, tc.want) {
			t.Errorf("%s: Fit error = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestFitCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Fit(ctx, synthPairs(), Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Fit on cancelled ctx: %v, want context.Canceled", err)
	}
}

func TestFitSeparatesSynthetic(t *testing.T) {
	pairs := synthPairs()
	m, err := Fit(context.Background(), pairs, Options{Epochs: 30, LearningRate: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if acc := Accuracy(m, pairs); acc < 0.95 {
		t.Errorf("training accuracy %.3f, want >= 0.95", acc)
	}
	same, diff := m.Score("花呗怎么还款", "如何还款花呗"), m.Score("花呗怎么还款", "借呗怎么还款")
	if same <= diff {
		t.Errorf("Score(paraphrase) = %.3f <= Score(other product) = %.3f", same, diff)
	}
	if !m.Same("余额宝怎么转账", "如何转账余额宝") || m.Same("余额宝怎么转账", "信用卡怎么转账") {
		t.Errorf("Same misclassifies simple pairs (threshold %.3f)", m.Threshold())
	}
}

func TestFitDeterministic(t *testing.T) {
	pairs := synthPairs()
	scores := func() []float64 {
		m, err := Fit(context.Background(), pairs, Options{Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		out := []float64{m.Threshold()}
		for _, p := range pairs {
			out = append(out, m.Score(p.A, p.B))
		}
		return out
	}
	if diff := cmp.Diff(scores(), scores()); diff != "" {
		t.Errorf("two fits with the same seed differ:\n%s", diff)
	}
}

func TestBestThreshold(t *testing.T) {
	tests := []struct {
		scores []float64
		y      []bool
		want   float64
	}{
		{[]float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}, 0.5},
		{[]float64{0.1, 0.2, 0.8, 0.9}, []bool{true, true, true, true}, 0},
		{[]float64{0.3, 0.3, 0.6, 0.7}, []bool{false, false, false, true}, 0.65},
		{[]float64{0.5, 0.5, 0.9}, []bool{false, true, true}, 0},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if got := bestThreshold(tc.scores, tc.y); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("bestThreshold(%v, %v) = %v, want %v", tc.scores, tc.y, got, tc.want)
			}
		})
	}
}

func TestQuantileCuts(t *testing.T) {
	xs := []float64{0, 0, 0, 0, 1, 2, 3, 4}
	if diff := cmp.Diff([]float64{0, 1, 3}, quantileCuts(xs, 4)); diff != "" {
		t.Errorf("quantileCuts (-want +got):\n%s", diff)
	}
}
