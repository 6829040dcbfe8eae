package kb

import (
	"context"
	"errors"
)

// Sentinel errors of the package; callers match them with errors.Is.
var (
	// ErrInvalidPoint is returned when a point cannot be stored (empty id, bad vector).
	ErrInvalidPoint = errors.New("kb: invalid point")
	// ErrInvalidQuery is returned for a query without any vector or with a bad limit.
	ErrInvalidQuery = errors.New("kb: invalid query")
	// ErrCorrupt is returned when the on-disk index cannot be decoded.
	ErrCorrupt = errors.New("kb: corrupt index file")
	// ErrUnsupported is returned by Ingest for a single file of an unknown format.
	ErrUnsupported = errors.New("kb: unsupported document format")
)

// Chunk is one retrievable unit: a passage of a document or one FAQ entry.
type Chunk struct {
	ID     string            // stable: document id + "#" + ordinal
	DocID  string            // the document the chunk came from (its absolute slash path)
	Source string            // where the document came from, for citations
	Title  string            // document title, or the question of an FAQ entry
	Text   string            // the indexed text (the question of an FAQ entry)
	Answer string            // set for FAQ entries only
	Meta   map[string]string // payload; Query.Filter matches it by equality
}

// SparseVector is a sparse term-weight vector: Indices are hashed term ids, sorted
// ascending and unique; Values are their weights.
type SparseVector struct {
	Indices []uint32
	Values  []float32
}

// Point is what an Index stores for a chunk: its payload, content hash and vectors.
type Point struct {
	Chunk  Chunk
	Hash   string       // content hash, used by incremental ingestion
	Sparse SparseVector // document weights from LexicalEmbedder.Document
	Dense  []float32    // optional dense embedding (nil without an encoder)
}

// Query asks an Index for the Limit best chunks. With both Sparse and Dense set the two
// rankings are fused by Reciprocal Rank Fusion; Filter keeps only chunks whose Meta holds
// every key with the given value.
type Query struct {
	Sparse SparseVector
	Dense  []float32
	Limit  int
	Filter map[string]string
}

// Hit is one search result. Score is the BM25 score for sparse-only queries, the cosine
// similarity for dense-only queries and the RRF score for hybrid queries.
type Hit struct {
	Chunk Chunk
	Score float64
}

// Index is the consumer-side vector index contract, implemented by the embedded index
// (NewEmbedded) and by Qdrant (kb/qdrant).
type Index interface {
	// Upsert inserts or replaces points by Chunk.ID.
	Upsert(ctx context.Context, points []Point) error
	// Delete removes the chunks with the given ids; unknown ids are ignored.
	Delete(ctx context.Context, ids []string) error
	// Search returns at most q.Limit hits, best first.
	Search(ctx context.Context, q Query) ([]Hit, error)
}

// Hasher lists the content hash of every stored chunk (chunk id → Point.Hash); Ingest
// uses it to skip unchanged chunks and delete vanished ones.
type Hasher interface {
	Hashes(ctx context.Context) (map[string]string, error)
}

// DenseEncoder turns text into a dense embedding; the ONNX sentence encoder implements it
// when one is configured. Vectors need not be normalised.
type DenseEncoder interface {
	Encode(ctx context.Context, text string) ([]float32, error)
}

// BatchEncoder is a DenseEncoder that embeds many texts in one call (ingest uses it).
type BatchEncoder interface {
	EncodeBatch(ctx context.Context, texts []string) ([][]float32, error)
}

// Fingerprinter identifies an encoder's model: vectors of encoders with different
// fingerprints are not comparable, so ingest re-embeds when it changes.
type Fingerprinter interface {
	Fingerprint() string
}
