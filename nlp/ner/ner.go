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
	"sync"
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
	lookup  table            // index and weights, for scoring
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
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	s.toks = appendTokens(s.toks[:0], text)
	if len(s.toks) == 0 {
		return nil
	}
	s.hashes.fill(text, s.toks)
	tags := m.decodeWith(s, len(s.toks), func(i int, out []float32, feats []uint64) []uint64 {
		return m.score(&s.hashes, s.toks, i, out, feats)
	})
	return spans(s.toks, tags, m.types)
}

// scratch is the memory one Entities call works in, reused through scratchPool: a
// tagger runs on every message.
type scratch struct {
	toks   []token
	hashes tokenHashes
	feats  []uint64
	scores []float32
	back   []int32
	tags   []int
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// score adds the weights of token i's features to out (one per tag).
func (m *Model) score(hs *tokenHashes, toks []token, i int, out []float32, feats []uint64) []uint64 {
	feats = features(feats[:0], hs, toks, i)
	m.lookup.addAll(feats, out)
	return feats
}

// scorer fills out with the emission scores of token i; feats is scratch space.
type scorer func(i int, out []float32, feats []uint64) []uint64

// decode returns the best tag sequence (Viterbi) of toks under the emission scores of sc
// and the model's transitions; an I tag only follows a B or I of its type.
func (m *Model) decode(toks []token, sc scorer) []int {
	return m.decodeWith(new(scratch), len(toks), sc)
}

// decodeWith is decode of n tokens in s's memory; the tags it returns are s's.
func (m *Model) decodeWith(s *scratch, n int, sc scorer) []int {
	nt := numTags(len(m.types))
	s.scores = grow(s.scores, 2*n*nt) // emission and Viterbi scores
	emit, best := s.scores[:n*nt], s.scores[n*nt:]
	clear(emit)
	for i := range n {
		s.feats = sc(i, emit[i*nt:(i+1)*nt], s.feats)
	}
	s.back = grow(s.back, n*nt)
	back := s.back
	const never = float32(-1e30)
	for t := range nt {
		best[t] = never
		if allowed(-1, t) {
			best[t] = m.trans[t] + emit[t]
		}
	}
	for i := 1; i < n; i++ {
		prev := best[(i-1)*nt : i*nt]
		for t := range nt {
			b, arg := never, int32(0)
			if t == 0 || t%2 == 1 {
				for p := range nt {
					if s := prev[p] + m.trans[(p+1)*nt+t]; s > b {
						b, arg = s, int32(p)
					}
				}
			} else { // an I tag: after its B or itself
				for _, p := range [2]int{t - 1, t} {
					if s := prev[p] + m.trans[(p+1)*nt+t]; s > b {
						b, arg = s, int32(p)
					}
				}
			}
			best[i*nt+t], back[i*nt+t] = b+emit[i*nt+t], arg
		}
	}
	s.tags = grow(s.tags, n)
	tags := s.tags
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

// grow returns b resized to n, reusing its memory when it has room.
func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
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
