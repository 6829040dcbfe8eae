package quality

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// Labelled is an agent reply of an evaluation set with what a reviewer said of it.
type Labelled struct {
	ID       string          `json:"id"`
	Lang     string          `json:"lang"`
	Position Position        `json:"position"`
	Text     string          `json:"text"`
	Labels   map[string]bool `json:"labels"`
}

// The labels of an evaluation set: what a reply does, whatever its position (a reply
// greets or not; whether it had to is the position's business).
var Labels = []string{"greeting", "closing", "empathy", "promise", "rude", "pii"}

// LoadLabelled reads an evaluation set (JSON lines). Every line must carry every label.
func LoadLabelled(path string) ([]Labelled, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var set []Labelled
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var l Labelled
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		for _, name := range Labels {
			if _, ok := l.Labels[name]; !ok {
				return nil, fmt.Errorf("%s:%d (%s): no %q label", path, n, l.ID, name)
			}
		}
		set = append(set, l)
	}
	return set, sc.Err()
}

// Tally is a binary classifier's counts against labels, and its precision and recall.
type Tally struct {
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	FN        int     `json:"fn"`
	TN        int     `json:"tn"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
}

func (t *Tally) add(predicted, actual bool) {
	switch {
	case predicted && actual:
		t.TP++
	case predicted:
		t.FP++
	case actual:
		t.FN++
	default:
		t.TN++
	}
}

func (t *Tally) finish() {
	if t.TP+t.FP > 0 {
		t.Precision = float64(t.TP) / float64(t.TP+t.FP)
	}
	if t.TP+t.FN > 0 {
		t.Recall = float64(t.TP) / float64(t.TP+t.FN)
	}
}

// Miss is a reply a check got wrong.
type Miss struct {
	ID        string `json:"id"`
	Label     string `json:"label"`
	Predicted bool   `json:"predicted"`
	Text      string `json:"text"`
}

// Report is an evaluation: per label and language ("en", "zh", "all"), the tally.
type Report struct {
	Replies int                         `json:"replies"`
	Labels  map[string]map[string]Tally `json:"labels"`
	Misses  []Miss                      `json:"misses,omitempty"`
}

// Evaluate runs c over a labelled set. Each reply is checked as a conversation's only
// reply, so that greeting and closing are looked for in every one.
func Evaluate(ctx context.Context, c *Checker, set []Labelled) (Report, error) {
	rep := Report{Replies: len(set), Labels: map[string]map[string]Tally{}}
	for _, name := range Labels {
		rep.Labels[name] = map[string]Tally{}
	}
	for _, l := range set {
		res, err := c.Check(ctx, Reply{Text: l.Text, Position: Only})
		if err != nil {
			return Report{}, fmt.Errorf("%s: %w", l.ID, err)
		}
		predicted := map[string]bool{
			"greeting": !res.Has(MissingGreeting), "closing": !res.Has(MissingClosing), "empathy": res.Has(Empathy),
			"promise": res.Has(Promise), "rude": res.Has(Rude), "pii": res.Has(PII),
		}
		for _, name := range Labels {
			for _, lang := range []string{l.Lang, "all"} {
				t := rep.Labels[name][lang]
				t.add(predicted[name], l.Labels[name])
				rep.Labels[name][lang] = t
			}
			if predicted[name] != l.Labels[name] {
				rep.Misses = append(rep.Misses, Miss{ID: l.ID, Label: name, Predicted: predicted[name], Text: l.Text})
			}
		}
	}
	for _, name := range Labels {
		for lang, t := range rep.Labels[name] {
			t.finish()
			rep.Labels[name][lang] = t
		}
	}
	slices.SortStableFunc(rep.Misses, func(a, b Miss) int {
		return slices.Index(Labels, a.Label) - slices.Index(Labels, b.Label)
	})
	return rep, nil
}
