package qdrant

import (
	"context"
	"errors"
	"fmt"

	qc "github.com/qdrant/go-client/qdrant"
)

// Vector names of the collection schema.
const (
	// SparseVector is the name of the sparse (lexical, IDF-modified) vector.
	SparseVector = "sparse"
	// DenseVector is the name of the optional dense (cosine) vector.
	DenseVector = "dense"
)

// rrfK is the Qdrant RRF constant that reproduces the embedded index's fusion: Qdrant
// scores rank r (0-based) with 1/(r + k), the embedded index with 1/(60 + r + 1).
const rrfK = 61

// defaultBatch is the number of points sent per Upsert request.
const defaultBatch = 256

// ErrSchema is returned by New when an existing collection does not have the vectors the
// index needs (a sparse vector with Modifier IDF, a dense vector of the configured size).
var ErrSchema = errors.New("qdrant: collection schema mismatch")

// Options configure New.
type Options struct {
	// DenseSize is the dimension of the dense vectors; 0 means the collection stores
	// sparse vectors only and points or queries with a dense vector are rejected.
	DenseSize uint64
	// BatchSize is the number of points per Upsert request (default 256).
	BatchSize int
}

// Index is a kb.Index and kb.Hasher stored in one Qdrant collection. It is safe for
// concurrent use.
type Index struct {
	client     *qc.Client
	collection string
	opts       Options
}

// New returns the index over collection, creating the collection when it does not exist
// and checking its schema when it does.
func New(ctx context.Context, client *qc.Client, collection string, opts Options) (*Index, error) {
	if client == nil || collection == "" {
		return nil, fmt.Errorf("qdrant: New needs a client and a collection name")
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = defaultBatch
	}
	x := &Index{client: client, collection: collection, opts: opts}
	exists, err := client.CollectionExists(ctx, collection)
	if err != nil {
		return nil, fmt.Errorf("qdrant: collection %q: %w", collection, err)
	}
	if !exists {
		if err := x.create(ctx); err != nil {
			return nil, err
		}
		return x, nil
	}
	info, err := client.GetCollectionInfo(ctx, collection)
	if err != nil {
		return nil, fmt.Errorf("qdrant: collection %q: %w", collection, err)
	}
	if err := checkSchema(info.GetConfig().GetParams(), opts.DenseSize); err != nil {
		return nil, fmt.Errorf("%w: collection %q: %w", ErrSchema, collection, err)
	}
	return x, nil
}

// create makes the collection: the sparse vector with IDF, and the dense cosine vector
// when a dense size is configured.
func (x *Index) create(ctx context.Context) error {
	dense := map[string]*qc.VectorParams{}
	if x.opts.DenseSize > 0 {
		dense[DenseVector] = &qc.VectorParams{Size: x.opts.DenseSize, Distance: qc.Distance_Cosine}
	}
	req := &qc.CreateCollection{
		CollectionName: x.collection,
		VectorsConfig:  qc.NewVectorsConfigMap(dense),
		SparseVectorsConfig: qc.NewSparseVectorsConfig(map[string]*qc.SparseVectorParams{
			SparseVector: {Modifier: qc.Modifier_Idf.Enum()},
		}),
	}
	if err := x.client.CreateCollection(ctx, req); err != nil {
		return fmt.Errorf("qdrant: create collection %q: %w", x.collection, err)
	}
	return nil
}

// checkSchema verifies that params declare the vectors New would have created.
func checkSchema(params *qc.CollectionParams, denseSize uint64) error {
	sparse, ok := params.GetSparseVectorsConfig().GetMap()[SparseVector]
	if !ok {
		return fmt.Errorf("no sparse vector %q", SparseVector)
	}
	if sparse.GetModifier() != qc.Modifier_Idf {
		return fmt.Errorf("sparse vector %q has modifier %v, want Idf", SparseVector, sparse.GetModifier())
	}
	if denseSize == 0 {
		return nil
	}
	dense, ok := params.GetVectorsConfig().GetParamsMap().GetMap()[DenseVector]
	if !ok {
		return fmt.Errorf("no dense vector %q", DenseVector)
	}
	if dense.GetSize() != denseSize || dense.GetDistance() != qc.Distance_Cosine {
		return fmt.Errorf("dense vector %q is %d-dimensional %v, want %d-dimensional Cosine",
			DenseVector, dense.GetSize(), dense.GetDistance(), denseSize)
	}
	return nil
}
