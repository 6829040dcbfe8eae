// Package ner finds people's names and street addresses in text with a sequence tagger
// Switchboard trains itself, no pretrained weights: a linear-chain model over tokens
// (words, numbers, CJK characters, punctuation, line breaks), scored by hashed features
// of each token and its neighbours (the words, their shapes, prefixes and suffixes, word
// pairs, the line's start) and by tag transitions, decoded with Viterbi and trained as an
// averaged perceptron. nlp/pii uses it for the names and addresses its cues miss.
//
// Tags are BIO over the model's entity types. Training data are texts with entity spans
// (the presidio-research synthetic set's training part, zh_address_parsing's dev split);
// a few thousand texts train in seconds on one core.
package ner

import (
	"errors"
	"fmt"
	"strings"
)

// Entity is one span the tagger found or a training text holds: byte offsets into the
// text and the type.
type Entity struct {
	Type       string
	Start, End int
}

// Example is a training text and its entities.
type Example struct {
	Text     string
	Entities []Entity
}

// ErrFormat reports a model file that is not one, or of another version.
var ErrFormat = errors.New("ner: not a tagger model")

// Model is a trained tagger. It is read-only after training and safe for concurrent use.
type Model struct {
	types   []string
	index   map[uint64]int32 // feature → row of weights
	lookup  table            // index, for scoring
	weights []float32        // row-major, one weight per tag
	// trans[(p+1)*tags+t] scores tag t after tag p; p = -1 is the text's start.
	trans []float32
	Info  Info
}

// Info says what a model was trained on.
type Info struct {
	Types     []string `json:"types"`
	Examples  int      `json:"examples"`
	Epochs    int      `json:"epochs"`
	Features  int      `json:"features"`
	TrainedOn []string `json:"trained_on"`
}

func (i Info) String() string {
	return fmt.Sprintf("tagger of %s: %d features, %d examples of %s, %d epochs",
		strings.Join(i.Types, ", "), i.Features, i.Examples, strings.Join(i.TrainedOn, ", "), i.Epochs)
}

// numTags is O plus B and I of each type.
func numTags(types int) int { return 1 + 2*types }

// Entities returns the entities of text, in order.
func (m *Model) Entities(text string) []Entity {
	toks := tokenize(text)
	if len(toks) == 0 {
		return nil
	}
	hs := hashTokens(text, toks)
	tags := m.decode(toks, func(i int, out []float32, feats []uint64) []uint64 { return m.score(&hs, toks, i, out, feats) })
	return spans(toks, tags, m.types)
}

// score adds the weights of token i's features to out (one per tag).
func (m *Model) score(hs *tokenHashes, toks []token, i int, out []float32, feats []uint64) []uint64 {
	feats = features(feats[:0], hs, toks, i)
	nt := len(out)
	for _, f := range feats {
		row, ok := m.lookup.row(f)
		if !ok {
			continue
		}
		w := m.weights[int(row)*nt : int(row+1)*nt]
		for t := range out {
			out[t] += w[t]
		}
	}
	return feats
}

// scorer fills out with the emission scores of token i; feats is scratch space.
type scorer func(i int, out []float32, feats []uint64) []uint64

// decode returns the best tag sequence (Viterbi) under the emission scores of sc and the
// model's transitions; an I tag only follows a B or I of its type.
func (m *Model) decode(toks []token, sc scorer) []int {
	nt := numTags(len(m.types))
	n := len(toks)
	scores := make([]float32, 2*n*nt) // emission and Viterbi scores, one allocation
	emit, best := scores[:n*nt], scores[n*nt:]
	feats := make([]uint64, 0, 24)
	for i := range n {
		feats = sc(i, emit[i*nt:(i+1)*nt], feats)
	}
	back := make([]int32, n*nt)
	const never = float32(-1e30)
	for t := range nt {
		best[t] = never
		if allowed(-1, t) {
			best[t] = m.trans[t] + emit[t]
		}
	}
	for i := 1; i < n; i++ {
		for t := range nt {
			b, arg := never, int32(0)
			for p := range nt {
				if !allowed(p, t) {
					continue
				}
				if s := best[(i-1)*nt+p] + m.trans[(p+1)*nt+t]; s > b {
					b, arg = s, int32(p)
				}
			}
			best[i*nt+t], back[i*nt+t] = b+emit[i*nt+t], arg
		}
	}
	tags := make([]int, n)
	last := 0
	for t := 1; t < nt; t++ {
		if best[(n-1)*nt+t] > best[(n-1)*nt+last] {
			last = t
		}
	}
	for i := n - 1; i >= 0; i-- {
		tags[i] = last
		last = int(back[i*nt+last])
	}
	return tags
}

// allowed reports whether tag t may follow tag p (p = -1: the start). Tag 0 is O, 2k+1
// B of type k, 2k+2 I of type k.
func allowed(p, t int) bool {
	if t == 0 || t%2 == 1 {
		return true
	}
	return p == t || p == t-1
}

// spans turns a tag sequence into entities.
func spans(toks []token, tags []int, types []string) []Entity {
	var out []Entity
	for i := 0; i < len(toks); {
		t := tags[i]
		if t == 0 {
			i++
			continue
		}
		k := (t - 1) / 2
		j := i + 1
		for j < len(toks) && tags[j] == 2*k+2 {
			j++
		}
		// an entity neither starts nor ends with a line break or punctuation
		a, b := i, j-1
		for a <= b && toks[a].kind != kindWord && toks[a].kind != kindNumber && toks[a].kind != kindHan {
			a++
		}
		for b >= a && toks[b].kind != kindWord && toks[b].kind != kindNumber && toks[b].kind != kindHan {
			b--
		}
		if a <= b {
			out = append(out, Entity{Type: types[k], Start: toks[a].start, End: toks[b].end})
		}
		i = j
	}
	return out
}
