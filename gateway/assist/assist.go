// Package assist suggests replies to the agent answering a ticket: the knowledge base's
// answer, the replies that resolved the most similar past tickets, and, when a language
// model is configured, a reply it drafts from those (streamed as it writes). Every
// suggestion is a draft the agent edits before sending; nothing here sends anything.
// Text in and out is redacted: placeholders such as [PHONE_1] stay placeholders.
package assist

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/tickets"
)

// ErrNoWriter: no language model is configured to draft replies.
var ErrNoWriter = errors.New("no language model is configured (llm.base_url): suggestions come from the knowledge base and past resolutions")

// Kinds of draft.
const (
	KindKB   = "kb"   // the knowledge base's answer
	KindPast = "past" // an agent's reply that resolved a similar ticket
	KindLLM  = "llm"  // written by the language model from the others
)

// Draft is one suggested reply.
type Draft struct {
	Kind     string   `json:"kind"`
	Text     string   `json:"text"`
	Score    float64  `json:"score"`               // the KB's confidence, or the past question's similarity (0–1)
	Sources  []string `json:"sources,omitempty"`   // kb: the passages' titles
	TicketID string   `json:"ticket_id,omitempty"` // past: the ticket it resolved
	Question string   `json:"question,omitempty"`  // past: what that customer asked
}

// Line is one message of the conversation, for the language model's context.
type Line struct {
	Author string // "customer", "agent" or "bot"
	Text   string
}

// Query is what the agent is answering: the customer's latest words and the
// conversation so far (redacted).
type Query struct {
	Question     string
	Conversation []Line
}

// Resolutions are the past resolutions to learn from (tickets.TicketRecords).
type Resolutions interface {
	PastResolutions(ctx context.Context, limit int) ([]tickets.Resolution, error)
}

// Writer is a language model that writes text from instructions and material
// (kb.LLMComposer).
type Writer interface {
	Write(ctx context.Context, instructions, material string, draft func(soFar string)) (string, error)
}

// Assistant makes the suggestions. Every field may be nil.
type Assistant struct {
	KB     flow.Answerer   // the knowledge base's answer
	Past   Resolutions     // past resolutions
	Dense  kb.DenseEncoder // compares questions by meaning; without it, by shared words
	Writer Writer          // drafts a reply

	mu     sync.Mutex
	cached []pastQuestion // the past resolutions last read, with their vectors
}

// Tuning of the past resolutions.
const (
	pastWindow   = 2000 // how many of the latest resolutions are searched
	pastShown    = 3    // how many are suggested at most
	minLexical   = 0.25 // a past question sharing less than this (cosine of word sets) is unrelated
	minDense     = 0.5  // likewise, by the dense encoder's cosine
	maxMaterial  = 6    // conversation lines given to the writer
	maxLineRunes = 600  // a line's length given to the writer
)

type pastQuestion struct {
	tickets.Resolution
	terms map[uint32]struct{} // lexical
	vec   []float32           // dense (nil without an encoder)
}

var lexical = kb.NewLexicalEmbedder()

// Suggest returns the knowledge base's answer (when it has one) and the replies that
// resolved the past questions most like q's, best first.
func (a *Assistant) Suggest(ctx context.Context, q Query) ([]Draft, error) {
	out := []Draft{}
	if strings.TrimSpace(q.Question) == "" {
		return out, nil
	}
	if a.KB != nil {
		ans, err := a.KB.Answer(ctx, q.Question)
		if err != nil {
			return nil, fmt.Errorf("knowledge base: %w", err)
		}
		if strings.TrimSpace(ans.Text) != "" {
			d := Draft{Kind: KindKB, Text: ans.Text, Score: ans.Confidence}
			for _, c := range ans.Citations {
				if t := cmpOr(c.Title, c.Source); t != "" && !slices.Contains(d.Sources, t) {
					d.Sources = append(d.Sources, t)
				}
			}
			out = append(out, d)
		}
	}
	past, err := a.similar(ctx, q.Question)
	if err != nil {
		return nil, err
	}
	return append(out, past...), nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// similar ranks the past resolutions by how like question their question is.
func (a *Assistant) similar(ctx context.Context, question string) ([]Draft, error) {
	if a.Past == nil {
		return nil, nil
	}
	past, err := a.pastQuestions(ctx)
	if err != nil {
		return nil, err
	}
	terms := termSet(question)
	var vec []float32
	if a.Dense != nil {
		if vec, err = a.Dense.Encode(ctx, question); err != nil {
			return nil, fmt.Errorf("encoding the question: %w", err)
		}
	}
	type scored struct {
		p     *pastQuestion
		score float64
	}
	var ranked []scored
	seen := map[string]bool{} // one suggestion per distinct answer
	for i := range past {
		p := &past[i]
		s, floor := overlap(terms, p.terms), minLexical
		if vec != nil && p.vec != nil {
			s, floor = kb.Cosine(vec, p.vec), minDense
		}
		if s >= floor {
			ranked = append(ranked, scored{p, s})
		}
	}
	slices.SortStableFunc(ranked, func(x, y scored) int { return cmp.Compare(y.score, x.score) }) // newest first among equals
	var out []Draft
	for _, r := range ranked {
		key := strings.TrimSpace(r.p.Answer)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, Draft{Kind: KindPast, Text: r.p.Answer, Score: math.Round(r.score*1000) / 1000, TicketID: r.p.TicketID, Question: r.p.Question})
		if len(out) == pastShown {
			break
		}
	}
	return out, nil
}

// pastQuestions reads the latest past resolutions (every time: a ticket resolved a
// moment ago is the likeliest model for its twin) with their vectors, computed once per
// question and kept while it stays among the latest.
func (a *Assistant) pastQuestions(ctx context.Context) ([]pastQuestion, error) {
	list, err := a.Past.PastResolutions(ctx, pastWindow)
	if err != nil {
		return nil, fmt.Errorf("past resolutions: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	known := make(map[string]pastQuestion, len(a.cached))
	for _, p := range a.cached {
		known[p.TicketID+"\x00"+p.Question] = p
	}
	next := make([]pastQuestion, 0, len(list))
	for _, r := range list {
		if p, ok := known[r.TicketID+"\x00"+r.Question]; ok {
			p.Resolution = r
			next = append(next, p)
			continue
		}
		p := pastQuestion{Resolution: r, terms: termSet(r.Question)}
		if a.Dense != nil {
			if p.vec, err = a.Dense.Encode(ctx, r.Question); err != nil {
				return nil, fmt.Errorf("encoding a past question: %w", err)
			}
		}
		next = append(next, p)
	}
	a.cached = next
	return next, nil
}

// termSet is the set of text's lexical terms (words; CJK characters and bigrams).
func termSet(text string) map[uint32]struct{} {
	v := lexical.Query(text)
	set := make(map[uint32]struct{}, len(v.Indices))
	for _, id := range v.Indices {
		set[id] = struct{}{}
	}
	return set
}

// overlap is the cosine of two term sets: shared terms over the geometric mean of sizes.
func overlap(a, b map[uint32]struct{}) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	if len(b) < len(a) {
		a, b = b, a
	}
	n := 0
	for t := range a {
		if _, ok := b[t]; ok {
			n++
		}
	}
	return float64(n) / math.Sqrt(float64(len(a))*float64(len(b)))
}

// instructions tell the language model what a reply draft is.
const instructions = `You draft replies for a human customer-service agent. Write one reply the agent could send ` +
	`to the customer now, in the customer's language, using only facts from the material: the knowledge-base answer ` +
	`and replies that resolved similar questions before. Be brief and polite. Never invent policies, amounts, dates ` +
	`or links. If the material does not answer the question, ask the customer for what is needed to help. ` +
	`Placeholders such as [PHONE_1] stand for redacted personal data: keep them as they are. Write only the reply.`

// Compose has the language model draft a reply to q from the suggestions, calling draft
// (may be nil) with the text so far as it writes. ErrNoWriter without a model.
func (a *Assistant) Compose(ctx context.Context, q Query, suggestions []Draft, draft func(soFar string)) (Draft, error) {
	if a.Writer == nil {
		return Draft{}, ErrNoWriter
	}
	text, err := a.Writer.Write(ctx, instructions, material(q, suggestions), draft)
	if err != nil {
		return Draft{}, err
	}
	d := Draft{Kind: KindLLM, Text: text}
	for _, s := range suggestions {
		d.Sources = append(d.Sources, s.Sources...)
		if s.TicketID != "" {
			d.Sources = append(d.Sources, "ticket "+s.TicketID)
		}
	}
	return d, nil
}

// material is the request given to the language model: the end of the conversation and
// the suggestions, numbered.
func material(q Query, suggestions []Draft) string {
	var sb strings.Builder
	sb.WriteString("Conversation (latest last):\n")
	lines := q.Conversation
	if len(lines) > maxMaterial {
		lines = lines[len(lines)-maxMaterial:]
	}
	for _, l := range lines {
		fmt.Fprintf(&sb, "%s: %s\n", l.Author, clip(l.Text))
	}
	if len(lines) == 0 {
		fmt.Fprintf(&sb, "customer: %s\n", clip(q.Question))
	}
	sb.WriteString("\nMaterial:\n")
	if len(suggestions) == 0 {
		sb.WriteString("(none)\n")
	}
	for i, s := range suggestions {
		switch s.Kind {
		case KindKB:
			fmt.Fprintf(&sb, "[%d] Knowledge-base answer: %s\n", i+1, clip(s.Text))
		case KindPast:
			fmt.Fprintf(&sb, "[%d] A customer once asked: %s\n    The agent's reply that resolved it: %s\n", i+1, clip(s.Question), clip(s.Text))
		}
	}
	sb.WriteString("\nWrite the agent's reply.")
	return sb.String()
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxLineRunes {
		return string(r[:maxLineRunes]) + "…"
	}
	return s
}

// summaryInstructions tell the language model what a handoff summary is.
const summaryInstructions = `You brief a human customer-service agent who takes a conversation over from a bot. ` +
	`In two or three short sentences, in the language of the conversation, say what the customer wants, what the bot ` +
	`told them and why it handed over, and the customer's mood if it shows. Use only the conversation. ` +
	`Placeholders such as [PHONE_1] stand for redacted personal data: keep them as they are. Write only the summary.`

// Summarize has the language model brief the agent taking the conversation over: what
// the customer wants, what the bot said, why it handed over (why: the bot's reason in
// words), the mood. ErrNoWriter without a model.
func (a *Assistant) Summarize(ctx context.Context, q Query, why string) (string, error) {
	if a.Writer == nil {
		return "", ErrNoWriter
	}
	var sb strings.Builder
	sb.WriteString("Conversation (oldest first):\n")
	lines := q.Conversation
	if len(lines) > 4*maxMaterial {
		lines = lines[len(lines)-4*maxMaterial:]
	}
	for _, l := range lines {
		fmt.Fprintf(&sb, "%s: %s\n", l.Author, clip(l.Text))
	}
	fmt.Fprintf(&sb, "\nThe bot handed over because %s.\n\nWrite the summary.", why)
	return a.Writer.Write(ctx, summaryInstructions, sb.String(), nil)
}
