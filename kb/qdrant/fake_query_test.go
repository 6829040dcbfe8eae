package qdrant

import (
	"cmp"
	"context"
	"slices"

	qc "github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeDefaultRRFK is Qdrant's RRF constant when a plain Fusion RRF query gives none.
const fakeDefaultRRFK = 2

type fakeScored struct {
	key   string
	score float32
}

// Query answers the Query API: a nearest query on one named vector, or a fusion (RRF) of
// single-level prefetches, each a nearest query. The top-level filter applies to every
// prefetch as well, as in Qdrant.
func (f *fakePoints) Query(_ context.Context, req *qc.QueryPoints) (*qc.QueryResponse, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	col, err := f.s.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if req.Offset != nil || req.ScoreThreshold != nil || req.LookupFrom != nil || req.GetWithVectors().GetEnable() {
		return nil, status.Error(codes.Unimplemented, "fake: offset, score_threshold, lookup_from, with_vectors")
	}
	limit := int(cmp.Or(req.GetLimit(), 10))
	var ranked []fakeScored
	if len(req.GetPrefetch()) == 0 {
		ranked, err = col.nearest(req.GetQuery(), req.GetUsing(), req.GetFilter(), nil, limit)
	} else {
		ranked, err = col.fuse(req, limit)
	}
	if err != nil {
		return nil, err
	}
	resp := &qc.QueryResponse{}
	for _, r := range ranked {
		p := col.points[r.key]
		resp.Result = append(resp.Result, &qc.ScoredPoint{Id: p.id, Score: r.score, Payload: selectPayload(p.payload, req.GetWithPayload())})
	}
	return resp, nil
}

// fuse runs each prefetch and fuses the rankings by RRF: Σ 1/(rank + k), rank 0-based.
func (c *fakeCollection) fuse(req *qc.QueryPoints, limit int) ([]fakeScored, error) {
	k := uint32(fakeDefaultRRFK)
	switch q := req.GetQuery().GetVariant().(type) {
	case *qc.Query_Fusion:
		if q.Fusion != qc.Fusion_RRF {
			return nil, status.Error(codes.Unimplemented, "fake: only RRF fusion")
		}
	case *qc.Query_Rrf:
		if len(q.Rrf.GetWeights()) > 0 {
			return nil, status.Error(codes.Unimplemented, "fake: weighted RRF")
		}
		k = cmp.Or(q.Rrf.GetK(), k)
	default:
		return nil, status.Error(codes.Unimplemented, "fake: prefetch needs a fusion query")
	}
	sum := map[string]float32{}
	for _, pf := range req.GetPrefetch() {
		if len(pf.GetPrefetch()) > 0 || pf.ScoreThreshold != nil || pf.LookupFrom != nil {
			return nil, status.Error(codes.Unimplemented, "fake: nested prefetch, score_threshold, lookup_from")
		}
		list, err := c.nearest(pf.GetQuery(), pf.GetUsing(), pf.GetFilter(), req.GetFilter(), int(cmp.Or(pf.GetLimit(), 10)))
		if err != nil {
			return nil, err
		}
		for rank, s := range list {
			sum[s.key] += 1 / float32(uint32(rank)+k)
		}
	}
	out := make([]fakeScored, 0, len(sum))
	for key, s := range sum {
		out = append(out, fakeScored{key: key, score: s})
	}
	return best(out, limit), nil
}

// nearest ranks the points passing both filters by the named vector: cosine similarity
// for dense vectors, the dot product with IDF-weighted query terms for sparse vectors
// (only points sharing a term). Points without the vector are not candidates.
func (c *fakeCollection) nearest(q *qc.Query, using string, filter, outer *qc.Filter, limit int) ([]fakeScored, error) {
	in := q.GetNearest()
	if in == nil {
		return nil, status.Error(codes.Unimplemented, "fake: only nearest queries")
	}
	if using == "" {
		return nil, status.Error(codes.InvalidArgument, "named vectors need `using`")
	}
	var score func(*fakePoint) (float32, bool)
	switch {
	case in.GetDense() != nil:
		size, ok := c.dense[using]
		if !ok || uint64(len(in.GetDense().GetData())) != size {
			return nil, status.Errorf(codes.InvalidArgument, "wrong dense query for vector %q", using)
		}
		score = denseScorer(unit(in.GetDense().GetData()), using)
	case in.GetSparse() != nil:
		sq, err := sparseMap(in.GetSparse())
		if err != nil {
			return nil, err
		}
		score, err = c.sparseScorer(sq, using)
		if err != nil {
			return nil, err
		}
	default:
		return nil, status.Error(codes.Unimplemented, "fake: only dense or sparse query vectors")
	}
	var out []fakeScored
	for key, p := range c.points {
		s, ok := score(p)
		if !ok {
			continue
		}
		for _, f := range []*qc.Filter{filter, outer} {
			pass, err := matches(p.payload, f)
			if err != nil {
				return nil, err
			}
			ok = ok && pass
		}
		if ok {
			out = append(out, fakeScored{key: key, score: s})
		}
	}
	return best(out, limit), nil
}

func denseScorer(q []float32, using string) func(*fakePoint) (float32, bool) {
	return func(p *fakePoint) (float32, bool) {
		d, ok := p.dense[using]
		if !ok || q == nil {
			return 0, false
		}
		var dot float32
		for i, v := range q {
			dot += v * d[i]
		}
		return dot, true
	}
}

func (c *fakeCollection) sparseScorer(q map[uint32]float32, using string) (func(*fakePoint) (float32, bool), error) {
	withIDF, ok := c.idf[using]
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "no sparse vector %q", using)
	}
	weights := q
	if withIDF {
		terms := make([]uint32, 0, len(q))
		for t := range q {
			terms = append(terms, t)
		}
		idf := c.idfOf(using, terms)
		weights = make(map[uint32]float32, len(q))
		for t, w := range q {
			weights[t] = float32(float64(w) * idf[t])
		}
	}
	return func(p *fakePoint) (float32, bool) {
		var s float32
		shared := false
		for t, w := range p.sparse[using] {
			if qw, ok := weights[t]; ok {
				s += qw * w
				shared = true
			}
		}
		return s, shared
	}, nil
}

// best sorts by score, highest first (ties by id), and keeps limit entries.
func best(s []fakeScored, limit int) []fakeScored {
	slices.SortFunc(s, func(a, b fakeScored) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.key, b.key))
	})
	return s[:min(limit, len(s))]
}
