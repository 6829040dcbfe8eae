package kb

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Default BM25 parameters of the lexical embedder.
const (
	DefaultK1     = 1.2
	DefaultB      = 0.75
	DefaultAvgLen = 12.0
)

// LexicalEmbedder turns text into sparse vectors without any model. Tokens are lower-cased
// Unicode words (digits included, a light English plural folding applied, English
// stop-words dropped when StopWords is set) plus CJK character unigrams and bigrams; each
// token is hashed (FNV-1a, 32 bit) to a term id. Documents get BM25 term-frequency weights
// tf·(k1+1)/(tf+k1·(1−b+b·len/AvgLen)); queries get 1 per distinct term. IDF is left to
// the index, which knows document frequencies. The zero value is not usable; call
// NewLexicalEmbedder. An embedder is safe for concurrent use.
type LexicalEmbedder struct {
	K1        float64 // term-frequency saturation
	B         float64 // length normalisation strength
	AvgLen    float64 // estimated average document length in tokens
	StopWords bool    // drop English stop-words
}

// NewLexicalEmbedder returns an embedder with k1 = 1.2, b = 0.75, an average length of 12
// tokens (between English customer questions, about 6 tokens after stop-words, and Chinese
// ones, about 21 unigrams and bigrams: BANKING77 and BQ measured) and English stop-words
// dropped.
func NewLexicalEmbedder() *LexicalEmbedder {
	return &LexicalEmbedder{K1: DefaultK1, B: DefaultB, AvgLen: DefaultAvgLen, StopWords: true}
}

// Tokens returns the tokens of text in order, before hashing (words, then CJK unigrams
// and bigrams as they occur).
func (e *LexicalEmbedder) Tokens(text string) []string {
	var out []string
	e.tokenize(text, func(tok string) { out = append(out, tok) })
	return out
}

// Document returns the BM25-weighted sparse vector of a document or chunk.
func (e *LexicalEmbedder) Document(text string) SparseVector {
	tf := make(map[uint32]float64)
	n := 0
	e.tokenize(text, func(tok string) { tf[termID(tok)]++; n++ })
	norm := e.K1 * (1 - e.B + e.B*float64(n)/e.avgLen())
	return fromMap(tf, func(f float64) float32 { return float32(f * (e.K1 + 1) / (f + norm)) })
}

// Query returns the sparse vector of a query: weight 1 for every distinct term.
func (e *LexicalEmbedder) Query(text string) SparseVector {
	tf := make(map[uint32]float64)
	e.tokenize(text, func(tok string) { tf[termID(tok)] = 1 })
	return fromMap(tf, func(float64) float32 { return 1 })
}

func (e *LexicalEmbedder) avgLen() float64 {
	if e.AvgLen <= 0 {
		return DefaultAvgLen
	}
	return e.AvgLen
}

// fromMap builds a sorted sparse vector from term counts.
func fromMap(tf map[uint32]float64, weight func(float64) float32) SparseVector {
	v := SparseVector{Indices: make([]uint32, 0, len(tf)), Values: make([]float32, len(tf))}
	for id := range tf {
		v.Indices = append(v.Indices, id)
	}
	slices.Sort(v.Indices)
	for i, id := range v.Indices {
		v.Values[i] = weight(tf[id])
	}
	return v
}

// termID hashes a token with 32-bit FNV-1a.
func termID(tok string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(tok); i++ {
		h ^= uint32(tok[i])
		h *= 16777619
	}
	return h
}

// isCJK reports whether r is written without spaces between words (Han, kana, Hangul,
// and the prolonged-sound and iteration marks).
func isCJK(r rune) bool {
	return r == 'ー' || r == '々' || unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// tokenize calls emit for every token of text.
func (e *LexicalEmbedder) tokenize(text string, emit func(string)) {
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case isCJK(r):
			j := i
			for j < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if !isCJK(r2) {
					break
				}
				j += s2
			}
			emitCJK(text[i:j], emit)
			i = j
		case isWordRune(r):
			j := i
			for j < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if isCJK(r2) || !(isWordRune(r2) || isInnerApostrophe(text, j, r2)) {
					break
				}
				j += s2
			}
			e.emitWord(text[i:j], emit)
			i = j
		default:
			i += size
		}
	}
}

// isInnerApostrophe keeps "don't" and "card's" together as one word.
func isInnerApostrophe(text string, j int, r rune) bool {
	if r != '\'' && r != '’' {
		return false
	}
	next, _ := utf8.DecodeRuneInString(text[j+utf8.RuneLen(r):])
	return unicode.IsLetter(next)
}

// emitCJK emits the unigrams and bigrams of a run of CJK characters.
func emitCJK(run string, emit func(string)) {
	prev := -1
	for i, r := range run {
		emit(run[i : i+utf8.RuneLen(r)])
		if prev >= 0 {
			emit(run[prev : i+utf8.RuneLen(r)])
		}
		prev = i
	}
}

func (e *LexicalEmbedder) emitWord(w string, emit func(string)) {
	w = strings.ToLower(strings.ReplaceAll(w, "’", "'"))
	if e.StopWords {
		if _, stop := stopWords[w]; stop {
			return
		}
	}
	emit(foldPlural(w))
}

// foldPlural maps simple English plurals to their singular ("cards" → "card",
// "fees" → "fee", "policies" → "policy") so that both forms share a term.
func foldPlural(w string) string {
	n := len(w)
	switch {
	case n > 4 && strings.HasSuffix(w, "ies"):
		return w[:n-3] + "y"
	case n > 3 && w[n-1] == 's' && !strings.ContainsRune("sui'", rune(w[n-2])):
		return w[:n-1]
	}
	return w
}

// stopWords are common English function words that carry no topic.
var stopWords = func() map[string]struct{} {
	list := strings.Fields(`a an the and or but if then so of to in on at by for with from
		as into about than is are was were be been being am do does did doing have has had
		having i me my mine myself we us our ours you your yours he him his she her hers it
		its they them their this that these those there here what which who whom whose
		can could would should will shall may might must just very too also not no yes
		please hi hello thanks thank i'm i've i'd it's that's there's`)
	m := make(map[string]struct{}, len(list))
	for _, w := range list {
		m[w] = struct{}{}
	}
	return m
}()
