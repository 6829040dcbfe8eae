package qdrant

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-cs/switchboard/kb"
)

// TestIngestCommitsGenerationThatReplicasReload runs the ingest path on the Qdrant
// backend: each ingest that changed something commits a generation in the collection's
// metadata, and two replicas' reloaders (each with its own client) both pick it up.
func TestIngestCommitsGenerationThatReplicasReload(t *testing.T) {
	ctx := context.Background()
	client, store := startFake(t)
	name := newCollection(t, client)
	writer := mustNew(t, client, name, Options{})
	if g, err := writer.Generation(ctx); err != nil || g.N != 0 {
		t.Fatalf("a fresh collection: %+v, %v", g, err)
	}
	docs := t.TempDir()
	write := func(file, content string) {
		if err := os.WriteFile(filepath.Join(docs, file), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ingest := func() kb.Generation {
		t.Helper()
		if _, err := kb.Ingest(ctx, writer, kb.NewLexicalEmbedder(), docs, nil); err != nil {
			t.Fatal(err)
		}
		g, err := writer.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	write("faq.csv", "question,answer\nHow do I reset my password?,Use the Forgot password link.\n")
	if g := ingest(); g.N != 1 || g.Chunks != 2 || g.Documents != 1 || g.Stamp == "" { // question and answer
		t.Fatalf("first commit %+v", g)
	}
	var replicas []*kb.Reloader[*kb.Retriever]
	for range 2 {
		c := dialFake(t, store)
		r, err := kb.NewReloader(ctx, kb.ReloaderOptions[*kb.Retriever]{
			Source: mustNew(t, c, name, Options{}), Backend: "qdrant",
			Build: func(_ context.Context, idx kb.Index, _ kb.Generation) (*kb.Retriever, error) {
				return kb.NewRetriever(idx, kb.NewLexicalEmbedder()), nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, r)
	}
	write("refund.csv", "question,answer\nHow long does a refund take?,Five working days.\n")
	g2 := ingest()
	for i, r := range replicas {
		if err := r.Check(ctx); err != nil {
			t.Fatal(err)
		}
		st := r.Status()
		if st.Generation != g2.N || st.Stamp != g2.Stamp || st.Chunks != 4 || st.Documents != 2 || st.Backend != "qdrant" {
			t.Fatalf("replica %d: %+v", i, st)
		}
		a, err := r.Current().Answer(ctx, "How long does a refund take?")
		if err != nil || a.Text != "Five working days." {
			t.Fatalf("replica %d answers %+v, %v", i, a, err)
		}
	}
}
