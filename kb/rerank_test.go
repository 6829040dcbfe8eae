package kb_test

import (
	"context"
	"os"
	"path/filepath"
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
