package qdrant

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	qc "github.com/qdrant/go-client/qdrant"

	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/kb/kbtest"
)

var collectionSeq atomic.Int64

// newCollection returns a collection name not used before in this process; on a real
// Qdrant the collection is dropped when the test ends.
func newCollection(t *testing.T, client *qc.Client) string {
	name := fmt.Sprintf("switchboard_kbtest_%d_%d", os.Getpid(), collectionSeq.Add(1))
	t.Cleanup(func() { _ = client.DeleteCollection(context.Background(), name) })
	return name
}

func mustNew(t *testing.T, client *qc.Client, collection string, opts Options) *Index {
	t.Helper()
	x, err := New(context.Background(), client, collection, opts)
	if err != nil {
		t.Fatalf("New(%q): %v", collection, err)
	}
	return x
}

// runContract runs the shared kb contract; reopening is a fresh New on the same
// collection, which must find the stored chunks.
func runContract(t *testing.T, client *qc.Client) {
	names := map[kb.Index]string{}
	open := func(t *testing.T) kb.Index {
		name := newCollection(t, client)
		x := mustNew(t, client, name, Options{DenseSize: 3})
		names[x] = name
		return x
	}
	reopen := func(t *testing.T, old kb.Index) kb.Index {
		x := mustNew(t, client, names[old], Options{DenseSize: 3})
		names[x] = names[old]
		return x
	}
	kbtest.IndexContract(t, open, reopen)
}

func TestContractFakeServer(t *testing.T) {
	client, _ := startFake(t)
	runContract(t, client)
}

// realClient connects to the Qdrant at QDRANT_ADDR (gRPC host:port) or skips.
func realClient(t *testing.T) *qc.Client {
	addr := os.Getenv("QDRANT_ADDR")
	if addr == "" {
		t.Skip("QDRANT_ADDR (gRPC host:port of a real Qdrant) is not set; no Qdrant server exists on " +
			"this machine or in CI here, so only the in-process fake server runs the contract")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("QDRANT_ADDR=%q: %v", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("QDRANT_ADDR=%q: %v", addr, err)
	}
	client, err := qc.NewClient(&qc.Config{Host: host, Port: p, APIKey: os.Getenv("QDRANT_API_KEY"), SkipCompatibilityCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func TestContractRealQdrant(t *testing.T) {
	client := realClient(t)
	runContract(t, client)
	t.Run("ranks like the embedded index", func(t *testing.T) { runRankingParity(t, client) })
}

func TestRanksLikeEmbeddedFakeServer(t *testing.T) {
	client, _ := startFake(t)
	runRankingParity(t, client)
}

// runRankingParity indexes one random corpus in both backends and requires the same
// scores, rank by rank, and the same chunks apart from ties at the cut-off.
func runRankingParity(t *testing.T, client *qc.Client) {
	ctx := context.Background()
	points, queries := parityCorpus(200, 40)
	emb, err := kb.NewEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	q := mustNew(t, client, newCollection(t, client), Options{DenseSize: 8, BatchSize: 64})
	for _, idx := range []kb.Index{emb, q} {
		if err := idx.Upsert(ctx, points); err != nil {
			t.Fatal(err)
		}
		if err := idx.Delete(ctx, []string{"c#3", "c#77"}); err != nil {
			t.Fatal(err)
		}
	}
	for i, query := range queries {
		want, err := emb.Search(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := q.Search(ctx, query)
		if err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
		if len(want) == 0 {
			t.Fatalf("query %d matches nothing; the corpus is too sparse to compare", i)
		}
		sameRanking(t, fmt.Sprintf("query %d", i), want, got)
	}
}

// parityCorpus draws sparse vectors with continuous random weights (and random dense
// vectors), so that no two chunks tie in any ranking and tie-breaking cannot differ.
func parityCorpus(n, nq int) ([]kb.Point, []kb.Query) {
	rng := rand.New(rand.NewPCG(7, 11))
	sparse := func(k int) kb.SparseVector {
		var v kb.SparseVector
		for _, t := range rng.Perm(60)[:k] {
			v.Indices = append(v.Indices, uint32(t))
		}
		slices.Sort(v.Indices)
		for range v.Indices {
			v.Values = append(v.Values, 0.1+rng.Float32())
		}
		return v
	}
	dense := func() []float32 {
		v := make([]float32, 8)
		for i := range v {
			v[i] = rng.Float32()*2 - 1
		}
		return v
	}
	points := make([]kb.Point, n)
	for i := range points {
		id := fmt.Sprintf("c#%d", i)
		p := kb.Point{Chunk: kb.Chunk{ID: id, DocID: "c", Text: id, Meta: map[string]string{"kind": []string{"faq", "doc"}[i%2]}}, Hash: id, Sparse: sparse(3 + rng.IntN(8))}
		if i%5 != 0 {
			p.Dense = dense()
		}
		points[i] = p
	}
	queries := make([]kb.Query, nq)
	for i := range queries {
		q := kb.Query{Limit: []int{1, 5, 20}[i%3]}
		switch i % 4 {
		case 0:
			q.Sparse = sparse(2)
		case 1:
			q.Dense = dense()
		default:
			q.Sparse, q.Dense = sparse(2), dense()
		}
		if i%5 == 4 {
			q.Filter = map[string]string{"kind": "doc"}
		}
		queries[i] = q
	}
	return points, queries
}

func close32(a, b float64) bool { return math.Abs(a-b) <= 1e-4*math.Max(1, math.Abs(a)) }

func sameRanking(t *testing.T, name string, want, got []kb.Hit) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("%s: %d hits, want %d", name, len(got), len(want))
		return
	}
	scores := map[string]float64{}
	for i, h := range got {
		scores[h.Chunk.ID] = h.Score
		if !close32(want[i].Score, h.Score) {
			t.Errorf("%s: rank %d score %v, want %v", name, i, h.Score, want[i].Score)
		}
	}
	last := want[len(want)-1].Score
	for _, h := range want {
		if s, ok := scores[h.Chunk.ID]; !close32(h.Score, last) && (!ok || !close32(s, h.Score)) {
			t.Errorf("%s: %s scored %v (found %v), want %v", name, h.Chunk.ID, s, ok, h.Score)
		}
	}
}

// TestSparseScoreIsBM25WithIDF checks the Qdrant formula by hand: with N points and a
// term in df of them, score = query weight × ln(1 + (N − df + 0.5)/(df + 0.5)) × weight.
func TestSparseScoreIsBM25WithIDF(t *testing.T) {
	client, _ := startFake(t)
	ctx := context.Background()
	x := mustNew(t, client, newCollection(t, client), Options{})
	pts := []kb.Point{
		{Chunk: kb.Chunk{ID: "a"}, Sparse: kb.SparseVector{Indices: []uint32{1, 2}, Values: []float32{2, 1}}},
		{Chunk: kb.Chunk{ID: "b"}, Sparse: kb.SparseVector{Indices: []uint32{2}, Values: []float32{1}}},
		{Chunk: kb.Chunk{ID: "c"}, Sparse: kb.SparseVector{Indices: []uint32{3}, Values: []float32{1}}},
	}
	if err := x.Upsert(ctx, pts); err != nil {
		t.Fatal(err)
	}
	hits, err := x.Search(ctx, kb.Query{Sparse: kb.SparseVector{Indices: []uint32{1, 2}, Values: []float32{1, 1}}, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	idf := func(df float64) float64 { return math.Log(1 + (3-df+0.5)/(df+0.5)) }
	want := map[string]float64{"a": 2*idf(1) + idf(2), "b": idf(2)}
	got := map[string]float64{}
	for _, h := range hits {
		got[h.Chunk.ID] = h.Score
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(close32)); diff != "" {
		t.Errorf("scores (-want +got):\n%s", diff)
	}
}

func TestNewChecksSchema(t *testing.T) {
	client, _ := startFake(t)
	ctx := context.Background()
	name := newCollection(t, client)
	mustNew(t, client, name, Options{DenseSize: 3})
	if _, err := New(ctx, client, name, Options{DenseSize: 4}); !errors.Is(err, ErrSchema) {
		t.Errorf("dense size 4 on a 3-dimensional collection: err = %v, want ErrSchema", err)
	}
	if _, err := New(ctx, client, name, Options{}); err != nil {
		t.Errorf("sparse-only use of a collection with dense vectors: %v", err)
	}
	plain := newCollection(t, client)
	err := client.CreateCollection(ctx, &qc.CreateCollection{
		CollectionName:      plain,
		VectorsConfig:       qc.NewVectorsConfigMap(map[string]*qc.VectorParams{}),
		SparseVectorsConfig: qc.NewSparseVectorsConfig(map[string]*qc.SparseVectorParams{SparseVector: {}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, client, plain, Options{}); !errors.Is(err, ErrSchema) {
		t.Errorf("sparse vector without IDF: err = %v, want ErrSchema", err)
	}
}

func TestInvalidInput(t *testing.T) {
	client, _ := startFake(t)
	ctx := context.Background()
	x := mustNew(t, client, newCollection(t, client), Options{DenseSize: 2})
	sparseOnly := mustNew(t, client, newCollection(t, client), Options{})
	one := kb.SparseVector{Indices: []uint32{1}, Values: []float32{1}}
	points := map[string]struct {
		idx *Index
		p   kb.Point
	}{
		"dense of the wrong size":   {x, kb.Point{Chunk: kb.Chunk{ID: "a"}, Sparse: one, Dense: []float32{1, 2, 3}}},
		"dense without dense index": {sparseOnly, kb.Point{Chunk: kb.Chunk{ID: "a"}, Sparse: one, Dense: []float32{1}}},
		"unsorted sparse":           {x, kb.Point{Chunk: kb.Chunk{ID: "a"}, Sparse: kb.SparseVector{Indices: []uint32{2, 1}, Values: []float32{1, 1}}}},
		"zero sparse weight":        {x, kb.Point{Chunk: kb.Chunk{ID: "a"}, Sparse: kb.SparseVector{Indices: []uint32{1}, Values: []float32{0}}}},
	}
	for name, tc := range points {
		if err := tc.idx.Upsert(ctx, []kb.Point{tc.p}); !errors.Is(err, kb.ErrInvalidPoint) {
			t.Errorf("%s: err = %v, want ErrInvalidPoint", name, err)
		}
	}
	queries := map[string]kb.Query{
		"dense of the wrong size":  {Dense: []float32{1}, Limit: 1},
		"repeated sparse index":    {Sparse: kb.SparseVector{Indices: []uint32{1, 1}, Values: []float32{1, 1}}, Limit: 1},
		"filter key with a dot":    {Sparse: one, Limit: 1, Filter: map[string]string{"a.b": "c"}},
		"sparse length mismatch":   {Sparse: kb.SparseVector{Indices: []uint32{1}}, Limit: 1},
		"negative limit":           {Sparse: one, Limit: -1},
		"dense without dense size": {Dense: []float32{1, 0}, Limit: 1},
	}
	for name, q := range queries {
		idx := x
		if name == "dense without dense size" {
			idx = sparseOnly
		}
		if _, err := idx.Search(ctx, q); !errors.Is(err, kb.ErrInvalidQuery) {
			t.Errorf("%s: err = %v, want ErrInvalidQuery", name, err)
		}
	}
}

func TestZeroDenseVectorCountsAsAbsent(t *testing.T) {
	client, _ := startFake(t)
	ctx := context.Background()
	x := mustNew(t, client, newCollection(t, client), Options{DenseSize: 2})
	one := kb.SparseVector{Indices: []uint32{1}, Values: []float32{1}}
	if err := x.Upsert(ctx, []kb.Point{{Chunk: kb.Chunk{ID: "a"}, Sparse: one, Dense: []float32{0, 0}}}); err != nil {
		t.Fatal(err)
	}
	if hits, err := x.Search(ctx, kb.Query{Dense: []float32{1, 0}, Limit: 3}); err != nil || len(hits) != 0 {
		t.Errorf("dense search found a chunk stored with a zero vector: %v, %v", hits, err)
	}
	hits, err := x.Search(ctx, kb.Query{Sparse: one, Dense: []float32{0, 0}, Limit: 3})
	if err != nil || len(hits) != 1 || !close32(hits[0].Score, 1.0/61) {
		t.Errorf("hybrid with a zero dense query = %v, %v; want a, RRF score 1/61", hits, err)
	}
}

func TestHashesScrollsEveryPage(t *testing.T) {
	client, _ := startFake(t)
	ctx := context.Background()
	x := mustNew(t, client, newCollection(t, client), Options{BatchSize: 100})
	want := map[string]string{}
	var points []kb.Point
	for i := range 1100 {
		id := fmt.Sprintf("doc#%d", i)
		want[id] = "h" + strconv.Itoa(i)
		points = append(points, kb.Point{Chunk: kb.Chunk{ID: id}, Hash: want[id], Sparse: kb.SparseVector{Indices: []uint32{uint32(i)}, Values: []float32{1}}})
	}
	if err := x.Upsert(ctx, points); err != nil {
		t.Fatal(err)
	}
	got, err := x.Hashes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Hashes (-want +got):\n%s", diff)
	}
}

func TestPointIDIsStableUUIDv5(t *testing.T) {
	a, b := PointID("faq#0"), PointID("faq#1")
	u, err := uuid.Parse(a)
	if err != nil || u.Version() != 5 {
		t.Fatalf("PointID = %q (%v), want a version 5 UUID", a, err)
	}
	if a != PointID("faq#0") || a == b {
		t.Errorf("PointID not a stable, distinct mapping: %s %s", a, b)
	}
}
