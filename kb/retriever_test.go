package kb

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

func seededRetriever(t *testing.T, opts ...RetrieverOption) *Retriever {
	t.Helper()
	emb := NewLexicalEmbedder()
	idx, _ := NewEmbedded("")
	add := func(id, text, answer string) Point {
		c := Chunk{ID: id, DocID: DocIDOf(id), Source: DocIDOf(id), Title: "T " + id, Text: text, Answer: answer,
			Meta: map[string]string{"lang": Language(text)}}
		return Point{Chunk: c, Sparse: emb.Document(text), Dense: []float32{float32(len(text)), 1}}
	}
	points := []Point{
		add("faq#0", "How do I reset my password?", "Use the reset link."),
		add("faq#1", "I forgot my password, what now?", "Use the reset link."),
		add("faq#2", "How do I change my password on mobile?", "Open settings on the app."),
		add("faq#3", "怎么退款", "在订单页申请退款。"),
		add("doc#0", "Refunds for card payments take five days to reach the card.", ""),
		add("doc#1", "Refunds for bank transfers take five days to reach the bank account.", ""),
	}
	if err := idx.Upsert(context.Background(), points); err != nil {
		t.Fatal(err)
	}
	return NewRetriever(idx, emb, opts...)
}

func TestAnswerComposition(t *testing.T) {
	ctx := context.Background()
	r := seededRetriever(t)
	tests := []struct {
		query     string
		text      string
		citations []string
	}{
		{"forgot password", "Use the reset link.", []string{"faq#1"}},
		{"我想退款", "在订单页申请退款。", []string{"faq#3"}},
		{"refunds take five days", "Refunds for card payments take five days to reach the card.\n\n" +
			"Refunds for bank transfers take five days to reach the bank account.", []string{"doc#0", "doc#1"}},
		{"quantum chromodynamics", "", nil},
		{"the of and", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			a, err := r.Answer(ctx, tc.query)
			if err != nil {
				t.Fatal(err)
			}
			var cited []string
			for _, c := range a.Citations {
				cited = append(cited, c.ChunkID)
			}
			if diff := cmp.Diff(tc.text, a.Text); diff != "" {
				t.Errorf("text (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.citations, cited); diff != "" {
				t.Errorf("citations (-want +got):\n%s", diff)
			}
			if (tc.text == "") != (a.Confidence == 0) || a.Confidence < 0 || a.Confidence > 1 {
				t.Errorf("confidence %v", a.Confidence)
			}
		})
	}
}

func TestConfidenceOrdering(t *testing.T) {
	ctx := context.Background()
	r := seededRetriever(t)
	conf := func(q string) float64 {
		a, err := r.Answer(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return a.Confidence
	}
	exact, partial, ambiguous := conf("How do I reset my password?"), conf("reset my router password"), conf("password")
	if !(exact > partial) || !(exact > ambiguous) {
		t.Errorf("confidence exact %.3f should beat partial %.3f and ambiguous %.3f", exact, partial, ambiguous)
	}
}

type failingEncoder struct{}

func (failingEncoder) Encode(context.Context, string) ([]float32, error) {
	return nil, errors.New("encoder down")
}

type lengthEncoder struct{}

func (lengthEncoder) Encode(_ context.Context, text string) ([]float32, error) {
	return []float32{float32(len(text)), 1}, nil
}

func TestRetrieverOptions(t *testing.T) {
	ctx := context.Background()
	if _, err := seededRetriever(t, WithDenseEncoder(failingEncoder{})).Retrieve(ctx, "password", 3); err == nil {
		t.Error("encoder failure not reported")
	}
	hits, err := seededRetriever(t, WithDenseEncoder(lengthEncoder{})).Retrieve(ctx, "password", 3)
	if err != nil || len(hits) != 3 {
		t.Fatalf("hybrid retrieve = %v, %v", hits, err)
	}
	if hits[0].Score > 2.0/(rrfK+1) {
		t.Errorf("hybrid score %v is not an RRF score", hits[0].Score)
	}
	zh, err := seededRetriever(t, WithFilter(map[string]string{"lang": "zh"})).Retrieve(ctx, "退款 refunds", 5)
	if err != nil || len(zh) != 1 || zh[0].Chunk.ID != "faq#3" {
		t.Errorf("filtered retrieve = %v, %v; want only faq#3", zh, err)
	}
}

// TestConfidenceSeparatesOutOfScope ingests the CLINC150 train split as FAQ entries and
// checks that Answer's confidence ranks in-scope test questions above out-of-scope ones
// (ROC AUC), reporting the best single-threshold trade-off.
func TestConfidenceSeparatesOutOfScope(t *testing.T) {
	path := testenv.SharedData(t, "clinc150/data_full.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d map[string][][2]string
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	var faq []map[string]string
	for _, e := range d["train"] {
		faq = append(faq, map[string]string{"question": e[0], "answer": e[1]})
	}
	file := filepath.Join(t.TempDir(), "clinc.json")
	raw, _ := json.Marshal(faq)
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	emb := NewLexicalEmbedder()
	idx, _ := NewEmbedded("")
	if _, err := Ingest(ctx, idx, emb, file, nil); err != nil {
		t.Fatal(err)
	}
	r := NewRetriever(idx, emb)
	var in, out, inCorrect []float64
	for _, e := range d["test"] {
		a, _ := r.Answer(ctx, e[0])
		in = append(in, a.Confidence)
		if a.Text == e[1] {
			inCorrect = append(inCorrect, a.Confidence)
		}
	}
	for _, e := range d["oos_test"] {
		a, _ := r.Answer(ctx, e[0])
		out = append(out, a.Confidence)
	}
	auc := rocAUC(in, out)
	t.Logf("CLINC150: %d in-scope, %d out-of-scope test questions; confidence ROC AUC %.3f", len(in), len(out), auc)
	for _, tau := range []float64{0.2, 0.3, 0.4, 0.5} {
		t.Logf("  threshold %.1f: in-scope accuracy %.3f, out-of-scope recall %.3f", tau,
			float64(countAtLeast(inCorrect, tau))/float64(len(in)), 1-float64(countAtLeast(out, tau))/float64(len(out)))
	}
	if auc < 0.75 {
		t.Errorf("confidence AUC %.3f, want ≥ 0.75", auc)
	}
}

// rocAUC is the probability that a random positive scores above a random negative.
func rocAUC(pos, neg []float64) float64 {
	sort.Float64s(neg)
	var sum float64
	for _, p := range pos {
		below := sort.SearchFloat64s(neg, p)
		ties := sort.SearchFloat64s(neg, p+1e-12) - below
		sum += float64(below) + 0.5*float64(ties)
	}
	return sum / float64(len(pos)*len(neg))
}

func countAtLeast(xs []float64, tau float64) int {
	n := 0
	for _, x := range xs {
		if x >= tau {
			n++
		}
	}
	return n
}

// TestPlaceholdersAreNotQuestions: a redacted value ("[PHONE_1]") says nothing of what
// the customer asks: a message that is only placeholders finds nothing, however its
// numbers match, and the words around one still find their answer.
func TestPlaceholdersAreNotQuestions(t *testing.T) {
	emb := NewLexicalEmbedder()
	idx, _ := NewEmbedded("")
	c := Chunk{ID: "prices#0", DocID: "prices", Source: "prices", Title: "Item 1", Text: "Item 1 costs 1 yuan", Answer: "Item 1 costs 1 yuan."}
	if err := idx.Upsert(context.Background(), []Point{{Chunk: c, Sparse: emb.Document(c.Text)}}); err != nil {
		t.Fatal(err)
	}
	r := NewRetriever(idx, emb)
	for q, want := range map[string]string{"[PHONE_1]": "", "call me on [PHONE_1] or mail [EMAIL_1]": "",
		"what does item 1 cost? call [PHONE_1]": "Item 1 costs 1 yuan."} {
		a, err := r.Answer(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if a.Text != want {
			t.Errorf("%q: %q, want %q", q, a.Text, want)
		}
	}
}
