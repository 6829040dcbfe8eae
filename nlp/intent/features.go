package intent

import (
	"hash/maphash"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// token is one unit of text after tokenisation: a lower-cased word of letters and digits,
// or a single CJK character.
type token struct {
	text string
	cjk  bool
}

// Feature-name prefixes keep the word block and the character block apart.
const (
	prefixWord   = "w\x00"
	prefixBigram = "b\x00"
	prefixChar   = "c\x00"
	minCharGram  = 2
	maxCharGram  = 5
	maxWordRunes = 40 // longer "words" (URLs, base64) add no signal, only cost
	maxTextRunes = 2000
)

// isCJK reports whether r is written without spaces between words (Han, kana, Hangul):
// such text is split into one token per character.
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

// isWordRune reports whether r belongs inside a space-delimited word.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// tokenize lower-cases text and splits it into words (letters, digits and inner
// apostrophes) and single CJK characters; everything else separates tokens. At most
// maxTextRunes runes are read.
func tokenize(text string) []token {
	var (
		toks []token
		cur  []rune
	)
	flush := func() {
		for len(cur) > 0 && cur[len(cur)-1] == '\'' {
			cur = cur[:len(cur)-1]
		}
		if len(cur) > 0 {
			if len(cur) > maxWordRunes {
				cur = cur[:maxWordRunes]
			}
			toks = append(toks, token{text: string(cur)})
		}
		cur = cur[:0]
	}
	n := 0
	for _, r := range text {
		if n++; n > maxTextRunes {
			break
		}
		r = unicode.ToLower(r)
		switch {
		case isCJK(r):
			flush()
			toks = append(toks, token{text: string(r), cjk: true})
		case isWordRune(r):
			cur = append(cur, r)
		case (r == '\'' || r == '’') && len(cur) > 0:
			cur = append(cur, '\'')
		default:
			flush()
		}
	}
	flush()
	return toks
}

// termCounts holds raw term frequencies of the two feature blocks of one text.
type termCounts struct {
	word map[string]int // word unigrams and bigrams (CJK: character unigrams and bigrams)
	char map[string]int // character 2–5-grams inside non-CJK words
}

// countTerms extracts the features of text: word unigrams and adjacent-token bigrams
// (which for CJK runs are character unigrams and bigrams), plus character n-grams of
// minCharGram–maxCharGram runes inside each non-CJK word padded with '<' and '>'.
func countTerms(text string) termCounts {
	toks := tokenize(text)
	tc := termCounts{word: make(map[string]int, 2*len(toks)), char: make(map[string]int, 8*len(toks))}
	for i, t := range toks {
		tc.word[prefixWord+t.text]++
		if i+1 < len(toks) {
			sep := " "
			if t.cjk && toks[i+1].cjk {
				sep = ""
			}
			tc.word[prefixBigram+t.text+sep+toks[i+1].text]++
		}
		if !t.cjk {
			addCharGrams(tc.char, t.text)
		}
	}
	return tc
}

// addCharGrams counts the character n-grams of one word padded with boundary marks.
func addCharGrams(dst map[string]int, word string) {
	rs := []rune("<" + word + ">")
	var b strings.Builder
	for n := minCharGram; n <= maxCharGram; n++ {
		for i := 0; i+n <= len(rs); i++ {
			b.Reset()
			b.WriteString(prefixChar)
			b.WriteString(string(rs[i : i+n]))
			dst[b.String()]++
		}
	}
}

// sparse is a sparse feature vector with indices in increasing order.
type sparse struct {
	idx []int32
	val []float32
}

// vectorizer maps texts to sublinear TF-IDF vectors over a fixed vocabulary; the word
// block and the character block are each L2-normalised, so both weigh the same.
//
// Terms outside the vocabulary still count in the norm, weighted by oovIDF (the IDF of
// a term no training text contained): a text made mostly of unseen words gets a short
// known-feature vector, scores near the biases and so a low confidence, which is what
// lets a confidence threshold reject out-of-scope queries.
type vectorizer struct {
	vocab  map[string]int32
	idf    []float32
	oovIDF float32
	// byHash is vocab keyed by each term's hash under seed (see indexHashes): vectorize
	// counts and looks up a text's terms by the hash of their bytes, without building a
	// string for each n-gram. nil when two terms share a hash; vectorize then takes the
	// strings.
	seed   maphash.Seed
	byHash map[uint64]int32
}

// indexHashes keys the vocabulary by hash (byHash). With 64-bit hashes an unseen term
// of a text is taken for a vocabulary term with a probability of about the vocabulary's
// size in 2⁶⁴ (below 10⁻¹³ for a million terms); two vocabulary terms sharing a hash
// are detected here, and then the strings are used.
func (v *vectorizer) indexHashes() {
	v.seed = maphash.MakeSeed()
	byHash := make(map[uint64]int32, len(v.vocab))
	for term, j := range v.vocab {
		h := maphash.String(v.seed, term)
		if _, dup := byHash[h]; dup {
			v.byHash = nil
			return
		}
		byHash[h] = j
	}
	v.byHash = byHash
}

// vectorize returns the feature vector of text; terms outside the vocabulary have no
// component but shorten the rest (see vectorizer).
func (v *vectorizer) vectorize(text string) sparse {
	if v.byHash == nil {
		return v.vectorizeStrings(text)
	}
	sc := hashScratchPool.Get().(*hashScratch)
	defer hashScratchPool.Put(sc)
	sc.collect(text, v.seed)
	var out sparse
	if n := len(sc.word) + len(sc.char); n > 0 {
		out = sparse{idx: make([]int32, 0, n), val: make([]float32, 0, n)}
	}
	appendHashBlock(&out, sc.word, v.byHash, v.idf, v.oovIDF)
	appendHashBlock(&out, sc.char, v.byHash, v.idf, v.oovIDF)
	sortSparse(&out)
	return out
}

// vectorizeStrings is vectorize over the terms as strings (countTerms).
func (v *vectorizer) vectorizeStrings(text string) sparse {
	tc := countTerms(text)
	var out sparse
	appendBlock(&out, tc.word, v.vocab, v.idf, v.oovIDF)
	appendBlock(&out, tc.char, v.vocab, v.idf, v.oovIDF)
	sortSparse(&out)
	return out
}

// hashScratch holds the buffers of a vectorize call: the hashes of a text's word and
// character terms, one per occurrence, and the rune offsets of the word being split.
// vectorize takes them from hashScratchPool, so a turn's features allocate only the
// vector they return.
type hashScratch struct {
	word, char []uint64
	padded     []byte
	starts     []int
}

var hashScratchPool = sync.Pool{New: func() any { return new(hashScratch) }}

// collect records the hash under seed of the bytes of each term countTerms would count
// (its prefix included), once per occurrence.
func (sc *hashScratch) collect(text string, seed maphash.Seed) {
	toks := tokenize(text)
	sc.word, sc.char = sc.word[:0], sc.char[:0]
	var h maphash.Hash
	h.SetSeed(seed)
	for i, t := range toks {
		h.Reset()
		h.WriteString(prefixWord)
		h.WriteString(t.text)
		sc.word = append(sc.word, h.Sum64())
		if i+1 < len(toks) {
			h.Reset()
			h.WriteString(prefixBigram)
			h.WriteString(t.text)
			if !t.cjk || !toks[i+1].cjk {
				h.WriteByte(' ')
			}
			h.WriteString(toks[i+1].text)
			sc.word = append(sc.word, h.Sum64())
		}
		if !t.cjk {
			sc.char, sc.padded, sc.starts = addCharHashes(sc.char, &h, t.text, sc.padded, sc.starts)
		}
	}
}

// addCharHashes appends the hashes of addCharGrams' n-grams of word to dst, reusing the
// buffers padded and starts (returned for the next word).
func addCharHashes(dst []uint64, h *maphash.Hash, word string, padded []byte, starts []int) ([]uint64, []byte, []int) {
	padded = append(append(append(padded[:0], '<'), word...), '>')
	starts = starts[:0]
	for i := 0; i < len(padded); {
		starts = append(starts, i)
		_, size := utf8.DecodeRune(padded[i:])
		i += size
	}
	starts = append(starts, len(padded)) // the end of the last rune
	runes := len(starts) - 1
	for n := minCharGram; n <= maxCharGram; n++ {
		for i := 0; i+n <= runes; i++ {
			h.Reset()
			h.WriteString(prefixChar)
			h.Write(padded[starts[i]:starts[i+n]])
			dst = append(dst, h.Sum64())
		}
	}
	return dst, padded, starts
}

// appendBlock appends one L2-normalised block of (1+log tf)·idf weights to out: counts
// are a text's terms (strings or hashes), vocab the vocabulary keyed the same way.
func appendBlock[K comparable](out *sparse, counts map[K]int, vocab map[K]int32, idf []float32, oovIDF float32) {
	start, norm := len(out.idx), 0.0
	for term, tf := range counts {
		j, ok := vocab[term]
		norm += addTerm(out, j, ok, tf, idf, oovIDF)
	}
	scaleFrom(out, start, norm)
}

// appendHashBlock is appendBlock over the hashes of a text's terms, one per
// occurrence (sorted here, so that equal hashes are neighbours and count as one term).
func appendHashBlock(out *sparse, hashes []uint64, vocab map[uint64]int32, idf []float32, oovIDF float32) {
	slices.Sort(hashes)
	start, norm := len(out.idx), 0.0
	for i := 0; i < len(hashes); {
		n := 1
		for i+n < len(hashes) && hashes[i+n] == hashes[i] {
			n++
		}
		j, ok := vocab[hashes[i]]
		norm += addTerm(out, j, ok, n, idf, oovIDF)
		i += n
	}
	scaleFrom(out, start, norm)
}

// addTerm weighs a term seen tf times, (1+log tf)·idf, and appends it to out when the
// vocabulary has it (ok, at j); a term outside it weighs oovIDF·(1+log tf) and has no
// component. It returns the weight squared, the term's share of its block's norm.
func addTerm(out *sparse, j int32, ok bool, tf int, idf []float32, oovIDF float32) float64 {
	if !ok {
		w := (1 + math.Log(float64(tf))) * float64(oovIDF)
		return w * w
	}
	w := (1 + math.Log(float64(tf))) * float64(idf[j])
	out.idx = append(out.idx, j)
	out.val = append(out.val, float32(w))
	return w * w
}

// scaleFrom L2-normalises the components of out from start on, a block whose weights
// squared sum to norm.
func scaleFrom(out *sparse, start int, norm float64) {
	if norm == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(norm))
	for i := start; i < len(out.val); i++ {
		out.val[i] *= inv
	}
}

// sortSparse orders a vector by index so that sums over it are deterministic.
func sortSparse(s *sparse) { sort.Sort(byIndex{s}) }

// byIndex sorts a sparse vector's components in place.
type byIndex struct{ s *sparse }

func (b byIndex) Len() int           { return len(b.s.idx) }
func (b byIndex) Less(i, j int) bool { return b.s.idx[i] < b.s.idx[j] }
func (b byIndex) Swap(i, j int) {
	b.s.idx[i], b.s.idx[j] = b.s.idx[j], b.s.idx[i]
	b.s.val[i], b.s.val[j] = b.s.val[j], b.s.val[i]
}

// buildVectorizer builds the vocabulary and IDF weights from training texts. Character
// n-grams seen in fewer than minCharDF texts are dropped (when the corpus is large
// enough for that to matter); vocabulary indices follow first appearance, so the result
// does not depend on map order.
func buildVectorizer(texts []string, counts []termCounts) *vectorizer {
	minCharDF := 1
	if len(texts) >= 1000 {
		minCharDF = 2
	}
	df := make(map[string]int)
	var order []string
	see := func(m map[string]int) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if df[k] == 0 {
				order = append(order, k)
			}
			df[k]++
		}
	}
	for _, tc := range counts {
		see(tc.word)
		see(tc.char)
	}
	v := &vectorizer{vocab: make(map[string]int32, len(order))}
	n := float64(len(texts))
	v.oovIDF = float32(math.Log(1+n) + 1)
	for _, term := range order {
		if strings.HasPrefix(term, prefixChar) && df[term] < minCharDF {
			continue
		}
		v.vocab[term] = int32(len(v.idf))
		v.idf = append(v.idf, float32(math.Log((1+n)/(1+float64(df[term])))+1))
	}
	v.indexHashes()
	return v
}
