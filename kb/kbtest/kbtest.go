package kbtest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/kb"
)

// IndexContract runs the kb.Index contract against one implementation. newIndex returns
// an empty index; reopen, when not nil, returns a fresh handle on the same stored data
// (a restart) and enables the persistence subtests.
func IndexContract(t *testing.T, newIndex func(t *testing.T) kb.Index, reopen func(t *testing.T, idx kb.Index) kb.Index) {
	emb := kb.NewLexicalEmbedder()
	ctx := context.Background()
	point := func(id, text, kind string, dense []float32) kb.Point {
		return kb.Point{
			Chunk:  kb.Chunk{ID: id, DocID: kb.DocIDOf(id), Source: "contract", Title: text, Text: text, Meta: map[string]string{"kind": kind}},
			Hash:   "h-" + text,
			Sparse: emb.Document(text),
			Dense:  dense,
		}
	}
	seed := []kb.Point{
		point("faq#0", "How do I reset my password?", "faq", []float32{1, 0, 0}),
		point("faq#1", "Where is my card? It has not arrived", "faq", []float32{0, 1, 0}),
		point("doc#0", "Card delivery takes five working days in most countries", "doc", []float32{0, 0.9, 0.1}),
		point("zh#0", "我要投诉，转人工客服", "faq", []float32{0, 0, 1}),
	}
	ids := func(hits []kb.Hit) []string {
		out := make([]string, len(hits))
		for i, h := range hits {
			out[i] = h.Chunk.ID
		}
		return out
	}
	search := func(t *testing.T, idx kb.Index, q kb.Query) []string {
		t.Helper()
		hits, err := idx.Search(ctx, q)
		if err != nil {
			t.Fatalf("Search: %v", err)
		}
		for i := 1; i < len(hits); i++ {
			if hits[i].Score > hits[i-1].Score {
				t.Errorf("hits not sorted by score: %v", hits)
			}
		}
		return ids(hits)
	}
	seeded := func(t *testing.T) kb.Index {
		idx := newIndex(t)
		if err := idx.Upsert(ctx, seed); err != nil {
			t.Fatalf("Upsert: %v", err)
		}
		return idx
	}
	t.Run("sparse search ranks the matching chunk first", func(t *testing.T) {
		idx := seeded(t)
		cases := map[string]string{"reset password": "faq#0", "my card has not arrived": "faq#1", "转人工": "zh#0", "投诉": "zh#0"}
		for text, want := range cases {
			got := search(t, idx, kb.Query{Sparse: emb.Query(text), Limit: 2})
			if len(got) == 0 || got[0] != want {
				t.Errorf("query %q: got %v, want %s first", text, got, want)
			}
		}
		if got := search(t, idx, kb.Query{Sparse: emb.Query("quantum chromodynamics"), Limit: 3}); len(got) != 0 {
			t.Errorf("unrelated query matched %v", got)
		}
	})
	t.Run("limit and payload round trip", func(t *testing.T) {
		idx := seeded(t)
		hits, err := idx.Search(ctx, kb.Query{Sparse: emb.Query("card"), Limit: 1})
		if err != nil || len(hits) != 1 {
			t.Fatalf("Search = %v, %v; want one hit", hits, err)
		}
		want := seed[1].Chunk
		if hits[0].Chunk.ID == "doc#0" {
			want = seed[2].Chunk
		}
		if diff := cmp.Diff(want, hits[0].Chunk); diff != "" {
			t.Errorf("payload mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("rare terms outweigh common ones (IDF)", func(t *testing.T) {
		idx := seeded(t)
		extra := []kb.Point{point("x#0", "card card card", "doc", nil), point("x#1", "card card", "doc", nil)}
		if err := idx.Upsert(ctx, extra); err != nil {
			t.Fatal(err)
		}
		got := search(t, idx, kb.Query{Sparse: emb.Query("card delivery"), Limit: 1})
		if diff := cmp.Diff([]string{"doc#0"}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("upsert replaces by id", func(t *testing.T) {
		idx := seeded(t)
		if err := idx.Upsert(ctx, []kb.Point{point("faq#0", "How do I change my PIN?", "faq", nil)}); err != nil {
			t.Fatal(err)
		}
		if got := search(t, idx, kb.Query{Sparse: emb.Query("password"), Limit: 5}); len(got) != 0 {
			t.Errorf("old text still found: %v", got)
		}
		if got := search(t, idx, kb.Query{Sparse: emb.Query("change PIN"), Limit: 5}); len(got) != 1 || got[0] != "faq#0" {
			t.Errorf("new text: got %v", got)
		}
		CheckHashes(t, idx, map[string]string{"faq#0": "h-How do I change my PIN?", "faq#1": seed[1].Hash, "doc#0": seed[2].Hash, "zh#0": seed[3].Hash})
	})
	t.Run("delete removes and ignores unknown ids", func(t *testing.T) {
		idx := seeded(t)
		if err := idx.Delete(ctx, []string{"faq#1", "does-not-exist"}); err != nil {
			t.Fatal(err)
		}
		if got := search(t, idx, kb.Query{Sparse: emb.Query("card arrived"), Limit: 5}); cmp.Diff([]string{"doc#0"}, got) != "" {
			t.Errorf("after delete got %v, want [doc#0]", got)
		}
	})
	t.Run("filter by payload", func(t *testing.T) {
		idx := seeded(t)
		got := search(t, idx, kb.Query{Sparse: emb.Query("card"), Limit: 5, Filter: map[string]string{"kind": "doc"}})
		if diff := cmp.Diff([]string{"doc#0"}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if got := search(t, idx, kb.Query{Sparse: emb.Query("card"), Limit: 5, Filter: map[string]string{"kind": "nope"}}); len(got) != 0 {
			t.Errorf("filter on missing value matched %v", got)
		}
	})
	t.Run("dense and hybrid search", func(t *testing.T) {
		idx := seeded(t)
		got := search(t, idx, kb.Query{Dense: []float32{0, 2, 0}, Limit: 2})
		if diff := cmp.Diff([]string{"faq#1", "doc#0"}, got); diff != "" {
			t.Errorf("dense (-want +got):\n%s", diff)
		}
		// doc#0 leads both rankings (both words; nearest vector), faq#1 is second in both.
		got = search(t, idx, kb.Query{Sparse: emb.Query("card delivery"), Dense: []float32{0, 0.9, 0.1}, Limit: 2})
		if diff := cmp.Diff([]string{"doc#0", "faq#1"}, got); diff != "" {
			t.Errorf("hybrid (-want +got):\n%s", diff)
		}
	})
	t.Run("invalid input", func(t *testing.T) {
		idx := seeded(t)
		if _, err := idx.Search(ctx, kb.Query{Limit: 3}); !errors.Is(err, kb.ErrInvalidQuery) {
			t.Errorf("query without vector: err = %v, want kb.ErrInvalidQuery", err)
		}
		if _, err := idx.Search(ctx, kb.Query{Sparse: emb.Query("card"), Limit: 0}); !errors.Is(err, kb.ErrInvalidQuery) {
			t.Errorf("limit 0: err = %v, want kb.ErrInvalidQuery", err)
		}
		bad := point("", "x", "doc", nil)
		if err := idx.Upsert(ctx, []kb.Point{bad}); !errors.Is(err, kb.ErrInvalidPoint) {
			t.Errorf("empty id: err = %v, want kb.ErrInvalidPoint", err)
		}
	})
	if reopen == nil {
		return
	}
	t.Run("persists across restart", func(t *testing.T) {
		idx := seeded(t)
		if err := idx.Delete(ctx, []string{"faq#0"}); err != nil {
			t.Fatal(err)
		}
		again := reopen(t, idx)
		CheckHashes(t, again, map[string]string{"faq#1": seed[1].Hash, "doc#0": seed[2].Hash, "zh#0": seed[3].Hash})
		if got := search(t, again, kb.Query{Sparse: emb.Query("转人工"), Dense: []float32{0, 0, 1}, Limit: 1}); cmp.Diff([]string{"zh#0"}, got) != "" {
			t.Errorf("after reopen got %v", got)
		}
		if err := again.Upsert(ctx, []kb.Point{point("new#0", "opening hours", "doc", nil)}); err != nil {
			t.Fatal(err)
		}
		third := reopen(t, again)
		if got := search(t, third, kb.Query{Sparse: emb.Query("opening hours"), Limit: 1}); cmp.Diff([]string{"new#0"}, got) != "" {
			t.Errorf("after second reopen got %v", got)
		}
	})
}

// CheckHashes compares idx.Hashes with want when idx is a kb.Hasher; other indexes pass.
func CheckHashes(t *testing.T, idx kb.Index, want map[string]string) {
	t.Helper()
	h, ok := idx.(kb.Hasher)
	if !ok {
		return
	}
	got, err := h.Hashes(context.Background())
	if err != nil {
		t.Fatalf("Hashes: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Hashes (-want +got):\n%s", diff)
	}
}
