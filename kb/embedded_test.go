package kb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestEmbeddedCorruptSnapshot(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, snapshotFile), []byte("not a gob"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewEmbedded(dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("NewEmbedded on garbage: err = %v, want ErrCorrupt", err)
	}
}

func TestEmbeddedCompactionKeepsResults(t *testing.T) {
	ctx := context.Background()
	emb := NewLexicalEmbedder()
	x, err := NewEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	var points []Point
	for i := range 3000 {
		text := fmt.Sprintf("question number w%d about topic t%d", i, i%7)
		points = append(points, Point{Chunk: Chunk{ID: fmt.Sprint(i), Text: text}, Sparse: emb.Document(text)})
	}
	if err := x.Upsert(ctx, points); err != nil {
		t.Fatal(err)
	}
	var gone []string
	for i := range 2500 {
		gone = append(gone, fmt.Sprint(i))
	}
	if err := x.Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if x.dead != 0 || len(x.slots) != 500 || x.Len() != 500 {
		t.Fatalf("after deleting 2500 of 3000: dead=%d slots=%d len=%d, want compacted to 500", x.dead, len(x.slots), x.Len())
	}
	hits, err := x.Search(ctx, Query{Sparse: emb.Query("w2999"), Limit: 3})
	if err != nil || len(hits) != 1 || hits[0].Chunk.ID != "2999" {
		t.Fatalf("search after compaction = %v, %v", hits, err)
	}
	hits, err = x.Search(ctx, Query{Sparse: emb.Query("w10"), Limit: 3})
	if err != nil || len(hits) != 0 {
		t.Fatalf("deleted chunk found: %v, %v", hits, err)
	}
}

func TestEmbeddedConcurrentUse(t *testing.T) {
	ctx := context.Background()
	emb := NewLexicalEmbedder()
	x, err := NewEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 20 {
				text := fmt.Sprintf("writer %d item %d card", w, i)
				if err := x.Upsert(ctx, []Point{{Chunk: Chunk{ID: text}, Sparse: emb.Document(text)}}); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range 200 {
				if _, err := x.Search(ctx, Query{Sparse: emb.Query("card item"), Limit: 5}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if x.Len() != 80 {
		t.Fatalf("Len = %d, want 80", x.Len())
	}
	y, err := NewEmbedded(x.dir)
	if err != nil || y.Len() != 80 {
		t.Fatalf("reopened Len = %d (%v), want 80", y.Len(), err)
	}
}

// TestSparsePruningIsExact compares the pruned term-at-a-time search with an exhaustive
// scan on a skewed (Zipf) corpus with deletions.
func TestSparsePruningIsExact(t *testing.T) {
	ctx := context.Background()
	emb := NewLexicalEmbedder()
	x, _ := NewEmbedded("")
	base := generatedSentences()
	if err := benchBuild(ctx, x, emb, base, 20_000, newBenchRand()); err != nil {
		t.Fatal(err)
	}
	var gone []string
	for i := 0; i < 20_000; i += 7 {
		gone = append(gone, fmt.Sprintf("bench#%d", i))
	}
	if err := x.Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	for i, text := range base[:300] {
		q := emb.Query(text + " " + base[i+1000])
		hits, err := x.Search(ctx, Query{Sparse: q, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		want := scanTop(x, q, 10)
		if len(hits) != len(want) {
			t.Fatalf("query %d: %d hits, exhaustive scan %d", i, len(hits), len(want))
		}
		for j := range want {
			if d := hits[j].Score - want[j].score; d > 1e-3*want[j].score || d < -1e-3*want[j].score {
				t.Fatalf("query %d rank %d: score %v, exhaustive %v", i, j, hits[j].Score, want[j].score)
			}
		}
	}
}
