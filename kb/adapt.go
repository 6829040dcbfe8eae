package kb

import (
	"context"
	"fmt"
)

// Adapter specialises a dense encoder to one knowledge base: given the phrasings of each
// of its FAQ entries, it returns the encoder to embed that knowledge base's chunks and
// questions with (the paraphrase encoder's Adapt, wrapped).
type Adapter func(ctx context.Context, entries [][]string) (DenseEncoder, error)

// Adaptation is what Adapt did.
type Adaptation struct {
	Entries int          // FAQ entries the encoder was adapted to
	Encoder DenseEncoder // the adapted encoder
}

// Adapt returns idx served through an encoder adapted to idx's own FAQ: the phrasings of
// each FAQ entry (the chunks of one document sharing an answer) go to adapt, and every
// chunk is embedded again by the encoder it returns, into an in-memory copy of idx that
// shares its chunks and lexical vectors. Retrieval over the copy must encode questions
// with Adaptation.Encoder. Only the embedded index can be copied this way: any other
// index, or one without two FAQ entries, comes back as it is with a zero Adaptation.
// idx itself is never changed.
func Adapt(ctx context.Context, idx Index, adapt Adapter) (Index, Adaptation, error) {
	x, ok := idx.(*Embedded)
	if !ok {
		return idx, Adaptation{}, nil
	}
	x.mu.RLock()
	points := x.pointsLocked()
	x.mu.RUnlock()
	entries := FAQEntries(points)
	if len(entries) < 2 {
		return idx, Adaptation{}, nil
	}
	enc, err := adapt(ctx, entries)
	if err != nil {
		return nil, Adaptation{}, fmt.Errorf("kb: adapt the encoder to the FAQ: %w", err)
	}
	texts := make([]string, len(points))
	for i, p := range points {
		texts[i] = embedText(p.Chunk)
	}
	vecs, err := encodeTexts(ctx, enc, texts)
	if err == nil && len(vecs) != len(points) {
		err = fmt.Errorf("%d vectors for %d texts", len(vecs), len(points))
	}
	if err != nil {
		return nil, Adaptation{}, fmt.Errorf("kb: embed the chunks with the adapted encoder: %w", err)
	}
	out := newEmbedded("")
	for i, p := range points {
		// the stored points are never modified in place, so the copy can share them
		p.Dense = normalize(vecs[i])
		out.insertLocked(p)
	}
	return out, Adaptation{Entries: len(entries), Encoder: enc}, nil
}

// FAQEntries gathers the phrasings of each FAQ entry among points: the question chunks
// of one document that share an answer (not the answer's own chunk), in the order they
// first appear.
func FAQEntries(points []Point) [][]string {
	var out [][]string
	at := map[[2]string]int{}
	for _, p := range points {
		if p.Chunk.Answer == "" || p.Chunk.Meta["kind"] == KindFAQAnswer {
			continue
		}
		key := [2]string{p.Chunk.DocID, p.Chunk.Answer}
		i, ok := at[key]
		if !ok {
			i = len(out)
			at[key] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], embedText(p.Chunk))
	}
	return out
}

// encodeTexts embeds texts with enc, in one call when it batches.
func encodeTexts(ctx context.Context, enc DenseEncoder, texts []string) ([][]float32, error) {
	if b, ok := enc.(BatchEncoder); ok {
		return b.EncodeBatch(ctx, texts)
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v, err := enc.Encode(ctx, t)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
