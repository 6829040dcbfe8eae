package quality

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/nlp/sentiment/sentimenttest"
)

func TestEvaluateTallies(t *testing.T) {
	no := map[string]bool{"greeting": false, "closing": false, "empathy": false, "promise": false, "rude": false, "pii": false}
	with := func(k string) map[string]bool {
		m := map[string]bool{}
		for l, v := range no {
			m[l] = v
		}
		m[k] = true
		return m
	}
	set := []Labelled{
		{ID: "a", Lang: "en", Text: "Hello there!", Labels: with("greeting")},            // TP greeting
		{ID: "b", Lang: "en", Text: "I guarantee it.", Labels: no},                       // FP promise
		{ID: "c", Lang: "zh", Text: "明天到。", Labels: with("promise")},                     // FN promise
		{ID: "d", Lang: "zh", Text: "您好，我保证明天到。", Labels: with("promise")},               // TP promise; FN greeting (label says no greeting: FP)
		{ID: "e", Lang: "en", Text: "Bye now, have a good day", Labels: with("closing")}, // TP closing
	}
	set[3].Labels["greeting"] = true
	rep, err := Evaluate(context.Background(), NewChecker(DefaultRules(), nil), set)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Tally{"promise": rep.Labels["promise"]["all"], "greeting": rep.Labels["greeting"]["all"],
		"promise/zh": rep.Labels["promise"]["zh"]}
	want := map[string]Tally{
		"promise":    {TP: 1, FP: 1, FN: 1, TN: 2, Precision: 0.5, Recall: 0.5},
		"greeting":   {TP: 2, TN: 3, Precision: 1, Recall: 1},
		"promise/zh": {TP: 1, FN: 1, Precision: 1, Recall: 0.5},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tallies (-want +got):\n%s", diff)
	}
	if len(rep.Misses) != 2 || rep.Misses[0].ID != "b" || rep.Misses[1].ID != "c" {
		t.Errorf("misses %+v, want b (promise predicted) and c (promise missed)", rep.Misses)
	}
}

// minimum precision and recall per label on the project's labelled set of agent
// replies (testdata/agent_replies.jsonl; docs/benchmarks.md "Quality inspection" has
// the measured figures): a regression guard a little below what the rules measured the
// first time they met the set (the cues were written before it). Rudeness has few
// fixed phrases; the lexicon finds a quarter of it, which a trained model is to raise.
var evalFloor = map[string][2]float64{
	"greeting": {0.85, 0.95}, "closing": {0.85, 0.85}, "empathy": {0.90, 0.70},
	"promise": {0.80, 0.80}, "rude": {0.90, 0.20}, "pii": {0.85, 0.75},
}

// modelRudeFloor is the floor of rude's precision and recall with the model.
var modelRudeFloor = [2]float64{0.5, 0.25}

func TestLabelledAgentReplies(t *testing.T) {
	set, err := LoadLabelled(filepath.Join("testdata", "agent_replies.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	langs := map[string]int{}
	for _, l := range set {
		langs[l.Lang]++
	}
	if len(set) < 200 || langs["en"] < 100 || langs["zh"] < 100 {
		t.Fatalf("the labelled set has %d replies (%v); want 200 or more, 100 or more of each language", len(set), langs)
	}
	rep, err := Evaluate(context.Background(), NewChecker(DefaultRules(), pii.NewRedactor()), set)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-9s %-4s %5s %5s %4s %4s %4s %4s\n", "label", "lang", "P", "R", "tp", "fp", "fn", "tn")
	for _, name := range Labels {
		for _, lang := range []string{"en", "zh", "all"} {
			tl := rep.Labels[name][lang]
			fmt.Fprintf(&b, "%-9s %-4s %5.2f %5.2f %4d %4d %4d %4d\n", name, lang, tl.Precision, tl.Recall, tl.TP, tl.FP, tl.FN, tl.TN)
		}
	}
	t.Logf("%d replies:\n%s", rep.Replies, b.String())
	if testing.Verbose() {
		for _, m := range rep.Misses {
			t.Logf("miss %s %s predicted=%v: %s", m.ID, m.Label, m.Predicted, m.Text)
		}
	}
	for name, floor := range evalFloor {
		tl := rep.Labels[name]["all"]
		if tl.Precision < floor[0] || tl.Recall < floor[1] {
			t.Errorf("%s: precision %.2f recall %.2f, want ≥ %.2f and ≥ %.2f", name, tl.Precision, tl.Recall, floor[0], floor[1])
		}
	}
}

// TestLabelledAgentRepliesWithModel: the same labelled replies, checked as serve checks
// them when the trained sentiment model is loaded (quality.sentiment_model): the model
// reads rudeness the cues miss. Its rude precision and recall are logged; they must not
// fall below the cues' alone, nor below the floors.
func TestLabelledAgentRepliesWithModel(t *testing.T) {
	set, err := LoadLabelled(filepath.Join("testdata", "agent_replies.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	model := sentimenttest.Model(t)
	ctx := context.Background()
	rules := NewChecker(DefaultRules(), pii.NewRedactor())
	base, err := Evaluate(ctx, rules, set)
	if err != nil {
		t.Fatal(err)
	}
	withModel, err := Evaluate(ctx, rules.WithHostility(model, 0), set)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, lang := range []string{"en", "zh", "all"} {
		r, m := base.Labels["rude"][lang], withModel.Labels["rude"][lang]
		fmt.Fprintf(&b, "rude %-3s cues P %.2f R %.2f · cues+model P %.2f R %.2f (tp %d fp %d fn %d)\n", lang, r.Precision, r.Recall,
			m.Precision, m.Recall, m.TP, m.FP, m.FN)
	}
	t.Logf("at hostility %.2f:\n%s", DefaultHostility, b.String())
	if testing.Verbose() {
		for _, m := range withModel.Misses {
			if m.Label == "rude" {
				t.Logf("miss %s predicted=%v: %s", m.ID, m.Predicted, m.Text)
			}
		}
	}
	r, m := base.Labels["rude"]["all"], withModel.Labels["rude"]["all"]
	if m.Recall < r.Recall || m.Precision < modelRudeFloor[0] || m.Recall < modelRudeFloor[1] {
		t.Errorf("rude with the model: precision %.2f recall %.2f; want recall ≥ the cues' %.2f, precision ≥ %.2f, recall ≥ %.2f",
			m.Precision, m.Recall, r.Recall, modelRudeFloor[0], modelRudeFloor[1])
	}
	for _, name := range Labels {
		if name != "rude" && withModel.Labels[name]["all"] != base.Labels[name]["all"] {
			t.Errorf("%s changed with the model: it reads rudeness only", name)
		}
	}
}
