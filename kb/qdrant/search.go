package qdrant

import (
	"context"
	"fmt"
	"strings"

	qc "github.com/qdrant/go-client/qdrant"

	"github.com/switchboard-cs/switchboard/kb"
)

// Search returns the q.Limit best chunks: BM25 over the IDF-modified sparse vector for
// sparse queries, cosine similarity for dense queries, and Reciprocal Rank Fusion of a
// sparse and a dense prefetch of max(4·limit, 50) candidates when q carries both. A
// query dense vector of zero norm counts as absent, as in the embedded index.
func (x *Index) Search(ctx context.Context, q kb.Query) ([]kb.Hit, error) {
	if err := x.checkQuery(q); err != nil {
		return nil, err
	}
	filter, err := filterOf(q.Filter)
	if err != nil {
		return nil, err
	}
	hasSparse := len(q.Sparse.Indices) > 0
	hasDense := len(q.Dense) > 0 && usable(q.Dense)
	req := &qc.QueryPoints{
		CollectionName: x.collection,
		Filter:         filter,
		Limit:          qc.PtrOf(uint64(q.Limit)),
		WithPayload:    qc.NewWithPayload(true),
		WithVectors:    qc.NewWithVectors(false),
	}
	switch {
	case hasSparse && len(q.Dense) > 0:
		prefetch := uint64(max(4*q.Limit, 50))
		req.Prefetch = []*qc.PrefetchQuery{sparsePrefetch(q.Sparse, filter, prefetch)}
		if hasDense {
			req.Prefetch = append(req.Prefetch, densePrefetch(q.Dense, filter, prefetch))
		}
		req.Query = qc.NewQueryRRF(&qc.Rrf{K: qc.PtrOf(uint32(rrfK))})
	case hasDense:
		req.Query = qc.NewQueryDense(q.Dense)
		req.Using = qc.PtrOf(DenseVector)
	case hasSparse:
		req.Query = qc.NewQuerySparse(q.Sparse.Indices, q.Sparse.Values)
		req.Using = qc.PtrOf(SparseVector)
	default:
		return nil, ctx.Err() // a zero dense vector matches nothing
	}
	points, err := x.client.Query(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("qdrant: query %q: %w", x.collection, err)
	}
	hits := make([]kb.Hit, len(points))
	for i, p := range points {
		hits[i] = kb.Hit{Chunk: chunkOf(p.GetPayload()), Score: float64(p.GetScore())}
	}
	return hits, nil
}

func sparsePrefetch(v kb.SparseVector, filter *qc.Filter, limit uint64) *qc.PrefetchQuery {
	return &qc.PrefetchQuery{
		Query:  qc.NewQuerySparse(v.Indices, v.Values),
		Using:  qc.PtrOf(SparseVector),
		Filter: filter,
		Limit:  qc.PtrOf(limit),
	}
}

func densePrefetch(v []float32, filter *qc.Filter, limit uint64) *qc.PrefetchQuery {
	return &qc.PrefetchQuery{
		Query:  qc.NewQueryDense(v),
		Using:  qc.PtrOf(DenseVector),
		Filter: filter,
		Limit:  qc.PtrOf(limit),
	}
}

// checkQuery applies the kb.Query rules plus what Qdrant needs: unique sparse indices
// and, for dense queries, the configured dimension.
func (x *Index) checkQuery(q kb.Query) error {
	if q.Limit <= 0 {
		return fmt.Errorf("%w: limit %d", kb.ErrInvalidQuery, q.Limit)
	}
	if len(q.Sparse.Indices) == 0 && len(q.Dense) == 0 {
		return fmt.Errorf("%w: no vector", kb.ErrInvalidQuery)
	}
	if err := checkSparse(q.Sparse, false); err != nil {
		return fmt.Errorf("%w: %w", kb.ErrInvalidQuery, err)
	}
	if len(q.Dense) > 0 {
		if err := x.checkDense(q.Dense); err != nil {
			return fmt.Errorf("%w: %w", kb.ErrInvalidQuery, err)
		}
	}
	return nil
}

// filterOf turns Meta equality into keyword match conditions on "meta.<key>", all of
// which must hold. Keys must be plain JSON-path segments (no dots, brackets or quotes).
func filterOf(meta map[string]string) (*qc.Filter, error) {
	if len(meta) == 0 {
		return nil, nil
	}
	must := make([]*qc.Condition, 0, len(meta))
	for k, v := range meta {
		if k == "" || strings.ContainsAny(k, ".[]\"") {
			return nil, fmt.Errorf("%w: filter key %q cannot be addressed in a Qdrant payload path", kb.ErrInvalidQuery, k)
		}
		must = append(must, qc.NewMatchKeyword(keyMeta+"."+k, v))
	}
	return &qc.Filter{Must: must}, nil
}
