package quality

import (
	"context"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-cs/switchboard/nlp/pii"
)

// Position is where a reply sits among the agent's replies of a conversation.
type Position string

// The positions: a greeting is expected of the first reply, a closing of the last; a
// conversation's only reply is both.
const (
	First  Position = "first"
	Middle Position = "middle"
	Last   Position = "last"
	Only   Position = "only"
)

// Reply is an agent's reply to check.
type Reply struct {
	Text     string
	Position Position
}

// Finding is one check that fired. Start and End are the byte offsets in the reply of
// what made it fire (the cue, or the personal data), for a reviewer to see
// highlighted; both are 0 for a missing greeting or closing and for a length.
type Finding struct {
	Check Check  `json:"check"`
	Start int    `json:"start"`
	End   int    `json:"end"`
	Cue   string `json:"cue,omitempty"`  // the rule's cue that matched
	Kind  string `json:"kind,omitempty"` // for pii: EMAIL, PHONE, BANK_CARD, …
}

// Result is a reply's score (0–100) and its findings, in the order of Checks.
type Result struct {
	Score    int       `json:"score"`
	Findings []Finding `json:"findings"`
}

// Has reports whether check fired.
func (r Result) Has(check Check) bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Check == check })
}

// PIIFinder finds personal data in text (nlp/pii's Redactor does).
type PIIFinder interface {
	Redact(ctx context.Context, text string) (pii.Result, error)
}

// piiKinds are the personal data an agent must not type out. Names are not among them
// (an agent addresses the customer by name), nor IP addresses or links.
var piiKinds = []string{pii.TypeEmail, pii.TypePhone, pii.TypeIDCard, pii.TypeBankCard, pii.TypeIBAN, pii.TypeSSN,
	pii.TypePassport, pii.TypeAddress}

// Checker checks replies against one rule set.
type Checker struct {
	rules Rules
	pii   PIIFinder // nil: no pii check
	// hostile, when set, reads rudeness the cues miss: a reply it scores at or above
	// hostileAt is rude (a finding of Kind ModelKind).
	hostile   HostilityScorer
	hostileAt float64
}

// HostilityScorer rates how hostile a reply reads, from 0 to 1, with the byte spans in
// skip ignored; nlp/sentiment's trained Model is one.
type HostilityScorer interface {
	Hostility(text string, skip [][2]int) float64
}

// ModelKind is the Kind of a rude finding that came from the model, not a cue.
const ModelKind = "model"

// DefaultHostility is the model score from which a reply counts as rude. It is set high:
// the model learned negativity from product reviews, where an agent's neutral talk of
// the customer's trouble ("your refund will arrive in 3 days") already reads negative.
const DefaultHostility = 0.95

// WithHostility returns a copy of c that also asks h whether a reply is rude, ignoring
// the reply's expressions of empathy and apology (an apology for the trouble is not
// hostile, though it names the trouble); threshold ≤ 0 means DefaultHostility.
func (c *Checker) WithHostility(h HostilityScorer, threshold float64) *Checker {
	if threshold <= 0 {
		threshold = DefaultHostility
	}
	cp := *c
	cp.hostile, cp.hostileAt = h, threshold
	return &cp
}

// NewChecker returns a Checker of rules; finder finds personal data (nil: not checked).
func NewChecker(rules Rules, finder PIIFinder) *Checker {
	return &Checker{rules: rules, pii: finder}
}

// Check scores a reply: each check that fired once takes its weight off 100 (empathy
// adds), within 0–100.
func (c *Checker) Check(ctx context.Context, r Reply) (Result, error) {
	text := r.Text
	folded := fold(text)
	var out []Finding
	first := r.Position == First || r.Position == Only
	last := r.Position == Last || r.Position == Only
	if first && len(matches(text, folded, c.rules.Greeting)) == 0 {
		out = append(out, Finding{Check: MissingGreeting})
	}
	if last && len(matches(text, folded, c.rules.Closing)) == 0 {
		out = append(out, Finding{Check: MissingClosing})
	}
	out = appendAll(out, Empathy, matches(text, folded, c.rules.Empathy))
	var promises []match
	for _, m := range matches(text, folded, c.rules.Promises) {
		if !negated(text, folded, m, c.rules.Negations) {
			promises = append(promises, m)
		}
	}
	out = appendAll(out, Promise, promises)
	rude := matches(text, folded, c.rules.Rude)
	out = appendAll(out, Rude, rude)
	if c.hostile != nil && len(rude) == 0 {
		var skip [][2]int
		for _, f := range out {
			if f.Check == Empathy {
				skip = append(skip, [2]int{f.Start, f.End})
			}
		}
		if c.hostile.Hostility(text, skip) >= c.hostileAt {
			out = append(out, Finding{Check: Rude, Kind: ModelKind})
		}
	}
	out = appendAll(out, Forbidden, matches(text, folded, c.rules.Forbidden))
	if c.pii != nil {
		res, err := c.pii.Redact(ctx, text)
		if err != nil {
			return Result{}, err
		}
		for _, sp := range res.Spans {
			if slices.Contains(piiKinds, sp.Type) {
				out = append(out, Finding{Check: PII, Start: sp.Start, End: sp.End, Kind: sp.Type})
			}
		}
	}
	n := utf8.RuneCountInString(strings.TrimSpace(text))
	if c.rules.MinRunes > 0 && n < c.rules.MinRunes {
		out = append(out, Finding{Check: TooShort})
	}
	if c.rules.MaxRunes > 0 && n > c.rules.MaxRunes {
		out = append(out, Finding{Check: TooLong})
	}
	return Result{Score: c.score(out), Findings: out}, nil
}

func (c *Checker) score(fs []Finding) int {
	score := 100
	seen := map[Check]bool{}
	for _, f := range fs {
		if !seen[f.Check] {
			seen[f.Check] = true
			score -= c.rules.Weights[f.Check]
		}
	}
	return min(max(score, 0), 100)
}

func appendAll(out []Finding, check Check, ms []match) []Finding {
	for _, m := range ms {
		out = append(out, Finding{Check: check, Start: m.start, End: m.end, Cue: m.cue})
	}
	return out
}

// match is where a cue was found.
type match struct {
	start, end int
	cue        string
}

// fold lower-cases ASCII letters and writes typographic apostrophes as "'", keeping
// every byte offset (both replacements keep the length: ’ becomes "'" plus two spaces).
func fold(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] >= 'A' && b[i] <= 'Z':
			b[i] += 'a' - 'A'
		case b[i] == 0xE2 && i+2 < len(b) && b[i+1] == 0x80 && (b[i+2] == 0x98 || b[i+2] == 0x99): // ‘ ’
			b[i], b[i+1], b[i+2] = '\'', ' ', ' '
			i += 2
		}
	}
	return string(b)
}

// matches finds p's cues in text: English cues in folded text as whole words, Chinese
// cues as written. Overlapping finds keep the earlier, longer one.
func matches(text, folded string, p Phrases) []match {
	var ms []match
	for _, cue := range p.EN {
		cue = fold(cue)
		for i := 0; ; {
			j := strings.Index(folded[i:], cue)
			if j < 0 {
				break
			}
			start, end := i+j, i+j+len(cue)
			if wordEdge(folded, start, true, cue) && wordEdge(folded, end, false, cue) {
				ms = append(ms, match{start, end, cue})
			}
			i = start + 1
		}
	}
	for _, cue := range p.ZH {
		for i := 0; ; {
			j := strings.Index(text[i:], cue)
			if j < 0 {
				break
			}
			ms = append(ms, match{i + j, i + j + len(cue), cue})
			i += j + len(cue)
		}
	}
	slices.SortFunc(ms, func(a, b match) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	kept := ms[:0]
	for _, m := range ms {
		if len(kept) > 0 && m.start < kept[len(kept)-1].end {
			continue
		}
		kept = append(kept, m)
	}
	return kept
}

// wordEdge reports whether offset i of s is a word boundary for a cue: the cue's own
// edge there is not a letter or digit, or the neighbour is not one.
func wordEdge(s string, i int, before bool, cue string) bool {
	var edge, neighbour rune
	if before {
		edge, _ = utf8.DecodeRuneInString(cue)
		if i == 0 {
			return true
		}
		neighbour, _ = utf8.DecodeLastRuneInString(s[:i])
	} else {
		edge, _ = utf8.DecodeLastRuneInString(cue)
		if i >= len(s) {
			return true
		}
		neighbour, _ = utf8.DecodeRuneInString(s[i:])
	}
	return !isWord(edge) || !isWord(neighbour)
}

func isWord(r rune) bool {
	return (unicode.IsLetter(r) && !unicode.Is(unicode.Han, r)) || unicode.IsDigit(r) || r == '\''
}

// negationWords is how many words before an English promise cue a negation reaches;
// negationRunes how many characters before a Chinese one. Neither reaches past the
// start of the clause.
const (
	negationWords = 4
	negationRunes = 4
)

// negated reports whether a negation cue comes shortly before m in its clause ("I can't
// guarantee", "we do not promise", "无法保证", "不能一定").
func negated(text, folded string, m match, neg Phrases) bool {
	clause := clauseStart(text, m.start)
	// English: the last negationWords words before the cue.
	words := strings.FieldsFunc(folded[clause:m.start], func(r rune) bool { return !isWord(r) })
	if len(words) > negationWords {
		words = words[len(words)-negationWords:]
	}
	joined := " " + strings.Join(words, " ") + " "
	for _, n := range neg.EN {
		if strings.Contains(joined, " "+fold(n)+" ") {
			return true
		}
	}
	// Chinese: a negation starting within the last negationRunes characters before the cue.
	pos := m.start
	for k := 0; k < negationRunes && pos > clause; k++ {
		_, size := utf8.DecodeLastRuneInString(text[clause:pos])
		pos -= size
		for _, n := range neg.ZH {
			if strings.HasPrefix(text[pos:m.start], n) {
				return true
			}
		}
	}
	return false
}

// clauseStart is the offset after the last clause-ending punctuation before i.
func clauseStart(text string, i int) int {
	j := strings.LastIndexFunc(text[:i], func(r rune) bool {
		return strings.ContainsRune(".!?;,:\n。！？；，：、", r)
	})
	if j < 0 {
		return 0
	}
	_, size := utf8.DecodeRuneInString(text[j:])
	return j + size
}
