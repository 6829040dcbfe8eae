package kb

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
)

// scored is a candidate slot with its score during a search.
type scored struct {
	slot  uint32
	score float64
}

// Search returns the q.Limit best chunks: BM25 (IDF applied here, from the current
// document frequencies) for sparse queries, cosine similarity for dense queries, and
// Reciprocal Rank Fusion of both rankings when the query carries both vectors.
func (x *Embedded) Search(ctx context.Context, q Query) ([]Hit, error) {
	if err := checkQuery(q); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	hasSparse, hasDense := len(q.Sparse.Indices) > 0, len(q.Dense) > 0
	var ranked []scored
	switch {
	case hasSparse && hasDense:
		prefetch := max(4*q.Limit, 50)
		ranked = fuseRRF(q.Limit, x.sparseTop(q.Sparse, q.Filter, prefetch), x.denseTop(q.Dense, q.Filter, prefetch))
	case hasDense:
		ranked = x.denseTop(q.Dense, q.Filter, q.Limit)
	default:
		ranked = x.sparseTop(q.Sparse, q.Filter, q.Limit)
	}
	hits := make([]Hit, len(ranked))
	for i, r := range ranked {
		hits[i] = Hit{Chunk: x.slots[r.slot].point.Chunk, Score: r.score}
	}
	return hits, nil
}

func checkQuery(q Query) error {
	if q.Limit <= 0 {
		return fmt.Errorf("%w: limit %d", ErrInvalidQuery, q.Limit)
	}
	if len(q.Sparse.Indices) != len(q.Sparse.Values) {
		return fmt.Errorf("%w: %d sparse indices but %d values", ErrInvalidQuery, len(q.Sparse.Indices), len(q.Sparse.Values))
	}
	if len(q.Sparse.Indices) == 0 && len(q.Dense) == 0 {
		return fmt.Errorf("%w: no vector", ErrInvalidQuery)
	}
	return nil
}

// idf is the BM25 inverse document frequency Qdrant uses for Modifier IDF.
func idf(n, df int) float64 {
	return math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5))
}

// queryTerm is one query term resolved against the index.
type queryTerm struct {
	qw    float32 // query weight × IDF
	bound float32 // qw × the term's largest document weight
	tp    *termPostings
}

// sparseTop computes BM25 scores term at a time into a pooled accumulator, then keeps the
// k best live, filter-matching slots in a min-heap. Terms go in decreasing order of their
// largest possible contribution; once the contributions still to come cannot lift an
// unseen chunk above the current k-th score (a MaxScore-style bound), the remaining,
// common terms only update chunks already seen, by binary search in their posting lists.
// The result is exact.
func (x *Embedded) sparseTop(q SparseVector, filter map[string]string, k int) []scored {
	acc := x.accPool.Get().(*accumulator)
	defer x.accPool.Put(acc)
	if len(acc.scores) < len(x.slots) {
		acc.scores = make([]float32, len(x.slots)+len(x.slots)/4)
	}
	terms := x.queryTerms(q)
	rest := make([]float32, len(terms)+1) // rest[i] = Σ bound of terms i…
	for i := len(terms) - 1; i >= 0; i-- {
		rest[i] = rest[i+1] + terms[i].bound
	}
	scores, touched := acc.scores, acc.touched[:0]
	kth, kthAt := float32(0), -1 // the last k-th score computed, before term kthAt
	for i, qt := range terms {
		if i > 0 && len(touched) >= k && rest[i]*1.0001 < x.kthUpper(rest, kth, kthAt, i) {
			if kth, kthAt = x.kthScore(scores, touched, filter, k), i; rest[i]*1.0001 < kth {
				for _, later := range terms[i:] {
					x.addSeen(scores, touched, later)
				}
				break
			}
		}
		for _, p := range qt.tp.list {
			if scores[p.slot] == 0 {
				touched = append(touched, p.slot)
			}
			scores[p.slot] += qt.qw * p.w
		}
	}
	h := topK{k: k}
	for _, s := range touched {
		sc := scores[s]
		scores[s] = 0
		if h.admits(float64(sc)) && x.eligible(s, filter) {
			h.offer(scored{slot: s, score: float64(sc)})
		}
	}
	acc.touched = touched
	return h.sorted()
}

// queryTerms resolves the query terms present in the index, highest bound first.
func (x *Embedded) queryTerms(q SparseVector) []queryTerm {
	terms := make([]queryTerm, 0, len(q.Indices))
	for i, t := range q.Indices {
		df := int(x.df[t])
		tp := x.postings[t]
		if df == 0 || tp == nil {
			continue
		}
		qw := float32(float64(q.Values[i]) * idf(x.live, df))
		terms = append(terms, queryTerm{qw: qw, bound: qw * tp.maxW, tp: tp})
	}
	slices.SortFunc(terms, func(a, b queryTerm) int { return cmp.Compare(b.bound, a.bound) })
	return terms
}

// kthUpper bounds the k-th best partial score before term i without a scan of
// the seen slots: no partial score exceeds the bounds of the terms added so far
// (rest[0]-rest[i]), and since the k-th score computed before term kthAt (kth)
// each score grew by at most the bounds added since, while a slot seen since
// has at most those. The pruning check, which needs rest[i] below the k-th
// score, cannot pass while rest[i] is at least this, so sparseTop skips its
// scan then: the scan of thousands of seen slots per common term was 5 % of
// a serving process's CPU in `bench turn`.
func (x *Embedded) kthUpper(rest []float32, kth float32, kthAt, i int) float32 {
	upper := rest[0] - rest[i]
	if kthAt >= 0 {
		upper = min(upper, kth+rest[kthAt]-rest[i])
	}
	return upper
}

// kthScore is the k-th best partial score among live, filter-matching seen slots (0 when
// fewer match): a lower bound of the final k-th score.
func (x *Embedded) kthScore(scores []float32, touched []uint32, filter map[string]string, k int) float32 {
	h := topK{k: k}
	for _, s := range touched {
		if sc := float64(scores[s]); h.admits(sc) && x.eligible(s, filter) {
			h.offer(scored{slot: s, score: sc})
		}
	}
	if len(h.items) < k {
		return 0
	}
	return float32(h.items[0].score)
}

// addSeen adds a term's contribution to the already seen slots only, by binary search
// when the posting list is long compared with the seen set, else by a filtered scan.
func (x *Embedded) addSeen(scores []float32, touched []uint32, qt queryTerm) {
	list := qt.tp.list
	if len(touched)*16 > len(list) {
		for _, p := range list {
			if scores[p.slot] != 0 {
				scores[p.slot] += qt.qw * p.w
			}
		}
		return
	}
	for _, s := range touched {
		i, ok := slices.BinarySearchFunc(list, s, func(p posting, s uint32) int { return cmp.Compare(p.slot, s) })
		if ok {
			scores[s] += qt.qw * list[i].w
		}
	}
}

// denseTop ranks live slots with a dense vector by cosine similarity to q.
func (x *Embedded) denseTop(q []float32, filter map[string]string, k int) []scored {
	qn := normalize(q)
	h := topK{k: k}
	if qn == nil {
		return nil
	}
	for i := range x.slots {
		s := &x.slots[i]
		d := s.point.Dense
		if !s.alive || len(d) != len(qn) || !matches(s.point.Chunk.Meta, filter) {
			continue
		}
		var dot float32
		for j, v := range qn {
			dot += v * d[j]
		}
		h.offer(scored{slot: uint32(i), score: float64(dot)})
	}
	return h.sorted()
}

// fuseRRF merges rankings by Reciprocal Rank Fusion and keeps the k best.
func fuseRRF(k int, rankings ...[]scored) []scored {
	sum := make(map[uint32]float64)
	for _, r := range rankings {
		for rank, s := range r {
			sum[s.slot] += 1 / float64(rrfK+rank+1)
		}
	}
	h := topK{k: k}
	for s, sc := range sum {
		h.offer(scored{slot: s, score: sc})
	}
	return h.sorted()
}

// eligible reports whether slot s is live and its chunk matches filter. The scans of
// the seen slots ask it only of a score that could enter the top k (topK.admits):
// a slot is a large record, and reading thousands of them scattered over the index
// per query cost more than the scores themselves.
func (x *Embedded) eligible(s uint32, filter map[string]string) bool {
	return x.slots[s].alive && matches(x.slots[s].point.Chunk.Meta, filter)
}

func matches(meta, filter map[string]string) bool {
	for k, v := range filter {
		if got, ok := meta[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// topK is a bounded min-heap keeping the k highest scores; ties break on the lower slot
// so results are deterministic.
type topK struct {
	k     int
	items []scored
}

func less(a, b scored) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.slot > b.slot
}

// admits reports whether a candidate scoring score could enter: the heap is not
// full, or score is at least its lowest (a tie is decided by slot in offer).
func (h *topK) admits(score float64) bool {
	return len(h.items) < h.k || score >= h.items[0].score
}

func (h *topK) offer(s scored) {
	if len(h.items) < h.k {
		h.items = append(h.items, s)
		h.up(len(h.items) - 1)
		return
	}
	if !less(h.items[0], s) {
		return
	}
	h.items[0] = s
	h.down(0)
}

func (h *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !less(h.items[i], h.items[p]) {
			return
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

func (h *topK) down(i int) {
	n := len(h.items)
	for {
		m, l, r := i, 2*i+1, 2*i+2
		if l < n && less(h.items[l], h.items[m]) {
			m = l
		}
		if r < n && less(h.items[r], h.items[m]) {
			m = r
		}
		if m == i {
			return
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
}

// sorted empties the heap into a best-first slice.
func (h *topK) sorted() []scored {
	out := make([]scored, len(h.items))
	for i := len(h.items) - 1; i >= 0; i-- {
		out[i] = h.items[0]
		last := len(h.items) - 1
		h.items[0] = h.items[last]
		h.items = h.items[:last]
		h.down(0)
	}
	return out
}
