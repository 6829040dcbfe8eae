package intent

import (
	"encoding/gob"
	"fmt"
	"io"
)

// modelFormat identifies the saved-model layout; Load rejects any other.
const modelFormat = "switchboard-intent-v1"

// savedModel is the gob-encoded form of a Classifier. Vocab lists the feature names in
// index order.
type savedModel struct {
	Format string
	Labels []string
	Vocab  []string
	IDF    []float32
	OOVIDF float32
	W      []float32
	Bias   []float32
}

// Save writes the classifier to w in a self-contained binary form that [Load] reads.
func (c *Classifier) Save(w io.Writer) error {
	m := savedModel{
		Format: modelFormat,
		Labels: c.labels,
		Vocab:  make([]string, len(c.vec.idf)),
		IDF:    c.vec.idf,
		OOVIDF: c.vec.oovIDF,
		W:      c.w,
		Bias:   c.bias,
	}
	for term, i := range c.vec.vocab {
		m.Vocab[i] = term
	}
	if err := gob.NewEncoder(w).Encode(&m); err != nil {
		return fmt.Errorf("intent: save: %w", err)
	}
	return nil
}

// Load reads a classifier written by [Classifier.Save]. A malformed or inconsistent
// model yields an error wrapping [ErrBadModel].
func Load(r io.Reader) (*Classifier, error) {
	var m savedModel
	if err := gob.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	k, f := len(m.Labels), len(m.Vocab)
	switch {
	case m.Format != modelFormat:
		return nil, fmt.Errorf("%w: format %q, want %q", ErrBadModel, m.Format, modelFormat)
	case k < 2 || len(m.Bias) != k:
		return nil, fmt.Errorf("%w: %d labels, %d biases", ErrBadModel, k, len(m.Bias))
	case len(m.IDF) != f || len(m.W) != f*k || m.OOVIDF <= 0:
		return nil, fmt.Errorf("%w: %d terms, %d idf, %d weights", ErrBadModel, f, len(m.IDF), len(m.W))
	}
	vec := &vectorizer{vocab: make(map[string]int32, f), idf: m.IDF, oovIDF: m.OOVIDF}
	for i, term := range m.Vocab {
		vec.vocab[term] = int32(i)
	}
	if len(vec.vocab) != f {
		return nil, fmt.Errorf("%w: duplicate terms in vocabulary", ErrBadModel)
	}
	vec.indexHashes()
	return &Classifier{labels: m.Labels, vec: vec, w: m.W, bias: m.Bias}, nil
}
