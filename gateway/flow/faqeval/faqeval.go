// Package faqeval measures the bot the way it serves on a company-sized FAQ: k example
// questions per intent of a public intent set become the FAQ (one entry per intent, its
// examples as the entry's phrasings), the set's test questions are the customers, and every
// question runs through the flow's own steps (flow.Deps.Dry: redaction, understanding,
// retrieval, the escalation decision at the serving threshold). A question is answered
// right when the bot answers it, without escalating, with its intent's entry; an
// out-of-scope question is handled right when it escalates.
package faqeval

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/nlp/intent"
)

// Result is one few-shot run.
type Result struct {
	K        int     `json:"k"`
	Intents  int     `json:"intents"`
	Queries  int     `json:"queries"`  // in-scope test questions
	Accuracy float64 `json:"accuracy"` // of in-scope questions answered with their intent's entry
	// BestEntry is the share of in-scope questions whose best entry was their intent's,
	// whatever the confidence: the accuracy a perfect escalation decision could reach.
	BestEntry float64 `json:"best_entry"`
	Escalated float64 `json:"escalated"`  // of in-scope questions sent to a human
	OOS       int     `json:"oos"`        // out-of-scope test questions (0: the set has none)
	OOSRecall float64 `json:"oos_recall"` // of out-of-scope questions sent to a human
	// ECE is the expected calibration error of the answer's confidence as the probability
	// that the best entry is the right one (out-of-scope questions have none), over ten
	// equal-width bins.
	ECE float64 `json:"ece"`
	// Precision is the share of in-scope questions answered that were answered right.
	Precision float64 `json:"precision"`
	// Sweep is what other escalation thresholds would give (the customer asking for a
	// human still escalates), for choosing one for a stated answer precision.
	Sweep []Point `json:"sweep"`
}

// Point is the outcome at one escalation threshold.
type Point struct {
	Threshold float64 `json:"threshold"`
	Accuracy  float64 `json:"accuracy"`
	Precision float64 `json:"precision"`
	OOSRecall float64 `json:"oos_recall,omitempty"`
}

// outcome is one test question's: its confidence, whether the best entry was its own,
// whether it is out of scope, and whether it escalated whatever the confidence.
type outcome struct {
	conf            float64
	right, oos, any bool
}

// sweep evaluates thresholds 0.05, 0.10, … 0.60 over the outcomes.
func sweep(outs []outcome) []Point {
	var pts []Point
	for i := 1; i <= 12; i++ {
		th := float64(i) / 20
		var in, oos, answered, right, oosEsc int
		for _, o := range outs {
			esc := o.any || o.conf < th
			switch {
			case o.oos:
				oos++
				if esc {
					oosEsc++
				}
			default:
				in++
				if !esc {
					answered++
					if o.right {
						right++
					}
				}
			}
		}
		p := Point{Threshold: th}
		if in > 0 {
			p.Accuracy = float64(right) / float64(in)
		}
		if answered > 0 {
			p.Precision = float64(right) / float64(answered)
		}
		if oos > 0 {
			p.OOSRecall = float64(oosEsc) / float64(oos)
		}
		pts = append(pts, p)
	}
	return pts
}

// calibrationError is the expected calibration error of (confidence, right) pairs over
// bins equal-width bins of [0, 1]: the mean over questions of |accuracy − confidence| of
// their bin.
func calibrationError(conf []float64, right []bool, bins int) float64 {
	n := make([]int, bins)
	sumConf, hits := make([]float64, bins), make([]float64, bins)
	for i, c := range conf {
		b := min(max(int(c*float64(bins)), 0), bins-1)
		n[b]++
		sumConf[b] += c
		if right[i] {
			hits[b]++
		}
	}
	var ece float64
	for b := range bins {
		if n[b] > 0 {
			ece += math.Abs(hits[b]/float64(n[b])-sumConf[b]/float64(n[b])) * float64(n[b]) / float64(len(conf))
		}
	}
	return ece
}

// Options say how a run reaches the serving path.
type Options struct {
	// Ingest loads the FAQ file at path into idx as `kb ingest` does.
	Ingest func(ctx context.Context, idx kb.Index, path string) error
	// Deps are the flow's dependencies over idx as serve builds them (no store).
	Deps func(idx kb.Index) (flow.Deps, error)
	// Dir holds the FAQ files and indexes of the runs.
	Dir string
}

// answerOf is the answer text of intent's FAQ entry: opaque, since answers are searchable
// and the intent's name would tell the retriever what the questions mean.
func answerOf(label string) string {
	h := fnv.New64a()
	h.Write([]byte(label))
	return fmt.Sprintf("[%016x]", h.Sum64())
}

// FAQ is the k-shot FAQ of train as JSON: for each intent (out-of-scope examples left
// out), k of its examples drawn with seed, the first as the entry's question and the rest
// as its phrasings.
func FAQ(train []intent.Example, k int, seed uint64) ([]byte, int) {
	byLabel := map[string][]string{}
	for _, ex := range train {
		if ex.Label != intent.OutOfScope {
			byLabel[ex.Label] = append(byLabel[ex.Label], ex.Text)
		}
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	type entry struct {
		Questions []string `json:"questions"`
		Answer    string   `json:"answer"`
	}
	var faq []entry
	for _, label := range slices.Sorted(maps.Keys(byLabel)) {
		texts := slices.Clone(byLabel[label])
		rng.Shuffle(len(texts), func(i, j int) { texts[i], texts[j] = texts[j], texts[i] })
		faq = append(faq, entry{Questions: texts[:min(k, len(texts))], Answer: answerOf(label)})
	}
	b, _ := json.Marshal(faq)
	return b, len(faq)
}

// Run builds the k-shot FAQ of train, serves it, and asks it every question of test.
func Run(ctx context.Context, name string, train, test []intent.Example, k int, seed uint64, o Options) (Result, error) {
	faq, intents := FAQ(train, k, seed)
	dir := filepath.Join(o.Dir, fmt.Sprintf("%s-k%d-s%d", name, k, seed))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return Result{}, err
	}
	path := filepath.Join(dir, "faq.json")
	if err := os.WriteFile(path, faq, 0o600); err != nil {
		return Result{}, err
	}
	idx, err := kb.NewEmbedded("")
	if err != nil {
		return Result{}, err
	}
	if err := o.Ingest(ctx, idx, path); err != nil {
		return Result{}, fmt.Errorf("%s k=%d: ingest: %w", name, k, err)
	}
	deps, err := o.Deps(idx)
	if err != nil {
		return Result{}, err
	}
	if deps.Answerer == nil {
		return Result{}, fmt.Errorf("%s k=%d: no answerer", name, k)
	}
	rec := &lastAnswer{Answerer: deps.Answerer}
	deps.Answerer = rec
	steps := deps.Dry(pipeline.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
	res := Result{K: k, Intents: intents}
	var right, best, escalated, oosEscalated int
	var confs []float64
	var outs []outcome
	var rights []bool
	for _, ex := range test {
		rec.last = flow.Answer{}
		t := &pipeline.Turn{Channel: "eval", Parts: []pipeline.Part{{Kind: pipeline.PartText, Text: ex.Text}}}
		if err := steps.Run(ctx, t); err != nil {
			return Result{}, fmt.Errorf("%s k=%d: %q: %w", name, k, ex.Text, err)
		}
		confs = append(confs, rec.last.Confidence)
		outs = append(outs, outcome{conf: rec.last.Confidence, right: rec.last.Text == answerOf(ex.Label),
			oos: ex.Label == intent.OutOfScope, any: t.WantsHuman || rec.last.Text == ""})
		rights = append(rights, ex.Label != intent.OutOfScope && rec.last.Text == answerOf(ex.Label))
		if ex.Label == intent.OutOfScope {
			res.OOS++
			if t.Escalated {
				oosEscalated++
			}
			continue
		}
		res.Queries++
		if rec.last.Text == answerOf(ex.Label) {
			best++
		}
		switch {
		case t.Escalated:
			escalated++
		case t.Reply == answerOf(ex.Label):
			right++
		}
	}
	if res.Queries > 0 {
		res.Accuracy, res.Escalated = float64(right)/float64(res.Queries), float64(escalated)/float64(res.Queries)
		res.BestEntry = float64(best) / float64(res.Queries)
	}
	if res.OOS > 0 {
		res.OOSRecall = float64(oosEscalated) / float64(res.OOS)
	}
	res.ECE = calibrationError(confs, rights, 10)
	res.Sweep = sweep(outs)
	if answered := res.Queries - escalated; answered > 0 {
		res.Precision = float64(right) / float64(answered)
	}
	return res, nil
}

// lastAnswer passes questions to the serving answerer and keeps its last answer: the
// best entry and its confidence, also when the turn then escalates.
type lastAnswer struct {
	flow.Answerer
	last flow.Answer
}

func (l *lastAnswer) Answer(ctx context.Context, text string) (flow.Answer, error) {
	a, err := l.Answerer.Answer(ctx, text)
	l.last = a
	return a, err
}
