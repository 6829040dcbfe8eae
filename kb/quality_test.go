package kb

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// TestRetrievalBanking77 ingests the BANKING77 train split as an FAQ (question → its
// intent as the answer) and measures top-1 accuracy on the test split, both for the raw
// top hit (Retrieve) and for Answer's vote over the top 10 hits.
func TestRetrievalBanking77(t *testing.T) {
	dir := testenv.SharedData(t, "banking77")
	ctx := context.Background()
	idx, err := NewEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	emb := NewLexicalEmbedder()
	st, err := Ingest(ctx, idx, emb, filepath.Join(dir, "train.csv"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Added < 10000 {
		t.Fatalf("ingested %d FAQ entries from train.csv, want ≥ 10,000", st.Added)
	}
	rows := readCSV(t, filepath.Join(dir, "test.csv"))[1:]
	r := NewRetriever(idx, emb)
	top1, voted := 0, 0
	for _, row := range rows {
		hits, err := r.Retrieve(ctx, row[0], 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) > 0 && hits[0].Chunk.Answer == row[1] {
			top1++
		}
		a, err := r.Answer(ctx, row[0])
		if err != nil {
			t.Fatal(err)
		}
		if a.Text == row[1] {
			voted++
		}
	}
	acc, accVoted := float64(top1)/float64(len(rows)), float64(voted)/float64(len(rows))
	t.Logf("BANKING77 test (%d queries): Retrieve top-1 accuracy %.4f, Answer (vote over 10) accuracy %.4f", len(rows), acc, accVoted)
	if acc < 0.80 || accVoted < 0.80 {
		t.Errorf("BANKING77 accuracy %.4f / %.4f, want ≥ 0.80", acc, accVoted)
	}
}

// TestRetrievalChinesePairs indexes every second sentence of the BQ and LCQMC test pairs
// (paraphrases and non-paraphrases alike) and, for each paraphrase pair, retrieves with
// the first sentence: the paired sentence should come back on top.
func TestRetrievalChinesePairs(t *testing.T) {
	sets := []struct {
		name, rel string
		read      func(t *testing.T, path string) [][3]string
		minTop1   float64
		minTop5   float64
	}{
		// BQ pairs are loose paraphrases among 10,000 near-identical bank questions
		// ("开通.微粒贷" ↔ "帮我开通"): lexical retrieval finds few; the floor only catches a
		// broken CJK tokeniser. LCQMC paraphrases share most characters.
		{"bq_corpus", "bq_corpus/test.csv", readPairsCSV, 0.015, 0.06},
		{"lcqmc", "lcqmc/test.txt", readPairsTSV, 0.75, 0.95},
	}
	for _, set := range sets {
		t.Run(set.name, func(t *testing.T) {
			pairs := set.read(t, testenv.SharedData(t, set.rel))
			top1, top5, n := chinesePairRecall(t, pairs)
			t.Logf("%s: %d paraphrase queries against %d indexed sentences: recall@1 %.4f, recall@5 %.4f",
				set.name, n, len(pairs), top1, top5)
			if top1 < set.minTop1 || top5 < set.minTop5 {
				t.Errorf("%s recall@1 %.4f, recall@5 %.4f; want ≥ %.3f and ≥ %.3f", set.name, top1, top5, set.minTop1, set.minTop5)
			}
		})
	}
}

func chinesePairRecall(t *testing.T, pairs [][3]string) (top1, top5 float64, n int) {
	ctx := context.Background()
	emb := NewLexicalEmbedder()
	idx, _ := NewEmbedded("")
	points := make([]Point, len(pairs))
	for i, p := range pairs {
		points[i] = Point{Chunk: Chunk{ID: fmt.Sprint(i), Text: p[1]}, Sparse: emb.Document(p[1])}
	}
	if err := idx.Upsert(ctx, points); err != nil {
		t.Fatal(err)
	}
	r := NewRetriever(idx, emb)
	hit1, hit5 := 0, 0
	for _, p := range pairs {
		if p[2] != "1" {
			continue
		}
		n++
		hits, err := r.Retrieve(ctx, p[0], 5)
		if err != nil {
			t.Fatal(err)
		}
		for rank, h := range hits {
			if h.Chunk.Text == p[1] {
				if rank == 0 {
					hit1++
				}
				hit5++
				break
			}
		}
	}
	return float64(hit1) / float64(n), float64(hit5) / float64(n), n
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func readPairsCSV(t *testing.T, path string) [][3]string {
	var out [][3]string
	for _, row := range readCSV(t, path)[1:] {
		if len(row) == 3 {
			out = append(out, [3]string{row[0], row[1], row[2]})
		}
	}
	return out
}

func readPairsTSV(t *testing.T, path string) [][3]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][3]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) == 3 {
			out = append(out, [3]string{cols[0], cols[1], cols[2]})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
