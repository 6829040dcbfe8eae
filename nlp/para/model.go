package para

import (
	"context"
	"math"
)

// Model is a trained paraphrase encoder: every hashed feature of a text has a vector,
// and a text's vector is the normalised sum of its features' vectors. Features seen in
// training have learned vectors; any other feature has a fixed pseudo-random vector
// derived from its hash, so two texts sharing words unknown to the model still come out
// similar (the sum is then a random projection of their bags of features). It is safe
// for concurrent use.
type Model struct {
	dim int
	// slot numbers the learned features; feature s has the row q[s*dim:(s+1)*dim] of
	// int8 multiples of scale[s], and the weight idf[s]: rarer features count more.
	// Features without a slot get unseenIDF.
	slot      map[uint64]int32
	q         []int8
	scale     []float32
	idf       []float32
	unseenIDF float32
	// fingerprint identifies the file the model was loaded from (and, for a model
	// adapted to an FAQ, that FAQ).
	fingerprint string
	// base, when set, answers for the features without a slot here: an adapted model
	// holds only the rows its FAQ changed (see Adapt).
	base *Model
	// Info says what the model was trained on and how.
	Info Info
}

// Info describes a trained model.
type Info struct {
	Dim       int      `json:"dim"`
	TrainedOn []string `json:"trained_on"` // the data sets whose groups or pairs it saw
	Groups    int      `json:"groups"`     // paraphrase groups
	Texts     int      `json:"texts"`      // training texts
	Features  int      `json:"features"`   // features with learned vectors
	Epochs    int      `json:"epochs"`
	Seconds   float64  `json:"seconds"` // training time
	// AdaptedTo is how many FAQ entries the model was adapted to (Adapt), 0 for none.
	AdaptedTo int `json:"adapted_to,omitempty"`
}

// Dim is the length of the vectors.
func (m *Model) Dim() int { return m.dim }

// Vector returns the normalised vector of text (all zeros when text has no features).
func (m *Model) Vector(text string) []float32 {
	v := make([]float32, m.dim)
	m.sum(Features(text), v)
	normalize(v)
	return v
}

// Encode is Vector in the shape of a dense encoder of the knowledge base.
func (m *Model) Encode(_ context.Context, text string) ([]float32, error) {
	return m.Vector(text), nil
}

// EncodeBatch encodes each text.
func (m *Model) EncodeBatch(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = m.Vector(t)
	}
	return out, nil
}

// Similarity is the cosine similarity of the vectors of a and b.
func (m *Model) Similarity(a, b string) float64 {
	return float64(dot(m.Vector(a), m.Vector(b)))
}

// sum adds the weighted vectors of feats into v.
func (m *Model) sum(feats []uint64, v []float32) {
	var tmp []float32
	for _, f := range feats {
		owner, s, ok := m.lookup(f)
		if !ok {
			if tmp == nil {
				tmp = make([]float32, m.dim)
			}
			initRow(f, tmp)
			for i, x := range tmp {
				v[i] += m.unseenIDF * x
			}
			continue
		}
		w := owner.idf[s] * owner.scale[s]
		for i, x := range owner.q[int(s)*m.dim : int(s+1)*m.dim] {
			v[i] += w * float32(x)
		}
	}
}

// lookup finds the learned row of feature f: the model holding it and its slot there.
func (m *Model) lookup(f uint64) (*Model, int32, bool) {
	for ; m != nil; m = m.base {
		if s, ok := m.slot[f]; ok {
			return m, s, true
		}
	}
	return nil, 0, false
}

// row writes the learned row of feature f into dst (dequantised) and returns its
// weight, or fills dst with the starting vector and returns the weight of an unseen
// feature.
func (m *Model) row(f uint64, dst []float32) float32 {
	owner, s, ok := m.lookup(f)
	if !ok {
		initRow(f, dst)
		return m.unseenIDF
	}
	for i, x := range owner.q[int(s)*m.dim : int(s+1)*m.dim] {
		dst[i] = owner.scale[s] * float32(x)
	}
	return owner.idf[s]
}

// add appends a learned feature, quantising its row to int8 multiples of a scale.
func (m *Model) add(f uint64, row []float32, idf float32) {
	var peak float32
	for _, x := range row {
		peak = max(peak, float32(math.Abs(float64(x))))
	}
	scale := peak / 127
	m.slot[f] = int32(len(m.scale))
	m.scale = append(m.scale, scale)
	m.idf = append(m.idf, idf)
	for _, x := range row {
		q := int8(0)
		if scale > 0 {
			q = int8(max(-127, min(127, math.Round(float64(x/scale)))))
		}
		m.q = append(m.q, q)
	}
}

// Features is how many features have learned vectors (an adapted model's own rows).
func (m *Model) Features() int { return len(m.scale) }

// initRow fills row with the pseudo-random starting vector of feature f: each element
// uniform in ±√(3/dim), so a row has unit expected length.
func initRow(f uint64, row []float32) {
	s := f ^ 0x9e3779b97f4a7c15
	scale := float32(math.Sqrt(3 / float64(len(row))))
	for i := range row {
		s += 0x9e3779b97f4a7c15
		z := s
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		u := float32(z>>40) / float32(1<<24) // [0, 1)
		row[i] = (2*u - 1) * scale
	}
}

func normalize(v []float32) float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		return 0
	}
	norm := float32(math.Sqrt(n))
	for i := range v {
		v[i] /= norm
	}
	return norm
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
