package match

import (
	"github.com/switchboard-cs/switchboard/internal/editdist"

	"math"
	"slices"
)

// Feature indices of the vector [IDF.Similarity] returns; [FeatureNames] names them.
const (
	FeatCosUnigram     = iota // TF-IDF cosine over unit unigrams
	FeatCosBigram             // TF-IDF cosine over unit bigrams
	FeatJaccardUni            // Jaccard overlap of the unit sets
	FeatJaccardBi             // Jaccard overlap of the bigram sets
	FeatBM25Min               // smaller of the two normalised BM25 scores (a→b, b→a)
	FeatBM25Max               // larger of the two normalised BM25 scores
	FeatLenRatio              // shorter length / longer length, in units
	FeatLenDiff               // log(1 + |length difference|)
	FeatEditSim               // 1 − edit distance / longer length
	FeatSubstrMin             // longest common substring / shorter length
	FeatSubstrMax             // longest common substring / longer length
	FeatSubseqMin             // longest common subsequence / shorter length
	FeatSubseqMax             // longest common subsequence / longer length
	FeatIDFOverlap            // IDF mass of shared units / IDF mass of all units
	FeatMaxUnsharedIDF        // highest IDF of a unit only one side has, over the highest IDF
	FeatBigramContain         // shared bigrams / bigrams of the shorter side
	FeatNumbersAgree          // both sides carry numbers and the number sets are equal
	FeatNumbersDiffer         // at least one side carries numbers and the sets differ
	FeatNegationDiffer        // the sides disagree on whether they are negated
	FeatQuestionDiffer        // the sides use different question words
	FeatExact                 // the normalised unit sequences are equal
	NumFeatures               // length of the feature vector
)

// FeatureNames returns the names of the features, in vector order.
func FeatureNames() []string {
	return []string{
		"cos_unigram", "cos_bigram", "jaccard_unigram", "jaccard_bigram", "bm25_min", "bm25_max",
		"len_ratio", "len_diff", "edit_sim", "substr_min", "substr_max", "subseq_min",
		"subseq_max", "idf_overlap", "max_unshared_idf", "bigram_contain", "numbers_agree",
		"numbers_differ", "negation_differ", "question_differ", "exact",
	}
}

// BM25 parameters.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// negations are single characters that negate a Chinese clause, plus English negators.
var negations = map[string]bool{
	"不": true, "没": true, "无": true, "非": true, "别": true, "未": true, "莫": true,
	"勿": true, "否": true, "not": true, "no": true, "never": true, "cannot": true,
	"don": true, "doesn": true, "didn": true, "isn": true, "can't": true, "won": true,
}

// questionWords are units (or bigrams) that set what a question asks for.
var questionWords = []string{
	"为什么", "怎么", "怎样", "如何", "什么", "多少", "多久", "哪里", "哪个", "几",
	"why", "how", "what", "when", "where", "which", "who",
}

// IDF holds inverse document frequencies of unit unigrams and bigrams fitted on a corpus.
type IDF struct {
	df      map[string]int
	docs    int
	avgLen  float64
	maxIDF  float64
	missing float64 // IDF of a term never seen in the corpus
}

// FitIDF counts document frequencies of unit unigrams and bigrams over texts.
func FitIDF(texts []string) *IDF {
	x := &IDF{df: make(map[string]int)}
	total := 0
	for _, t := range texts {
		u := Units(t)
		total += len(u)
		for term := range counts(u) {
			x.df[term]++
		}
		for term := range counts(bigrams(u)) {
			x.df[term]++
		}
	}
	x.docs = len(texts)
	x.avgLen = max(1, float64(total)/float64(max(1, len(texts))))
	x.missing = x.idf("")
	x.maxIDF = x.missing
	return x
}

// idf is the smoothed inverse document frequency of term.
func (x *IDF) idf(term string) float64 {
	return math.Log(float64(x.docs+1)/float64(x.df[term]+1)) + 1
}

// text is one side of a pair, prepared once.
type text struct {
	units, bis []string
	uni, bi    terms
}

// terms is a term multiset with its keys in sorted order, so sums over it are
// reproducible bit for bit.
type terms struct {
	n    map[string]int
	keys []string
}

func newTerms(list []string) terms {
	n := counts(list)
	keys := make([]string, 0, len(n))
	for t := range n {
		keys = append(keys, t)
	}
	slices.Sort(keys)
	return terms{n: n, keys: keys}
}

// has reports whether t is in the multiset.
func (s terms) has(t string) bool { return s.n[t] > 0 }

func prepare(s string) text {
	u := Units(s)
	b := bigrams(u)
	return text{units: u, bis: b, uni: newTerms(u), bi: newTerms(b)}
}

// Similarity returns the NumFeatures similarity features of the pair (a, b). Every
// feature is symmetric: Similarity(a, b) equals Similarity(b, a).
func (x *IDF) Similarity(a, b string) []float64 {
	ta, tb := prepare(a), prepare(b)
	f := make([]float64, NumFeatures)
	f[FeatCosUnigram] = x.cosine(ta.uni, tb.uni)
	f[FeatCosBigram] = x.cosine(ta.bi, tb.bi)
	f[FeatJaccardUni] = jaccard(ta.uni, tb.uni)
	f[FeatJaccardBi] = jaccard(ta.bi, tb.bi)
	ab, ba := x.bm25Norm(ta, tb), x.bm25Norm(tb, ta)
	f[FeatBM25Min], f[FeatBM25Max] = min(ab, ba), max(ab, ba)
	x.lengthFeatures(f, ta.units, tb.units)
	f[FeatIDFOverlap], f[FeatMaxUnsharedIDF] = x.overlap(ta.uni, tb.uni)
	f[FeatBigramContain] = containment(ta.bi, tb.bi)
	f[FeatNumbersAgree], f[FeatNumbersDiffer] = numberAgreement(ta.uni, tb.uni)
	f[FeatNegationDiffer] = boolFeature(negated(ta.units) != negated(tb.units))
	f[FeatQuestionDiffer] = boolFeature(!slices.Equal(questionsOf(ta), questionsOf(tb)))
	f[FeatExact] = boolFeature(len(ta.units) > 0 && slices.Equal(ta.units, tb.units))
	return f
}

// lengthFeatures fills the length, edit-distance and common-run features.
func (x *IDF) lengthFeatures(f []float64, a, b []string) {
	la, lb := float64(len(a)), float64(len(b))
	short, long := min(la, lb), max(la, lb)
	if long == 0 {
		return
	}
	f[FeatLenRatio] = short / long
	f[FeatLenDiff] = math.Log1p(long - short)
	f[FeatEditSim] = 1 - float64(editdist.Distance(a, b))/long
	substr, subseq := commonRuns(a, b)
	f[FeatSubstrMax], f[FeatSubseqMax] = float64(substr)/long, float64(subseq)/long
	if short > 0 {
		f[FeatSubstrMin], f[FeatSubseqMin] = float64(substr)/short, float64(subseq)/short
	}
}

// cosine is the cosine of the sublinear TF-IDF vectors of two term multisets.
func (x *IDF) cosine(a, b terms) float64 {
	var dot, na, nb float64
	for _, t := range a.keys {
		w := (1 + math.Log(float64(a.n[t]))) * x.idf(t)
		na += w * w
		if cb, ok := b.n[t]; ok {
			dot += w * (1 + math.Log(float64(cb))) * x.idf(t)
		}
	}
	for _, t := range b.keys {
		w := (1 + math.Log(float64(b.n[t]))) * x.idf(t)
		nb += w * w
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// bm25Norm scores document d against query q with BM25 over units, divided by the score
// q would get against itself, so it lies in [0, 1].
func (x *IDF) bm25Norm(q, d text) float64 {
	self := x.bm25(q.uni, q.uni, len(q.units))
	if self == 0 {
		return 0
	}
	return min(1, x.bm25(q.uni, d.uni, len(d.units))/self)
}

// bm25 is the BM25 score of a document with term counts doc and length n for query q.
func (x *IDF) bm25(q, doc terms, n int) float64 {
	norm := bm25K1 * (1 - bm25B + bm25B*float64(n)/x.avgLen)
	var s float64
	for _, t := range q.keys {
		tf := float64(doc.n[t])
		if tf > 0 {
			s += x.idf(t) * tf * (bm25K1 + 1) / (tf + norm)
		}
	}
	return s
}

// overlap returns the IDF mass of shared units over the IDF mass of the union, and the
// highest IDF among units only one side has, relative to an unseen term's IDF.
func (x *IDF) overlap(a, b terms) (shared, maxUnshared float64) {
	var inter, union float64
	visit := func(t string, both bool) {
		w := x.idf(t)
		union += w
		if both {
			inter += w
		} else {
			maxUnshared = max(maxUnshared, w)
		}
	}
	for _, t := range a.keys {
		visit(t, b.has(t))
	}
	for _, t := range b.keys {
		if !a.has(t) {
			visit(t, false)
		}
	}
	if union == 0 {
		return 0, 0
	}
	return inter / union, maxUnshared / x.maxIDF
}

// jaccard is |a ∩ b| / |a ∪ b| over the term sets.
func jaccard(a, b terms) float64 {
	inter := 0
	for _, t := range a.keys {
		if b.has(t) {
			inter++
		}
	}
	union := len(a.keys) + len(b.keys) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

// containment is the share of the smaller term set found in the other set.
func containment(a, b terms) float64 {
	if len(a.keys) > len(b.keys) {
		a, b = b, a
	}
	if len(a.keys) == 0 {
		return 0
	}
	inter := 0
	for _, t := range a.keys {
		if b.has(t) {
			inter++
		}
	}
	return float64(inter) / float64(len(a.keys))
}

// numberAgreement compares the digit runs of the two sides.
func numberAgreement(a, b terms) (agree, differ float64) {
	na, nb := numbers(a), numbers(b)
	if len(na) == 0 && len(nb) == 0 {
		return 0, 0
	}
	if slices.Equal(na, nb) {
		return 1, 0
	}
	return 0, 1
}

// numbers returns the sorted digit runs among the terms.
func numbers(s terms) []string {
	var out []string
	for _, t := range s.keys {
		if isNumber(t) {
			out = append(out, t)
		}
	}
	return out
}

// negated reports whether a text holds an odd number of negating units.
func negated(units []string) bool {
	n := 0
	for _, u := range units {
		if negations[u] {
			n++
		}
	}
	return n%2 == 1
}

// questionsOf returns the question words a prepared text contains, in list order.
func questionsOf(t text) []string {
	var out []string
	for _, q := range questionWords {
		if hasTerm(t, q) {
			out = append(out, q)
		}
	}
	return out
}

// hasTerm reports whether the prepared text contains q as a unit or a unit sequence.
func hasTerm(t text, q string) bool {
	qu := Units(q)
	switch len(qu) {
	case 1:
		return t.uni.has(qu[0])
	case 2:
		return t.bi.has(qu[0] + "\x00" + qu[1])
	}
	for i := 0; i+len(qu) <= len(t.units); i++ {
		if slices.Equal(t.units[i:i+len(qu)], qu) {
			return true
		}
	}
	return false
}

func boolFeature(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
