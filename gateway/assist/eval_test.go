package assist

import (
	"context"
	"encoding/csv"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/nlp/match"
	"github.com/switchboard-cs/switchboard/nlp/para"
	"github.com/switchboard-cs/switchboard/tickets"
)

// matchCase is a question whose right past resolution is known: want is the answer of
// the past tickets that asked the same.
type matchCase struct{ question, want string }

// evalMatching runs Suggest (the served code path) over cases against past and returns
// the share of cases with a past suggestion (coverage), the share whose first one is
// right (precision at 1, over the covered cases) and the share with the right one among
// the three shown (hit at 3, over all cases).
func evalMatching(t *testing.T, dense kb.DenseEncoder, past []tickets.Resolution, cases []matchCase) (coverage, p1, hit3 float64) {
	t.Helper()
	a := &Assistant{Past: &pastList{list: past}, Dense: dense}
	var covered, first, among int
	for _, c := range cases {
		got, err := a.Suggest(context.Background(), Query{Question: c.question})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			continue
		}
		covered++
		if got[0].Text == c.want {
			first++
		}
		for _, d := range got {
			if d.Text == c.want {
				among++
				break
			}
		}
	}
	return float64(covered) / float64(len(cases)), float64(first) / float64(max(covered, 1)), float64(among) / float64(len(cases))
}

// TestPastResolutionsOnRealQuestions measures how well reply assist finds the right past
// resolution for a new customer's question, by shared words (no model), on held-out
// questions: BANKING77's test questions against 2,000 of its training questions as past
// tickets (the reply: one per intent, 77 intents), and LCQMC's test paraphrase pairs
// (each pair's first question a past ticket, the second the new question). The baseline
// is what an agent gets without matching: the three latest resolutions. The floors are
// the measured figures less a margin. With SWITCHBOARD_PARAPHRASE_MODEL naming a
// paraphrase encoder (`switchboard kb train` writes one to <data_dir>/paraphrase.bin), the
// BANKING77 questions are matched by it too, as serve does when it has one (it learns
// from BANKING77's training split, not its test questions).
//
//	go test ./gateway/assist -run TestPastResolutionsOnRealQuestions -v
func TestPastResolutionsOnRealQuestions(t *testing.T) {
	var dense kb.DenseEncoder
	if p := os.Getenv("SWITCHBOARD_PARAPHRASE_MODEL"); p != "" {
		m, err := para.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		dense = m
	}
	rng := rand.New(rand.NewPCG(7, 18))
	// BANKING77
	train, test := readIntents(t, "banking77/train.csv"), readIntents(t, "banking77/test.csv")
	rng.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
	rng.Shuffle(len(test), func(i, j int) { test[i], test[j] = test[j], test[i] })
	var past []tickets.Resolution
	for i, c := range train[:pastWindow] {
		past = append(past, tickets.Resolution{TicketID: "b" + strconv.Itoa(i), Question: c.question, Answer: "reply for " + c.want})
	}
	var cases []matchCase
	for _, c := range test[:1000] {
		cases = append(cases, matchCase{c.question, "reply for " + c.want})
	}
	report(t, "BANKING77", nil, past, cases, 0.95, 0.65, 0.83)
	if dense != nil {
		report(t, "BANKING77, paraphrase encoder", dense, past, cases, 0.95, 0.85, 0.93)
	}

	// LCQMC: paraphrase pairs
	_, all, err := match.LoadLCQMC(testenv.SharedData(t, "lcqmc"))
	if err != nil {
		t.Fatal(err)
	}
	var pairs [][2]string
	for _, p := range all {
		if p.Same {
			pairs = append(pairs, [2]string{p.A, p.B})
		}
	}
	rng.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	past, cases = nil, nil
	for i, p := range pairs[:pastWindow] {
		past = append(past, tickets.Resolution{TicketID: "l" + strconv.Itoa(i), Question: p[0], Answer: "reply " + strconv.Itoa(i)})
		if i < 1000 {
			cases = append(cases, matchCase{p[1], "reply " + strconv.Itoa(i)})
		}
	}
	// (not with the paraphrase encoder: `kb train` learns from all of LCQMC's pairs)
	report(t, "LCQMC", nil, past, cases, 0.95, 0.85, 0.95)
}

// report measures matching and the latest-three baseline, logs both, and fails below
// the floors.
func report(t *testing.T, name string, dense kb.DenseEncoder, past []tickets.Resolution, cases []matchCase, minCoverage, minP1, minHit3 float64) {
	t.Helper()
	coverage, p1, hit3 := evalMatching(t, dense, past, cases)
	latest := 0
	for _, c := range cases {
		for _, r := range past[:pastShown] {
			if r.Answer == c.want {
				latest++
				break
			}
		}
	}
	base := float64(latest) / float64(len(cases))
	t.Logf("%s: %d past tickets, %d questions: a suggestion for %.3f of them, the first right for %.3f of those, the right one among three for %.3f; the latest three: %.3f (%.0fx)",
		name, len(past), len(cases), coverage, p1, hit3, base, hit3/max(base, 1e-9))
	if coverage < minCoverage || p1 < minP1 || hit3 < minHit3 {
		t.Errorf("%s: coverage %.3f (floor %.2f), precision at 1 %.3f (floor %.2f), hit at 3 %.3f (floor %.2f)", name, coverage, minCoverage, p1, minP1, hit3, minHit3)
	}
}

func readIntents(t *testing.T, rel string) []matchCase {
	t.Helper()
	f, err := os.Open(testenv.SharedData(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []matchCase
	for _, r := range rows[1:] {
		out = append(out, matchCase{r[0], r[1]})
	}
	return out
}
