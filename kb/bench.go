package kb

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
)

// BenchResult reports BenchRetrieval. Latencies are per query, sequential, and include
// embedding the query; QPS is the throughput with one searcher per CPU. The baselines
// are measured in the same run on the same queries: embedding the query alone, and an
// exhaustive scan (scoring every chunk's sparse vector, i.e. the index without postings).
type BenchResult struct {
	Corpus        string  `json:"corpus"`
	Chunks        int     `json:"chunks"`
	Queries       int     `json:"queries"`
	BuildMS       float64 `json:"build_ms"`
	P50MS         float64 `json:"p50_ms"`
	P99MS         float64 `json:"p99_ms"`
	QPS           float64 `json:"qps"`
	EmbedP50MS    float64 `json:"embed_p50_ms"`
	EmbedP99MS    float64 `json:"embed_p99_ms"`
	ScanP50MS     float64 `json:"scan_p50_ms"`
	SpeedupVsScan float64 `json:"speedup_vs_scan"`
}

// BenchRetrieval builds an in-memory embedded index of chunks chunks and runs queries
// searches (top 10) against it. dataDir is the shared data directory (holding banking77/,
// clinc150/, lcqmc/, bq_corpus/): the corpus is their customer questions in English and
// Chinese, repeated with variations (greeting prefixes, extra words drawn from the
// corpus vocabulary, reference numbers), and the queries are their test questions. When
// dataDir is empty or holds none of them, a generated corpus with Zipf-distributed words
// is used instead. Queries without any indexable token (only stop-words) are left out,
// as the Retriever does not search for them either.
func BenchRetrieval(ctx context.Context, dataDir string, chunks, queries int) (BenchResult, error) {
	if chunks <= 0 || queries <= 0 {
		return BenchResult{}, fmt.Errorf("kb: bench: chunks and queries must be positive")
	}
	base, qs, name := benchSentences(dataDir)
	if len(base) == 0 || len(qs) == 0 {
		base, qs, name = generatedSentences(), nil, "generated"
		qs = base[:min(len(base), 2000)]
	}
	rng := rand.New(rand.NewPCG(1, 2))
	emb := NewLexicalEmbedder()
	idx, err := NewEmbedded("")
	if err != nil {
		return BenchResult{}, err
	}
	start := time.Now()
	if err := benchBuild(ctx, idx, emb, base, chunks, rng); err != nil {
		return BenchResult{}, err
	}
	res := BenchResult{Corpus: name, Chunks: idx.Len(), Queries: queries, BuildMS: ms(time.Since(start))}
	qs = slices.DeleteFunc(qs, func(q string) bool { return len(emb.Query(q).Indices) == 0 })
	if len(qs) == 0 {
		return BenchResult{}, fmt.Errorf("kb: bench: no query has an indexable token")
	}
	texts := make([]string, queries)
	for i := range texts {
		texts[i] = qs[i%len(qs)]
	}
	for _, q := range texts[:min(100, len(texts))] { // warm up the accumulator pool
		if _, err := idx.Search(ctx, Query{Sparse: emb.Query(q), Limit: 10}); err != nil {
			return BenchResult{}, err
		}
	}
	lat, err := benchLatency(ctx, idx, emb, texts)
	if err != nil {
		return BenchResult{}, err
	}
	res.P50MS, res.P99MS = percentile(lat, 0.50), percentile(lat, 0.99)
	if res.QPS, err = benchThroughput(ctx, idx, emb, texts); err != nil {
		return BenchResult{}, err
	}
	embed := make([]float64, len(texts))
	for i, q := range texts {
		t0 := time.Now()
		emb.Query(q)
		embed[i] = ms(time.Since(t0))
	}
	res.EmbedP50MS, res.EmbedP99MS = percentile(embed, 0.50), percentile(embed, 0.99)
	res.ScanP50MS = benchScan(idx, emb, texts[:min(50, len(texts))])
	if res.P50MS > 0 {
		res.SpeedupVsScan = res.ScanP50MS / res.P50MS
	}
	return res, nil
}

// benchBuild upserts chunks variations of the base sentences in batches.
func benchBuild(ctx context.Context, idx *Embedded, emb *LexicalEmbedder, base []string, chunks int, rng *rand.Rand) error {
	prefixes := []string{"", "", "Hi, ", "Hello, ", "Quick question: ", "您好，", "请问", "Excuse me, "}
	var vocab []string
	for _, s := range base[:min(len(base), 5000)] {
		vocab = append(vocab, emb.Tokens(s)...)
	}
	batch := make([]Point, 0, 4096)
	for i := range chunks {
		text := prefixes[rng.IntN(len(prefixes))] + base[i%len(base)]
		for range rng.IntN(4) {
			text += " " + vocab[rng.IntN(len(vocab))]
		}
		if rng.IntN(4) == 0 {
			text += " ref " + strconv.Itoa(rng.IntN(1_000_000))
		}
		id := "bench#" + strconv.Itoa(i)
		batch = append(batch, Point{Chunk: Chunk{ID: id, DocID: "bench", Text: text, Answer: "a" + strconv.Itoa(i%500)}, Sparse: emb.Document(text)})
		if len(batch) == cap(batch) || i == chunks-1 {
			if err := idx.Upsert(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}

func benchLatency(ctx context.Context, idx *Embedded, emb *LexicalEmbedder, texts []string) ([]float64, error) {
	lat := make([]float64, len(texts))
	for i, q := range texts {
		t0 := time.Now()
		if _, err := idx.Search(ctx, Query{Sparse: emb.Query(q), Limit: 10}); err != nil {
			return nil, err
		}
		lat[i] = ms(time.Since(t0))
	}
	return lat, nil
}

// benchThroughput runs all queries with one worker per CPU and returns queries/second.
func benchThroughput(ctx context.Context, idx *Embedded, emb *LexicalEmbedder, texts []string) (float64, error) {
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	t0 := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(texts); i += workers {
				if _, err := idx.Search(ctx, Query{Sparse: emb.Query(texts[i]), Limit: 10}); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0).Seconds()
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return float64(len(texts)) / elapsed, nil
}

// benchScan is the baseline without postings: for each query, the exhaustive top 10 of
// scanTop. It returns the median latency in milliseconds.
func benchScan(idx *Embedded, emb *LexicalEmbedder, texts []string) float64 {
	idx.mu.RLock()
	defer idx.mu.RUnlock()
	lat := make([]float64, len(texts))
	for i, text := range texts {
		t0 := time.Now()
		scanTop(idx, emb.Query(text), 10)
		lat[i] = ms(time.Since(t0))
	}
	return percentile(lat, 0.5)
}

// scanTop scores every live chunk by merging its sorted sparse vector with the query's
// (BM25 with the index's IDF) and keeps the k best; the caller holds the read lock.
func scanTop(idx *Embedded, q SparseVector, k int) []scored {
	w := make([]float64, len(q.Indices))
	for j, t := range q.Indices {
		if df := int(idx.df[t]); df > 0 {
			w[j] = float64(q.Values[j]) * idf(idx.live, df)
		}
	}
	h := topK{k: k}
	for s := range idx.slots {
		if !idx.slots[s].alive {
			continue
		}
		if sc := sparseDot(q.Indices, w, idx.slots[s].point.Sparse); sc > 0 {
			h.offer(scored{slot: uint32(s), score: sc})
		}
	}
	return h.sorted()
}

func sparseDot(qi []uint32, qw []float64, d SparseVector) float64 {
	var sum float64
	a, b := 0, 0
	for a < len(qi) && b < len(d.Indices) {
		switch {
		case qi[a] < d.Indices[b]:
			a++
		case qi[a] > d.Indices[b]:
			b++
		default:
			sum += qw[a] * float64(d.Values[b])
			a++
			b++
		}
	}
	return sum
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// percentile returns the p-quantile (nearest rank) of xs; xs is sorted in place.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	i := int(math.Ceil(p*float64(len(xs)))) - 1
	return xs[max(0, min(i, len(xs)-1))]
}
