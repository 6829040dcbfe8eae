package ner

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// TrainOptions tune Train.
type TrainOptions struct {
	Epochs    int      // passes over the examples; 0: 8
	Seed      uint64   // the order of the examples in each pass
	TrainedOn []string // names of the data sets, for Info
	// Progress, when set, is told after each pass how many examples it got wrong.
	Progress func(epoch, epochs, wrong int)
}

// prepared is one training example: its tokens, gold tags and feature rows.
type prepared struct {
	text  string
	toks  []token
	gold  []int
	feats [][]int32
}

// Train fits a tagger of types on examples: an averaged perceptron over the features of
// every token and the tag transitions.
func Train(ctx context.Context, types []string, examples []Example, o TrainOptions) (*Model, error) {
	if len(types) == 0 {
		return nil, fmt.Errorf("ner: no entity types")
	}
	if o.Epochs <= 0 {
		o.Epochs = 8
	}
	kind := map[string]int{}
	for k, t := range types {
		kind[t] = k
	}
	m := &Model{types: slices.Clone(types), index: map[uint64]int32{}}
	nt := numTags(len(types))
	var data []prepared
	var buf []uint64
	for _, ex := range examples {
		toks := tokenize(ex.Text)
		if len(toks) == 0 {
			continue
		}
		p := prepared{text: ex.Text, toks: toks, gold: goldTags(toks, ex.Entities, kind), feats: make([][]int32, len(toks))}
		hs := hashTokens(ex.Text, toks)
		for i := range toks {
			buf = features(buf[:0], &hs, toks, i)
			rows := make([]int32, len(buf))
			for j, f := range buf {
				row, ok := m.index[f]
				if !ok {
					row = int32(len(m.index))
					m.index[f] = row
				}
				rows[j] = row
			}
			p.feats[i] = rows
		}
		data = append(data, p)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("ner: no training text")
	}
	nf := len(m.index)
	m.weights = make([]float32, nf*nt)
	m.trans = make([]float32, (nt+1)*nt)
	// averaging: sums hold Σ c·Δ, so the average is w − sums/c
	sums := make([]float32, len(m.weights))
	transSums := make([]float32, len(m.trans))
	c := float32(1)
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b9))
	order := make([]int, len(data))
	for i := range order {
		order[i] = i
	}
	for epoch := range o.Epochs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		wrong := 0
		for _, k := range order {
			p := &data[k]
			pred := m.decode(p.toks, func(i int, out []float32, feats []uint64) []uint64 {
				for _, row := range p.feats[i] {
					w := m.weights[int(row)*nt : int(row+1)*nt]
					for t := range out {
						out[t] += w[t]
					}
				}
				return feats
			})
			if slices.Equal(pred, p.gold) {
				c++
				continue
			}
			wrong++
			for i := range p.toks {
				g, q := p.gold[i], pred[i]
				if g != q {
					for _, row := range p.feats[i] {
						base := int(row) * nt
						m.weights[base+g]++
						m.weights[base+q]--
						sums[base+g] += c
						sums[base+q] -= c
					}
				}
				gp, qp := -1, -1
				if i > 0 {
					gp, qp = p.gold[i-1], pred[i-1]
				}
				if g != q || gp != qp {
					m.trans[(gp+1)*nt+g]++
					m.trans[(qp+1)*nt+q]--
					transSums[(gp+1)*nt+g] += c
					transSums[(qp+1)*nt+q] -= c
				}
			}
			c++
		}
		if o.Progress != nil {
			o.Progress(epoch+1, o.Epochs, wrong)
		}
	}
	for i := range m.weights {
		m.weights[i] -= sums[i] / c
	}
	for i := range m.trans {
		m.trans[i] -= transSums[i] / c
	}
	m.prune()
	m.lookup = newTable(m.index, m.weights, nt)
	m.Info = Info{Types: m.types, Examples: len(data), Epochs: o.Epochs, Features: len(m.index), TrainedOn: o.TrainedOn}
	return m, nil
}

// goldTags tags each token by the entity it overlaps: B for the first, I for the rest.
func goldTags(toks []token, ents []Entity, kind map[string]int) []int {
	tags := make([]int, len(toks))
	for _, e := range ents {
		k, ok := kind[e.Type]
		if !ok {
			continue
		}
		first := true
		for i, t := range toks {
			if t.start < e.End && e.Start < t.end {
				if first {
					tags[i] = 2*k + 1
					first = false
				} else {
					tags[i] = 2*k + 2
				}
			}
		}
	}
	return tags
}

// prune drops the features whose averaged weights are all near zero.
func (m *Model) prune() {
	nt := numTags(len(m.types))
	keep := map[uint64]int32{}
	var weights []float32
	for f, row := range m.index {
		w := m.weights[int(row)*nt : int(row+1)*nt]
		big := false
		for _, x := range w {
			if math.Abs(float64(x)) > 1e-3 {
				big = true
				break
			}
		}
		if big {
			keep[f] = int32(len(keep))
			weights = append(weights, w...)
		}
	}
	m.index, m.weights = keep, weights
}
