package kb_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/kb"
)

// flatEncoder gives every text the same vector: dense ranking alone cannot choose.
type flatEncoder struct{}

func (flatEncoder) Encode(context.Context, string) ([]float32, error) { return []float32{1, 1}, nil }

// likes is a reranker sure that a question means one phrasing and no other.
type likes string

func (l likes) Score(_, b string) float64 {
	if b == string(l) {
		return 0.9
	}
	return 0.1
}

// TestReranker: under dense ranking the reranker decides between answers for questions
// in its language, and never otherwise.
func TestReranker(t *testing.T) {
	ctx := context.Background()
	faq := filepath.Join(t.TempDir(), "faq.json")
	if err := os.WriteFile(faq, []byte(`[{"question": "怎么申请退款", "answer": "在订单页申请。"},
		{"question": "退款多久到账", "answer": "五天内到账。"},
		{"question": "how long does a refund take", "answer": "Five days."},
		{"question": "how do I ask for a refund", "answer": "From the orders page."}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	idx, err := kb.NewEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	lex := kb.NewLexicalEmbedder()
	if _, err := kb.Ingest(ctx, idx, lex, faq, nil, kb.WithIngestDense(flatEncoder{})); err != nil {
		t.Fatal(err)
	}
	rr := kb.WithReranker(likes("退款多久到账"), "zh")
	enRR := kb.WithReranker(likes("how do I ask for a refund"), "zh")
	for _, tc := range []struct {
		name string
		opts []kb.RetrieverOption
		q    string
		want string
	}{
		{"without a reranker the first entry of equal score answers", []kb.RetrieverOption{kb.WithDenseEncoder(flatEncoder{}), kb.WithDenseRanking()}, "退款", "在订单页申请。"},
		{"the reranker decides", []kb.RetrieverOption{kb.WithDenseEncoder(flatEncoder{}), kb.WithDenseRanking(), rr}, "退款", "五天内到账。"},
		{"not for another language", []kb.RetrieverOption{kb.WithDenseEncoder(flatEncoder{}), kb.WithDenseRanking(), enRR}, "refund", "Five days."},
		{"not without dense ranking", []kb.RetrieverOption{kb.WithDenseEncoder(flatEncoder{}), rr}, "退款", "在订单页申请。"},
	} {
		got, err := kb.NewRetriever(idx, lex, tc.opts...).Answer(ctx, tc.q)
		if err != nil || got.Text != tc.want {
			t.Errorf("%s: Answer(%q) = %q, %v; want %q", tc.name, tc.q, got.Text, err, tc.want)
		}
	}
}

// TestRerankerComparesQuestions: the reranker is asked about an entry's question even
// when the entry's answer ranks above it.
func TestRerankerComparesQuestions(t *testing.T) {
	ctx := context.Background()
	faq := filepath.Join(t.TempDir(), "faq.json")
	if err := os.WriteFile(faq, []byte(`[{"question": "怎么申请退款", "answer": "在订单页申请。"},
		{"question": "退款多久到账", "answer": "五天内到账。"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	idx, err := kb.NewEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	lex := kb.NewLexicalEmbedder()
	if _, err := kb.Ingest(ctx, idx, lex, faq, nil, kb.WithIngestDense(fullStopEncoder{})); err != nil {
		t.Fatal(err)
	}
	asked := &askedReranker{}
	r := kb.NewRetriever(idx, lex, kb.WithDenseEncoder(fullStopEncoder{}), kb.WithDenseRanking(), kb.WithReranker(asked, "zh"))
	if _, err := r.Answer(ctx, "退款。"); err != nil { // nearer the answers than the questions
		t.Fatal(err)
	}
	for _, b := range asked.b {
		if b == "在订单页申请。" || b == "五天内到账。" {
			t.Errorf("the reranker was asked about an answer text %q (asked %q)", b, asked.b)
		}
	}
	if len(asked.b) != 2 {
		t.Errorf("asked about %q, want the two questions", asked.b)
	}
}

// fullStopEncoder puts texts with a Chinese full stop (the answers here) on one side.
type fullStopEncoder struct{}

func (fullStopEncoder) Encode(_ context.Context, text string) ([]float32, error) {
	if strings.Contains(text, "。") {
		return []float32{1, 1}, nil
	}
	return []float32{1, 0}, nil
}

type askedReranker struct{ b []string }

func (a *askedReranker) Score(_, b string) float64 {
	a.b = append(a.b, b)
	return 0.5
}
