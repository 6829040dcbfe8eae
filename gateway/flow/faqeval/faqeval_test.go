package faqeval

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/nlp/intent"
	"github.com/switchboard-cs/switchboard/nlp/pii"
)

var train = []intent.Example{
	{Text: "where is my new card", Label: "card_arrival"}, {Text: "my card has not arrived yet", Label: "card_arrival"},
	{Text: "card still not delivered", Label: "card_arrival"},
	{Text: "I want my money back", Label: "refund"}, {Text: "how do I get a refund", Label: "refund"},
	{Text: "refund for my order please", Label: "refund"},
	{Text: "i forgot my password", Label: "password"}, {Text: "reset my password", Label: "password"},
	{Text: "what is the meaning of life", Label: intent.OutOfScope},
}

// TestFAQDrawsKPerIntent: the FAQ has one entry per in-scope intent with k of its
// examples, the same for the same seed.
func TestFAQDrawsKPerIntent(t *testing.T) {
	raw, n := FAQ(train, 2, 7)
	var faq []struct {
		Questions []string
		Answer    string
	}
	if err := json.Unmarshal(raw, &faq); err != nil {
		t.Fatal(err)
	}
	if n != 3 || len(faq) != 3 {
		t.Fatalf("%d entries (%d intents), want 3", len(faq), n)
	}
	for _, e := range faq {
		if len(e.Questions) != 2 {
			t.Errorf("%s: %d questions, want 2", e.Answer, len(e.Questions))
		}
	}
	again, _ := FAQ(train, 2, 7)
	if diff := cmp.Diff(string(raw), string(again)); diff != "" {
		t.Errorf("the same seed drew another FAQ:\n%s", diff)
	}
}

// TestRunThroughTheFlow: test questions go through the flow's steps over the few-shot
// FAQ; in-scope ones answered with their entry count, an out-of-scope one is escalated.
func TestRunThroughTheFlow(t *testing.T) {
	test := []intent.Example{
		{Text: "my card has still not arrived", Label: "card_arrival"},
		{Text: "please refund my order", Label: "refund"},
		{Text: "how tall is the eiffel tower", Label: intent.OutOfScope},
	}
	o := Options{Dir: t.TempDir(),
		Ingest: func(ctx context.Context, idx kb.Index, path string) error {
			_, err := kb.Ingest(ctx, idx, kb.NewLexicalEmbedder(), path, nil)
			return err
		},
		Deps: func(idx kb.Index) (flow.Deps, error) {
			return flow.Deps{Redactor: pii.NewRedactor(), Answerer: flow.KBAnswerer{Retriever: kb.NewRetriever(idx, kb.NewLexicalEmbedder())},
				Escalation: flow.EscalationPolicy{MinConfidence: 0.35}}, nil
		}}
	res, err := Run(context.Background(), "toy", train, test, 3, 1, o)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{K: 3, Intents: 3, Queries: 2, Accuracy: 1, BestEntry: 1, OOS: 1, OOSRecall: 1, ECE: res.ECE, Precision: 1, Sweep: res.Sweep}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	// the sweep agrees with the run at the run's own threshold
	if len(res.Sweep) != 12 || res.Sweep[6] != (Point{Threshold: 0.35, Accuracy: 1, Precision: 1, OOSRecall: 1}) {
		t.Errorf("sweep %+v", res.Sweep)
	}

	// a threshold nothing reaches escalates every question: none is answered, but the
	// best entry was still the right one
	deps := o.Deps
	o.Deps = func(idx kb.Index) (flow.Deps, error) {
		d, err := deps(idx)
		d.Escalation.MinConfidence = 1.01
		return d, err
	}
	if res, err = Run(context.Background(), "toy", train, test, 3, 1, o); err != nil {
		t.Fatal(err)
	}
	if res.Accuracy != 0 || res.BestEntry != 1 {
		t.Errorf("nothing answerable: accuracy %v, best entry %v; want 0 and 1", res.Accuracy, res.BestEntry)
	}
}

func TestCalibrationError(t *testing.T) {
	for _, tc := range []struct {
		name  string
		conf  []float64
		right []bool
		want  float64
	}{
		{"calibrated", []float64{0.75, 0.75, 0.75, 0.75}, []bool{true, true, true, false}, 0},
		{"overconfident", []float64{0.95, 0.95}, []bool{false, true}, 0.45},
		{"two bins", []float64{0.05, 0.95}, []bool{false, true}, 0.05},
	} {
		if got := calibrationError(tc.conf, tc.right, 10); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: ECE %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSweep(t *testing.T) {
	outs := []outcome{
		{conf: 0.9, right: true}, {conf: 0.3, right: true}, {conf: 0.3}, {conf: 0.9, right: true, any: true},
		{conf: 0.2, oos: true}, {conf: 0.55, oos: true},
	}
	pts := sweep(outs)
	at := func(th float64) Point {
		for _, p := range pts {
			if p.Threshold == th {
				return p
			}
		}
		t.Fatalf("no point at %v", th)
		return Point{}
	}
	for _, want := range []Point{
		{Threshold: 0.05, Accuracy: 0.5, Precision: 2.0 / 3, OOSRecall: 0},   // all but the one asking for a human answered
		{Threshold: 0.25, Accuracy: 0.5, Precision: 2.0 / 3, OOSRecall: 0.5}, // the 0.2 out-of-scope question escalates
		{Threshold: 0.35, Accuracy: 0.25, Precision: 1, OOSRecall: 0.5},      // only the 0.9 answer stays
		{Threshold: 0.6, Accuracy: 0.25, Precision: 1, OOSRecall: 1},
	} {
		if diff := cmp.Diff(want, at(want.Threshold)); diff != "" {
			t.Errorf("threshold %v (-want +got):\n%s", want.Threshold, diff)
		}
	}
}
