package qdrant

import (
	"context"
	"errors"
	"fmt"
	"time"

	qc "github.com/qdrant/go-client/qdrant"

	"github.com/switchboard-cs/switchboard/kb"
)

// ErrNoMetadata is returned by Commit when the server does not keep collection metadata
// (Qdrant before 1.16), where the committed generation lives.
var ErrNoMetadata = errors.New("qdrant: the server keeps no collection metadata (the knowledge-base generation needs Qdrant ≥ 1.16)")

// Collection metadata keys of the committed knowledge-base generation.
const (
	metaGeneration  = "switchboard_kb_generation"
	metaStamp       = "switchboard_kb_stamp"
	metaChunks      = "switchboard_kb_chunks"
	metaDocuments   = "switchboard_kb_documents"
	metaCommittedAt = "switchboard_kb_committed_at"
)

// Generation returns the generation committed in the collection's metadata (0 when none
// has been committed).
func (x *Index) Generation(ctx context.Context) (kb.Generation, error) {
	info, err := x.client.GetCollectionInfo(ctx, x.collection)
	if err != nil {
		return kb.Generation{}, fmt.Errorf("qdrant: collection %q: %w", x.collection, err)
	}
	return generationOf(info.GetConfig().GetMetadata()), nil
}

// Commit records a new generation in the collection's metadata, which every server
// sharing the collection polls: the chunks and documents are counted from the points.
func (x *Index) Commit(ctx context.Context) (kb.Generation, error) {
	old, err := x.Generation(ctx)
	if err != nil {
		return kb.Generation{}, err
	}
	hashes, err := x.Hashes(ctx)
	if err != nil {
		return kb.Generation{}, err
	}
	docs := map[string]struct{}{}
	for id := range hashes {
		docs[kb.DocIDOf(id)] = struct{}{}
	}
	g := old.Next(len(hashes), len(docs), "")
	err = x.client.UpdateCollection(ctx, &qc.UpdateCollection{CollectionName: x.collection, Metadata: metadataOf(g)})
	if err != nil {
		return kb.Generation{}, fmt.Errorf("qdrant: commit generation to %q: %w", x.collection, err)
	}
	back, err := x.Generation(ctx)
	if err != nil {
		return kb.Generation{}, err
	}
	if !back.Same(g) {
		return kb.Generation{}, fmt.Errorf("%w: collection %q", ErrNoMetadata, x.collection)
	}
	return g, nil
}

// Open checks that the collection still has the vectors the index needs and returns the
// index itself: Qdrant serves what the collection holds, so the generation read is the
// one committed, with the number of points found now.
func (x *Index) Open(ctx context.Context, _ bool) (kb.Index, kb.Generation, error) {
	info, err := x.client.GetCollectionInfo(ctx, x.collection)
	if err != nil {
		return nil, kb.Generation{}, fmt.Errorf("qdrant: collection %q: %w", x.collection, err)
	}
	if err := checkSchema(info.GetConfig().GetParams(), x.opts.DenseSize); err != nil {
		return nil, kb.Generation{}, fmt.Errorf("%w: collection %q: %w", ErrSchema, x.collection, err)
	}
	g := generationOf(info.GetConfig().GetMetadata())
	g.Chunks = int(info.GetPointsCount())
	return x, g, nil
}

func metadataOf(g kb.Generation) map[string]*qc.Value {
	return map[string]*qc.Value{
		metaGeneration:  qc.NewValueInt(int64(g.N)),
		metaStamp:       qc.NewValueString(g.Stamp),
		metaChunks:      qc.NewValueInt(int64(g.Chunks)),
		metaDocuments:   qc.NewValueInt(int64(g.Documents)),
		metaCommittedAt: qc.NewValueString(g.CommittedAt.Format(time.RFC3339Nano)),
	}
}

func generationOf(m map[string]*qc.Value) kb.Generation {
	g := kb.Generation{
		N:         uint64(max(m[metaGeneration].GetIntegerValue(), 0)),
		Stamp:     m[metaStamp].GetStringValue(),
		Chunks:    int(m[metaChunks].GetIntegerValue()),
		Documents: int(m[metaDocuments].GetIntegerValue()),
	}
	if t, err := time.Parse(time.RFC3339Nano, m[metaCommittedAt].GetStringValue()); err == nil {
		g.CommittedAt = t
	}
	return g
}
