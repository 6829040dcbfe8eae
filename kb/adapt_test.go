package kb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/kb"
)

// swappedEncoder is wordEncoder with its two counts swapped: an "adapted" encoder whose
// vectors the original index does not hold.
type swappedEncoder struct{}

func (swappedEncoder) Encode(ctx context.Context, text string) ([]float32, error) {
	v, err := wordEncoder{}.Encode(ctx, text)
	slices.Reverse(v)
	return v, err
}

// TestAdapt: the adapter gets each FAQ entry's phrasings, and the adapted copy holds
// the adapted encoder's vectors while the original index keeps its own.
func TestAdapt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"faq.json": `[{"questions": ["How do I get a refund?", "money back please"], "answer": "Refunds take 5 days."},
			{"questions": ["Where is my card?", "card not arrived"], "answer": "Cards arrive in a week."},
			{"question": "Opening hours?", "answer": "Nine to five."}]`,
		"guide.md": "# Cards\n\nA card can be frozen in the app.\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	idx, err := kb.NewEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kb.Ingest(ctx, idx, kb.NewLexicalEmbedder(), dir, nil, kb.WithIngestDense(wordEncoder{})); err != nil {
		t.Fatal(err)
	}
	var got [][]string
	adapted, a, err := kb.Adapt(ctx, idx, func(_ context.Context, entries [][]string) (kb.DenseEncoder, error) {
		got = entries
		return swappedEncoder{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"How do I get a refund?", "money back please"}, {"Where is my card?", "card not arrived"}, {"Opening hours?"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries given to the adapter (-want +got):\n%s", diff)
	}
	if a.Entries != 3 || a.Encoder != (swappedEncoder{}) || adapted == kb.Index(idx) {
		t.Fatalf("adaptation %+v, same index %v", a, adapted == kb.Index(idx))
	}
	// "refund" encodes as (1.1, 0.1) originally and (0.1, 1.1) adapted: each index ranks
	// the refund entry first only for the vector of its own encoder
	top := func(ix kb.Index, v []float32) string {
		hits, err := ix.Search(ctx, kb.Query{Dense: v, Limit: 1})
		if err != nil || len(hits) == 0 {
			t.Fatalf("search: %v, %d hits", err, len(hits))
		}
		return hits[0].Chunk.Answer
	}
	orig, _ := wordEncoder{}.Encode(ctx, "refund")
	swapped, _ := swappedEncoder{}.Encode(ctx, "refund")
	for _, tc := range []struct {
		name string
		ix   kb.Index
		v    []float32
		want string
	}{
		{"adapted copy, adapted vector", adapted, swapped, "Refunds take 5 days."},
		{"adapted copy, original vector", adapted, orig, "Cards arrive in a week."},
		{"original index, original vector", idx, orig, "Refunds take 5 days."},
	} {
		if got := top(tc.ix, tc.v); got != tc.want {
			t.Errorf("%s: top answer %q, want %q", tc.name, got, tc.want)
		}
	}
	if n := adapted.(*kb.Embedded).Len(); n != idx.Len() {
		t.Errorf("the copy holds %d chunks, the index %d", n, idx.Len())
	}
}

func TestAdaptLeavesOtherIndexesAlone(t *testing.T) {
	ctx := context.Background()
	emb, err := kb.NewEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	called := false
	adapter := func(context.Context, [][]string) (kb.DenseEncoder, error) {
		called = true
		return nil, errors.New("boom")
	}
	// an index that is not the embedded one, and an embedded one without FAQ entries
	for _, ix := range []kb.Index{&spyIndex{Index: emb}, emb} {
		got, a, err := kb.Adapt(ctx, ix, adapter)
		if err != nil || got != ix || a != (kb.Adaptation{}) || called {
			t.Errorf("%T: index kept %v, adaptation %+v, err %v, adapter called %v", ix, got == ix, a, err, called)
		}
	}
	faq := filepath.Join(t.TempDir(), "faq.csv")
	if err := os.WriteFile(faq, []byte("question,answer\nrefund?,Five days.\ncard?,A week.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := kb.Ingest(ctx, emb, kb.NewLexicalEmbedder(), faq, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := kb.Adapt(ctx, emb, adapter); err == nil || !called {
		t.Errorf("a failing adapter: err %v, called %v", err, called)
	}
}
