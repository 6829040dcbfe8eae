package kb

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Retriever answers customer text from an Index: the retrieve stage calls Retrieve, the
// respond stage calls Answer.
type Retriever struct {
	idx   Index
	emb   *LexicalEmbedder
	dense DenseEncoder
	// denseOnly ranks by the dense vector alone (WithDenseRanking).
	denseOnly bool
	filter    map[string]string
	depth     int
	// rerank reorders the answers of questions in rerankLang (WithReranker).
	rerank     Reranker
	rerankLang string
}

// Reranker scores the probability that two questions mean the same thing (nlp/match's
// Matcher, fitted on question pairs).
type Reranker interface {
	Score(a, b string) float64
}

// rerankWeight is how much a reranker's probability adds to an answer's score (a
// cosine under dense ranking): on a BQ FAQ asked in its pairs' other words, best entry
// right 0.242 alone, 0.266 at 0.25, 0.262 at 1, 0.214 by the reranker alone.
const rerankWeight = 0.25

// WithReranker reorders the answers Answer considers for questions in lang: each group's
// score gains rerankWeight times rr's probability that the question means the group's
// best phrasing. It takes part only with dense ranking, whose scores are cosines on the
// probability's scale; BM25 and fused scores are not.
func WithReranker(rr Reranker, lang string) RetrieverOption {
	return func(r *Retriever) { r.rerank, r.rerankLang = rr, lang }
}

// RetrieverOption configures a Retriever.
type RetrieverOption func(*Retriever)

// WithDenseEncoder adds a dense query vector, making every search hybrid (RRF fusion).
func WithDenseEncoder(enc DenseEncoder) RetrieverOption {
	return func(r *Retriever) { r.dense = enc }
}

// WithDenseRanking ranks by the dense encoder's vector alone instead of fusing it with
// BM25: for an encoder whose vectors carry the text's own words (Switchboard's
// paraphrase encoder sums IDF-weighted vectors of the words themselves), fusion only
// dilutes its ranking. Lexical coverage still takes part in the confidence, and BM25
// still ranks when the query has no dense vector.
func WithDenseRanking() RetrieverOption {
	return func(r *Retriever) { r.denseOnly = true }
}

// WithFilter restricts every search to chunks whose Meta holds these values.
func WithFilter(filter map[string]string) RetrieverOption {
	return func(r *Retriever) { r.filter = filter }
}

// WithAnswerDepth sets how many hits Answer considers (default 10).
func WithAnswerDepth(k int) RetrieverOption {
	return func(r *Retriever) {
		if k > 0 {
			r.depth = k
		}
	}
}

// NewRetriever returns a Retriever over idx, embedding queries with emb.
func NewRetriever(idx Index, emb *LexicalEmbedder, opts ...RetrieverOption) *Retriever {
	r := &Retriever{idx: idx, emb: emb, depth: 10}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Retrieve returns the k chunks that best match text, best first; text without any
// indexable token yields no hits.
func (r *Retriever) Retrieve(ctx context.Context, text string, k int) ([]Hit, error) {
	hits, _, err := r.retrieve(ctx, text, k)
	return hits, err
}

// placeholder is a redacted value in customer text ("[PHONE_1]", "[EMAIL_2]"): it says
// nothing about what the customer asks (its number would match "Item 1 costs 1 yuan"), so
// retrieval leaves it out.
var placeholder = regexp.MustCompile(`\[[A-Z][A-Z_]*_\d+\]`)

func withoutPlaceholders(text string) string {
	if !strings.Contains(text, "[") {
		return text
	}
	return placeholder.ReplaceAllString(text, " ")
}

// retrieve is Retrieve that also returns the dense query vector (nil without an encoder).
func (r *Retriever) retrieve(ctx context.Context, text string, k int) ([]Hit, []float32, error) {
	text = withoutPlaceholders(text)
	q := Query{Sparse: r.emb.Query(text), Limit: k, Filter: r.filter}
	if r.dense != nil {
		v, err := r.dense.Encode(ctx, text)
		if err != nil {
			return nil, nil, fmt.Errorf("kb: encode query: %w", err)
		}
		q.Dense = v
		if r.denseOnly && len(v) > 0 {
			q.Sparse = SparseVector{}
		}
	}
	if len(q.Sparse.Indices) == 0 && len(q.Dense) == 0 {
		return nil, nil, nil
	}
	hits, err := r.idx.Search(ctx, q)
	if err != nil {
		return nil, nil, fmt.Errorf("kb: retrieve: %w", err)
	}
	return hits, q.Dense, nil
}

// Citation points at a chunk an answer was taken from.
type Citation struct {
	ChunkID string  `json:"chunk_id"`
	Source  string  `json:"source"`
	Title   string  `json:"title"`
	Snippet string  `json:"snippet"`
	Score   float64 `json:"score"`
}

// Answer is the composed reply of the respond stage. Text is empty and Confidence 0 when
// nothing matched.
type Answer struct {
	Text       string     `json:"answer"`
	Citations  []Citation `json:"citations"`
	Confidence float64    `json:"confidence"`
}

// candidate is one possible answer: an FAQ answer (all hits sharing it vote) or one
// prose chunk.
type candidate struct {
	hits  []Hit
	score float64
	// vote is the questions' vote (the best question hit plus half of every further
	// one); answer the best hit on the entry's answer text. score is the larger of vote
	// and answerWeight × answer: an answer speaks for its entry when no question does,
	// and never adds to the questions' vote (RRF scores differ little between ranks, so
	// adding it would favour whichever entry has more chunks among the hits).
	vote, answer float64
	questions    int // question hits in vote
}

// Answer composes the reply to text from the best hits. FAQ hits are grouped by their
// answer, and each group scores its best question hit plus half of every further one, so
// several paraphrases agreeing on one answer outvote a single lucky match, or, when
// higher, half its hit on the answer text; a prose chunk is its own group. A group whose answer is in the question's language goes first when the
// best one's is not (preferLanguage). The best FAQ group answers with its FAQ answer; a
// best prose chunk answers with its passage, followed by the next prose passage when that
// scores at least 80 % as high.
//
// Confidence = coverage · (0.5 + 0.5 · margin), in [0, 1]. Coverage is the share of the
// query's distinct terms (words, CJK characters and bigrams) found in the best chunk, so
// queries about things the knowledge base does not mention score low whatever the raw
// scores are; margin = (s1 − s2)/s1 over the two best group scores, so an answer that
// barely beats a different one is half as confident as an unopposed one. With a dense
// encoder, coverage is the larger of the lexical share and the cosine similarity of the
// query and the best chunk, so a paraphrase sharing no word can still answer, and margin
// is the larger of the fused-score margin and the cosine margin of the two best groups.
func (r *Retriever) Answer(ctx context.Context, text string) (Answer, error) {
	text = withoutPlaceholders(text)
	hits, qvec, err := r.retrieve(ctx, text, r.depth)
	if err != nil || len(hits) == 0 {
		return Answer{}, err
	}
	groups := groupHits(hits)
	lang := Language(text)
	if r.rerank != nil && r.denseOnly && qvec != nil && lang == r.rerankLang {
		for i := range groups {
			groups[i].score += rerankWeight * r.rerank.Score(text, embedText(groups[i].question().Chunk))
		}
		sortGroups(groups)
	}
	preferLanguage(groups, lang)
	best := groups[0]
	var ans Answer
	top := best.hits[0]
	if top.Chunk.Answer != "" {
		ans.Text = top.Chunk.Answer
		ans.Citations = []Citation{citationOf(top)}
	} else {
		ans.Text = top.Chunk.Text
		ans.Citations = []Citation{citationOf(top)}
		if len(groups) > 1 && groups[1].hits[0].Chunk.Answer == "" && groups[1].score >= 0.8*best.score {
			ans.Text += "\n\n" + groups[1].hits[0].Chunk.Text
			ans.Citations = append(ans.Citations, citationOf(groups[1].hits[0]))
		}
	}
	margin := 1.0
	if len(groups) > 1 && best.score > 0 {
		margin = max(0, (best.score-groups[1].score)/best.score)
	}
	coverage := r.coverage(text, top.Chunk)
	if qvec != nil {
		// fused RRF scores differ little between ranks, so their margin understates a
		// clear winner; the cosine similarities of the two best groups tell it
		texts := []string{embedText(top.Chunk)}
		if len(groups) > 1 {
			texts = append(texts, embedText(groups[1].hits[0].Chunk))
		}
		vecs, err := r.encodeAll(ctx, texts)
		if err != nil {
			return Answer{}, fmt.Errorf("kb: encode best chunks: %w", err)
		}
		c1 := Cosine(qvec, vecs[0])
		coverage = max(coverage, c1)
		if len(vecs) > 1 && c1 > 0 {
			margin = max(margin, (c1-Cosine(qvec, vecs[1]))/c1)
		}
	}
	ans.Confidence = clamp01(coverage * (0.5 + 0.5*margin))
	return ans, nil
}

// encodeAll embeds texts with the dense encoder, in one call when it batches.
func (r *Retriever) encodeAll(ctx context.Context, texts []string) ([][]float32, error) {
	return encodeTexts(ctx, r.dense, texts)
}

// Cosine is the cosine similarity of a and b (0 when either is zero or they differ in
// length).
func Cosine(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// answerWeight is how much a hit on an FAQ entry's answer text counts next to a hit on
// one of its questions: the answer is searchable, but a question that matches says more
// (answers mention many things they are not about).
const answerWeight = 0.5

// groupHits groups FAQ hits by answer and sorts the groups best first (stable on ties).
func groupHits(hits []Hit) []candidate {
	var groups []candidate
	index := map[string]int{}
	for _, h := range hits {
		key := "c\x00" + h.Chunk.ID
		if h.Chunk.Answer != "" {
			key = "a\x00" + h.Chunk.Answer
		}
		i, ok := index[key]
		if !ok {
			i = len(groups)
			index[key] = i
			groups = append(groups, candidate{})
		}
		g := &groups[i]
		switch {
		case h.Chunk.Meta["kind"] == KindFAQAnswer:
			g.answer = max(g.answer, h.Score)
		case g.questions == 0:
			g.vote, g.questions = h.Score, 1
		default:
			g.vote, g.questions = g.vote+0.5*h.Score, g.questions+1
		}
		g.hits = append(g.hits, h)
		g.score = answerWeight * g.answer
		if g.questions > 0 {
			g.score = max(g.vote, g.score)
		}
	}
	sortGroups(groups)
	return groups
}

// question is the group's best hit on a question (the reranker compares questions with
// questions), or its best hit when it has none.
func (g candidate) question() Hit {
	for _, h := range g.hits {
		if h.Chunk.Meta["kind"] != KindFAQAnswer {
			return h
		}
	}
	return g.hits[0]
}

// sortGroups sorts groups best first, stable on ties.
func sortGroups(groups []candidate) {
	for i := 1; i < len(groups); i++ {
		for j := i; j > 0 && groups[j].score > groups[j-1].score; j-- {
			groups[j], groups[j-1] = groups[j-1], groups[j]
		}
	}
}

// preferLanguage moves to the front the best group whose answer is in lang, when the
// best one's is not: the customer is answered in their own language whenever the hits
// hold an answer in it (a bilingual FAQ's entry in the other language may share a
// product name or a Latin word with the question and score higher). With no answer in
// lang among the hits, the order stays: the knowledge base may not have that language.
func preferLanguage(groups []candidate, lang string) {
	if speaks(answerOf(groups[0]), lang) {
		return
	}
	for i := 1; i < len(groups); i++ {
		if speaks(answerOf(groups[i]), lang) {
			g := groups[i]
			copy(groups[1:i+1], groups[:i])
			groups[0] = g
			return
		}
	}
}

// answerOf is what a group would answer with: its FAQ answer or its passage.
func answerOf(g candidate) string {
	if c := g.hits[0].Chunk; c.Answer != "" {
		return c.Answer
	}
	return g.hits[0].Chunk.Text
}

// coverage is the share of the query's distinct terms present in the chunk.
func (r *Retriever) coverage(query string, c Chunk) float64 {
	q := r.emb.Query(query)
	if len(q.Indices) == 0 {
		return 0
	}
	d := r.emb.Query(embedText(c))
	found, j := 0, 0
	for _, t := range q.Indices {
		for j < len(d.Indices) && d.Indices[j] < t {
			j++
		}
		if j < len(d.Indices) && d.Indices[j] == t {
			found++
		}
	}
	return float64(found) / float64(len(q.Indices))
}

// citationOf cites a hit; an FAQ entry's snippet is its answer (its title is already
// the question).
func citationOf(h Hit) Citation {
	text := h.Chunk.Text
	if h.Chunk.Answer != "" {
		text = h.Chunk.Answer
	}
	return Citation{ChunkID: h.Chunk.ID, Source: h.Chunk.Source, Title: h.Chunk.Title,
		Snippet: snippet(text, 160), Score: h.Score}
}

// snippet returns at most n runes of text, cut at a rune boundary, with "…" when cut.
func snippet(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	runes := []rune(text)
	return string(runes[:n]) + "…"
}

func clamp01(f float64) float64 {
	return min(1, max(0, f))
}
