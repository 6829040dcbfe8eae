package qdrant

import (
	"context"
	"fmt"
	"math"

	"github.com/google/uuid"
	qc "github.com/qdrant/go-client/qdrant"

	"github.com/switchboard-cs/switchboard/kb"
)

// idSpace is the UUIDv5 namespace of point ids.
var idSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/switchboard-cs/switchboard/kb/chunk"))

// PointID returns the Qdrant point id of a chunk: the UUIDv5 of its id, since Qdrant
// accepts only unsigned integers and UUIDs as point ids.
func PointID(chunkID string) string {
	return uuid.NewSHA1(idSpace, []byte(chunkID)).String()
}

// Payload keys of a stored chunk.
const (
	keyID     = "id"
	keyDocID  = "doc_id"
	keySource = "source"
	keyTitle  = "title"
	keyText   = "text"
	keyAnswer = "answer"
	keyHash   = "hash"
	keyMeta   = "meta"
)

// Upsert inserts or replaces points by Chunk.ID. All points are validated before any is
// sent; batches are written in order and each waits until applied, but a failure midway
// leaves the earlier batches stored.
func (x *Index) Upsert(ctx context.Context, points []kb.Point) error {
	structs := make([]*qc.PointStruct, len(points))
	for i, p := range points {
		s, err := x.pointStruct(p)
		if err != nil {
			return err
		}
		structs[i] = s
	}
	for start := 0; start < len(structs); start += x.opts.BatchSize {
		end := min(start+x.opts.BatchSize, len(structs))
		_, err := x.client.Upsert(ctx, &qc.UpsertPoints{
			CollectionName: x.collection,
			Wait:           qc.PtrOf(true),
			Points:         structs[start:end],
		})
		if err != nil {
			return fmt.Errorf("qdrant: upsert into %q: %w", x.collection, err)
		}
	}
	return nil
}

// Delete removes the chunks with the given ids; unknown ids are ignored.
func (x *Index) Delete(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return ctx.Err()
	}
	pids := make([]*qc.PointId, len(ids))
	for i, id := range ids {
		pids[i] = qc.NewIDUUID(PointID(id))
	}
	_, err := x.client.Delete(ctx, &qc.DeletePoints{
		CollectionName: x.collection,
		Wait:           qc.PtrOf(true),
		Points:         qc.NewPointsSelectorIDs(pids),
	})
	if err != nil {
		return fmt.Errorf("qdrant: delete from %q: %w", x.collection, err)
	}
	return nil
}

// Hashes returns chunk id → content hash for every stored chunk, scrolling through the
// collection page by page.
func (x *Index) Hashes(ctx context.Context) (map[string]string, error) {
	out := make(map[string]string)
	var offset *qc.PointId
	for {
		page, next, err := x.client.ScrollAndOffset(ctx, &qc.ScrollPoints{
			CollectionName: x.collection,
			Offset:         offset,
			Limit:          qc.PtrOf(uint32(512)),
			WithPayload:    qc.NewWithPayloadInclude(keyID, keyHash),
			WithVectors:    qc.NewWithVectors(false),
		})
		if err != nil {
			return nil, fmt.Errorf("qdrant: scroll %q: %w", x.collection, err)
		}
		for _, p := range page {
			out[p.GetPayload()[keyID].GetStringValue()] = p.GetPayload()[keyHash].GetStringValue()
		}
		if next == nil {
			return out, nil
		}
		offset = next
	}
}

// pointStruct validates p and converts it to a Qdrant point. The sparse vector is always
// stored, even when empty, so that every chunk counts in the IDF statistics.
func (x *Index) pointStruct(p kb.Point) (*qc.PointStruct, error) {
	if p.Chunk.ID == "" {
		return nil, fmt.Errorf("%w: empty chunk id", kb.ErrInvalidPoint)
	}
	if err := checkSparse(p.Sparse, true); err != nil {
		return nil, fmt.Errorf("%w: chunk %q: %w", kb.ErrInvalidPoint, p.Chunk.ID, err)
	}
	vectors := map[string]*qc.Vector{
		SparseVector: qc.NewVectorSparse(p.Sparse.Indices, p.Sparse.Values),
	}
	if len(p.Dense) > 0 {
		if err := x.checkDense(p.Dense); err != nil {
			return nil, fmt.Errorf("%w: chunk %q: %w", kb.ErrInvalidPoint, p.Chunk.ID, err)
		}
		if usable(p.Dense) {
			vectors[DenseVector] = qc.NewVectorDense(p.Dense)
		}
	}
	return &qc.PointStruct{
		Id:      qc.NewIDUUID(PointID(p.Chunk.ID)),
		Payload: payloadOf(p),
		Vectors: qc.NewVectorsMap(vectors),
	}, nil
}

// checkSparse requires matching lengths and unique indices (Qdrant's rules); stored
// documents must moreover be sorted ascending with positive weights, like the embedded
// index requires.
func checkSparse(v kb.SparseVector, document bool) error {
	if len(v.Indices) != len(v.Values) {
		return fmt.Errorf("%d sparse indices but %d values", len(v.Indices), len(v.Values))
	}
	seen := make(map[uint32]struct{}, len(v.Indices))
	for i, t := range v.Indices {
		if _, dup := seen[t]; dup {
			return fmt.Errorf("sparse index %d repeated", t)
		}
		seen[t] = struct{}{}
		if document && i > 0 && t < v.Indices[i-1] {
			return fmt.Errorf("sparse indices not strictly ascending at %d", i)
		}
	}
	for _, w := range v.Values {
		if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) || (document && !(w > 0)) {
			return fmt.Errorf("sparse weight %v is not a positive number", w)
		}
	}
	return nil
}

// checkDense requires the configured dimension.
func (x *Index) checkDense(v []float32) error {
	if x.opts.DenseSize == 0 {
		return fmt.Errorf("dense vector given but the index has no dense vectors")
	}
	if uint64(len(v)) != x.opts.DenseSize {
		return fmt.Errorf("dense vector has %d dimensions, want %d", len(v), x.opts.DenseSize)
	}
	return nil
}

// usable reports whether a dense vector has a finite, non-zero norm; the embedded index
// treats any other vector as absent, and so does this one.
func usable(v []float32) bool {
	var sum float64
	for _, f := range v {
		sum += float64(f) * float64(f)
	}
	return sum != 0 && !math.IsNaN(sum) && !math.IsInf(sum, 0)
}

// payloadOf encodes the chunk, its hash and its Meta map.
func payloadOf(p kb.Point) map[string]*qc.Value {
	c := p.Chunk
	payload := map[string]*qc.Value{
		keyID:     qc.NewValueString(c.ID),
		keyDocID:  qc.NewValueString(c.DocID),
		keySource: qc.NewValueString(c.Source),
		keyTitle:  qc.NewValueString(c.Title),
		keyText:   qc.NewValueString(c.Text),
		keyAnswer: qc.NewValueString(c.Answer),
		keyHash:   qc.NewValueString(p.Hash),
	}
	if c.Meta != nil {
		fields := make(map[string]*qc.Value, len(c.Meta))
		for k, v := range c.Meta {
			fields[k] = qc.NewValueString(v)
		}
		payload[keyMeta] = qc.NewValueFromFields(fields)
	}
	return payload
}

// chunkOf decodes a payload written by payloadOf.
func chunkOf(payload map[string]*qc.Value) kb.Chunk {
	c := kb.Chunk{
		ID:     payload[keyID].GetStringValue(),
		DocID:  payload[keyDocID].GetStringValue(),
		Source: payload[keySource].GetStringValue(),
		Title:  payload[keyTitle].GetStringValue(),
		Text:   payload[keyText].GetStringValue(),
		Answer: payload[keyAnswer].GetStringValue(),
	}
	if meta, ok := payload[keyMeta]; ok {
		fields := meta.GetStructValue().GetFields()
		c.Meta = make(map[string]string, len(fields))
		for k, v := range fields {
			c.Meta[k] = v.GetStringValue()
		}
	}
	return c
}
