package kb_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/kb"
)

// wordEncoder is a dense encoder whose vector counts two words.
type wordEncoder struct{}

func (wordEncoder) Encode(_ context.Context, text string) ([]float32, error) {
	text = strings.ToLower(text)
	v := []float32{0.1, 0.1}
	for _, w := range []string{"refund", "card"} {
		for i := 0; i+len(w) <= len(text); i++ {
			if text[i:i+len(w)] == w {
				if w == "refund" {
					v[0]++
				} else {
					v[1]++
				}
			}
		}
	}
	return v, nil
}

// spyIndex records the queries it is asked.
type spyIndex struct {
	kb.Index
	queries []kb.Query
}

func (s *spyIndex) Search(ctx context.Context, q kb.Query) ([]kb.Hit, error) {
	s.queries = append(s.queries, q)
	return s.Index.Search(ctx, q)
}

// TestDenseRankingSendsNoSparseVector: with WithDenseRanking the index ranks by the dense
// vector alone, while the confidence still counts the query's words found in the answer.
func TestDenseRankingSendsNoSparseVector(t *testing.T) {
	ctx := context.Background()
	faq := filepath.Join(t.TempDir(), "faq.csv")
	if err := os.WriteFile(faq, []byte("question,answer\nHow do I get a refund?,Refunds take 5 days.\nWhere is my card?,Cards arrive in a week.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	emb, err := kb.NewEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lex := kb.NewLexicalEmbedder()
	if _, err := kb.Ingest(ctx, emb, lex, faq, nil, kb.WithIngestDense(wordEncoder{})); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		opts       []kb.RetrieverOption
		wantSparse bool
	}{
		{"hybrid", []kb.RetrieverOption{kb.WithDenseEncoder(wordEncoder{})}, true},
		{"dense ranking", []kb.RetrieverOption{kb.WithDenseEncoder(wordEncoder{}), kb.WithDenseRanking()}, false},
		{"dense ranking without an encoder is lexical", []kb.RetrieverOption{kb.WithDenseRanking()}, true},
	} {
		spy := &spyIndex{Index: emb}
		ans, err := kb.NewRetriever(spy, lex, tc.opts...).Answer(ctx, "How do I get a refund?")
		if err != nil {
			t.Fatal(err)
		}
		if ans.Text != "Refunds take 5 days." || ans.Confidence < 0.9 {
			t.Errorf("%s: %q with confidence %.2f", tc.name, ans.Text, ans.Confidence)
		}
		if len(spy.queries) != 1 || (len(spy.queries[0].Sparse.Indices) > 0) != tc.wantSparse {
			t.Errorf("%s: queries %+v, want sparse %v", tc.name, spy.queries, tc.wantSparse)
		}
	}
}
