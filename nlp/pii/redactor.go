package pii

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Span types, also the prefixes of their placeholders ("[PHONE_1]").
const (
	TypeEmail    = "EMAIL"
	TypePhone    = "PHONE"
	TypeIDCard   = "ID_CARD"
	TypeBankCard = "BANK_CARD"
	TypeIP       = "IP"
	TypePassport = "PASSPORT"
	TypeIBAN     = "IBAN"
	TypeSSN      = "SSN"
	TypePerson   = "PERSON"
	TypeAddress  = "ADDRESS"
)

// Span is one redacted piece of the input.
type Span struct {
	Type string
	// Start and End are byte offsets of the original value in the input text.
	Start, End int
	// Placeholder replaced the value in Result.Text, e.g. "[EMAIL_2]".
	Placeholder string
}

// Result is redacted text together with what was removed from where.
type Result struct {
	Text  string
	Spans []Span
}

// candidate is a detector's finding before overlaps are resolved; value is the
// normalized form used to give equal values the same placeholder.
type candidate struct {
	typ        string
	start, end int
	value      string
}

// detector finds candidates in text; it must return only validated ones.
type detector func(text string, sc *scan) []candidate

// scan is what one Redact call's detectors share: the national phone notations to try,
// in order, what the detectors before have found, and the text with its ASCII letters in
// lower case (byte offsets unchanged), made once for all.
type scan struct {
	regions []string
	found   []candidate
	lower   string
	low     bool
	cues    [numCueKinds][]cue // per cueKind, found on first use (cues.go)
	cued    bool
	groups  []numGroup // the digit groups of the number being read (numbers.go)
}

// scanPool keeps the scans of finished calls: a redactor runs on every message, and a
// scan's slices grow to fit the messages it has seen.
var scanPool = sync.Pool{New: func() any { return new(scan) }}

// release resets sc, keeping its slices' memory, and returns it to scanPool. Nothing a
// call returns points into that memory: candidates hold strings, Result is built anew.
func (sc *scan) release() {
	sc.regions, sc.lower, sc.low, sc.cued = nil, "", false, false
	sc.found = sc.found[:0]
	for k := range sc.cues {
		sc.cues[k] = sc.cues[k][:0]
	}
	sc.groups = sc.groups[:0]
	scanPool.Put(sc)
}

// lowered returns text with ASCII letters in lower case, computed on first use.
func (sc *scan) lowered(text string) string {
	if !sc.low {
		sc.lower, sc.low = asciiLower(text), true
	}
	return sc.lower
}

// claimed reports a candidate found before that overlaps text[start:end].
func (sc *scan) claimed(start, end int) bool {
	for _, c := range sc.found {
		if c.start < end && start < c.end {
			return true
		}
	}
	return false
}

// textOnly adapts a detector that needs nothing but the text.
func textOnly(f func(string) []candidate) detector {
	return func(text string, _ *scan) []candidate { return f(text) }
}

// Redactor replaces personal data in text with typed placeholders. It is stateless and
// safe for concurrent use.
type Redactor struct {
	detectors []detector
	regions   []string
}

// Option configures a Redactor.
type Option func(*Redactor)

// WithPhoneRegions sets the regions (ISO 3166-1 alpha-2) whose national notation a phone
// number written without a country code is read in, in order (DefaultPhoneRegions when
// not set; none given keeps that list). Unknown regions are dropped.
func WithPhoneRegions(regions ...string) Option {
	return func(r *Redactor) {
		if len(regions) == 0 {
			return
		}
		r.regions = r.regions[:0]
		for _, reg := range regions {
			if reg, ok := Region(reg); ok && !slices.Contains(r.regions, reg) {
				r.regions = append(r.regions, reg)
			}
		}
	}
}

// NewRedactor returns a Redactor with every built-in detector.
func NewRedactor(opts ...Option) *Redactor {
	r := &Redactor{detectors: []detector{detectURLs, textOnly(detectEmails), textOnly(detectIPs), detectTokens,
		detectDOB, detectNumbers, detectEnglishNames, detectChineseNames, detectAddresses},
		regions: slices.Clone(DefaultPhoneRegions)}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Redact finds personal data in text and replaces each span with its placeholder.
// Placeholders are numbered per type in order of appearance, and equal values share
// one. It returns an error only when ctx is done; callers must then not use the text.
func (r *Redactor) Redact(ctx context.Context, text string) (Result, error) {
	sc := scanPool.Get().(*scan)
	defer sc.release()
	sc.regions = r.regionsFor(ctx)
	for _, detect := range r.detectors {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		sc.found = append(sc.found, detect(text, sc)...)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	return render(text, resolveOverlaps(sc.found)), nil
}

// resolveOverlaps keeps, among overlapping candidates, the one starting first and then
// the longest; the result is sorted by start. Validated kinds come first: a cue-based
// name or address is cut short before a validated span inside it and dropped when one
// covers its start.
func resolveOverlaps(cs []candidate) []candidate {
	if len(cs) == 0 {
		return nil
	}
	// one allocation: strict from the front, loose after it, what is left of them after
	all := make([]candidate, 0, 2*len(cs))
	strict, loose := all[:0], all[len(cs):len(cs)]
	for _, c := range cs {
		if c.typ == TypePerson || c.typ == TypeAddress {
			loose = append(loose, c)
		} else {
			strict = append(strict, c)
		}
	}
	kept := firstLongest(strict)
	if len(loose) == 0 {
		return kept
	}
	for i := range loose {
		for _, k := range kept {
			if k.start <= loose[i].start && loose[i].start < k.end {
				loose[i].end = loose[i].start // dropped below
			} else if loose[i].start < k.start && k.start < loose[i].end {
				loose[i].end = trimAddrEnd(loose[i].value, 0, k.start-loose[i].start) + loose[i].start
			}
		}
	}
	rest := loose[:0] // overwrites what it has read
	for _, c := range loose {
		if c.end <= c.start {
			continue
		}
		cut := c.end-c.start < len(c.value)
		c.value = c.value[:c.end-c.start]
		// what is left of an address cut short must still look like one ("卡号" before
		// a card number does not)
		if cut && c.typ == TypeAddress && !plausibleAddress(c.value) {
			continue
		}
		rest = append(rest, c)
	}
	merged := append(kept, firstLongest(rest)...)
	slices.SortStableFunc(merged, func(a, b candidate) int { return a.start - b.start })
	return merged
}

// firstLongest resolves overlaps by earliest start, then greatest length.
func firstLongest(cs []candidate) []candidate {
	slices.SortStableFunc(cs, func(a, b candidate) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return (b.end - b.start) - (a.end - a.start)
	})
	kept := cs[:0]
	end := 0
	for _, c := range cs {
		if c.start >= end {
			kept = append(kept, c)
			end = c.end
		}
	}
	return kept
}

// render replaces the sorted, non-overlapping candidates with numbered placeholders.
// The placeholders are written once, into the result, and the spans' are slices of it.
func render(text string, cs []candidate) Result {
	if len(cs) == 0 {
		return Result{Text: text}
	}
	var b strings.Builder
	b.Grow(len(text) + 8*len(cs))
	phs := make([][2]int, len(cs)) // each candidate's placeholder in b
	var countsMem [8]typeCount     // the types of most texts
	counts := countsMem[:0]
	var byValue map[string]int // type and value → candidate, for long texts
	if len(cs) > 32 {
		byValue = make(map[string]int, len(cs))
	}
	last := 0
	for i, c := range cs {
		b.WriteString(text[last:c.start])
		last = c.end
		start := b.Len()
		if j := sameValue(cs, i, byValue); j >= 0 {
			b.WriteString(b.String()[phs[j][0]:phs[j][1]])
		} else {
			b.WriteByte('[')
			b.WriteString(c.typ)
			b.WriteByte('_')
			var n int
			counts, n = countOf(counts, c.typ)
			b.WriteString(strconv.Itoa(n))
			b.WriteByte(']')
		}
		phs[i] = [2]int{start, b.Len()}
	}
	b.WriteString(text[last:])
	out := b.String()
	spans := make([]Span, len(cs))
	for i, c := range cs {
		spans[i] = Span{Type: c.typ, Start: c.start, End: c.end, Placeholder: out[phs[i][0]:phs[i][1]]}
	}
	return Result{Text: out, Spans: spans}
}

// typeCount is how many placeholders of a type a text has so far.
type typeCount struct {
	typ string
	n   int
}

// countOf counts one more placeholder of typ and returns its number.
func countOf(counts []typeCount, typ string) ([]typeCount, int) {
	for i := range counts {
		if counts[i].typ == typ {
			counts[i].n++
			return counts, counts[i].n
		}
	}
	return append(counts, typeCount{typ, 1}), 1
}

// sameValue returns the first candidate before cs[i] of its type and value, or -1;
// byValue, when set, indexes them (and learns cs[i]).
func sameValue(cs []candidate, i int, byValue map[string]int) int {
	c := cs[i]
	if byValue != nil {
		key := c.typ + "\x00" + c.value
		if j, ok := byValue[key]; ok {
			return j
		}
		byValue[key] = i
		return -1
	}
	for j := range i {
		if cs[j].typ == c.typ && cs[j].value == c.value {
			return j
		}
	}
	return -1
}
