package pii

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"unicode/utf8"
)

// Evaluation counts spans. A predicted span matches a gold span when their types agree
// (after mapping the data set's labels onto ours) and their byte ranges overlap. TP is the
// number of gold spans matched by at least one prediction, FN the gold spans matched by
// none, FP the predictions that overlap no gold span of their type. Precision is
// TP/(TP+FP), recall TP/(TP+FN). Gold labels we have no detector for are reported under
// their own name with every span a false negative. A date of birth (DOB) inside a span
// the set labels DATE_TIME is no false positive: the set labels birth dates as dates.

// ErrBadData reports evaluation data that cannot be read or parsed.
var ErrBadData = errors.New("pii: bad evaluation data")

// Score is precision, recall and F1 of one entity type.
type Score struct {
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	FN        int     `json:"fn"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// Split picks records of the presidio-research set. Records are split by a hash of their
// text, about 30 % held out: what is trained on the set (the name and address tagger)
// sees only the rest, and what is reported comes from the held-out part.
type Split int

const (
	SplitAll     Split = iota // every record
	SplitTrain                // the records that may be trained on
	SplitHeldOut              // the records reported on, never trained on
)

// heldOut reports whether a record of the presidio set is in the held-out part.
func heldOut(text string) bool {
	h := fnv.New32a()
	h.Write([]byte(text))
	return h.Sum32()%10 < 3
}

func (s Split) takes(text string) bool {
	switch s {
	case SplitTrain:
		return !heldOut(text)
	case SplitHeldOut:
		return heldOut(text)
	}
	return true
}

// presidioLabels maps labels of the presidio-research synthetic set onto our types.
var presidioLabels = map[string]string{
	"PERSON": TypePerson, "STREET_ADDRESS": TypeAddress, "PHONE_NUMBER": TypePhone,
	"CREDIT_CARD": TypeBankCard, "IBAN_CODE": TypeIBAN, "US_SSN": TypeSSN,
	"IP_ADDRESS": TypeIP, "EMAIL_ADDRESS": TypeEmail, "US_DRIVER_LICENSE": TypeDriverLicense,
}

// presidioRecord is one record of synth_dataset_v2.json; offsets count code points.
type presidioRecord struct {
	FullText string `json:"full_text"`
	Spans    []struct {
		Type  string `json:"entity_type"`
		Start int    `json:"start_position"`
		End   int    `json:"end_position"`
	} `json:"spans"`
}

// goldSpan is an expected span in byte offsets.
type goldSpan struct {
	typ        string
	start, end int
}

// EvaluatePresidio redacts the records of dir/synth_dataset_v2.json that split takes
// with r and scores the spans per type (see the matching rule above); records is how
// many were scored.
func EvaluatePresidio(ctx context.Context, r *Redactor, dir string, split Split) (scores map[string]Score, records int, err error) {
	recs, err := readPresidio(dir)
	if err != nil {
		return nil, 0, err
	}
	var acc tally
	for _, rec := range recs {
		if !split.takes(rec.FullText) {
			continue
		}
		records++
		offs := byteOffsets(rec.FullText)
		var gold []goldSpan
		for _, s := range rec.Spans {
			if s.Start < 0 || s.End > len(offs)-1 || s.Start >= s.End {
				return nil, 0, fmt.Errorf("%w: span %d–%d outside text", ErrBadData, s.Start, s.End)
			}
			typ, ok := presidioLabels[s.Type]
			if !ok {
				typ = s.Type
			}
			gold = append(gold, goldSpan{typ, offs[s.Start], offs[s.End]})
		}
		res, err := r.Redact(ctx, rec.FullText)
		if err != nil {
			return nil, 0, err
		}
		acc.add(gold, res.Spans)
	}
	return acc.scores(), records, nil
}

// readPresidio reads dir/synth_dataset_v2.json.
func readPresidio(dir string) ([]presidioRecord, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "synth_dataset_v2.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadData, err)
	}
	var recs []presidioRecord
	if err := json.Unmarshal(raw, &recs); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadData, err)
	}
	return recs, nil
}

// byteOffsets maps code-point index i to its byte offset; the last entry is len(s).
func byteOffsets(s string) []int {
	offs := make([]int, 0, utf8.RuneCountInString(s)+1)
	for i := range s {
		offs = append(offs, i)
	}
	return append(offs, len(s))
}

// tally accumulates span counts per type.
type tally map[string]*Score

func (t *tally) get(typ string) *Score {
	if *t == nil {
		*t = tally{}
	}
	s, ok := (*t)[typ]
	if !ok {
		s = &Score{}
		(*t)[typ] = s
	}
	return s
}

// add counts one text's gold and predicted spans.
func (t *tally) add(gold []goldSpan, pred []Span) {
	for _, g := range gold {
		s := t.get(g.typ)
		if overlapsAny(g.typ, g.start, g.end, pred) {
			s.TP++
		} else {
			s.FN++
		}
	}
	for _, p := range pred {
		hit := false
		for _, g := range gold {
			// a date of birth is labelled a date by the presidio set
			if (g.typ == p.Type || p.Type == TypeDOB && g.typ == "DATE_TIME") && p.Start < g.end && g.start < p.End {
				hit = true
				break
			}
		}
		if !hit {
			t.get(p.Type).FP++
		}
	}
}

func overlapsAny(typ string, start, end int, pred []Span) bool {
	for _, p := range pred {
		if p.Type == typ && p.Start < end && start < p.End {
			return true
		}
	}
	return false
}

// scores computes the ratios; a ratio with an empty denominator is 0.
func (t tally) scores() map[string]Score {
	out := make(map[string]Score, len(t))
	for typ, s := range t {
		sc := *s
		if sc.TP+sc.FP > 0 {
			sc.Precision = float64(sc.TP) / float64(sc.TP+sc.FP)
		}
		if sc.TP+sc.FN > 0 {
			sc.Recall = float64(sc.TP) / float64(sc.TP+sc.FN)
		}
		if sc.Precision+sc.Recall > 0 {
			sc.F1 = 2 * sc.Precision * sc.Recall / (sc.Precision + sc.Recall)
		}
		out[typ] = sc
	}
	return out
}

// SortedTypes returns the types of scores in alphabetical order, for printing.
func SortedTypes(scores map[string]Score) []string {
	types := make([]string, 0, len(scores))
	for typ := range scores {
		types = append(types, typ)
	}
	sort.Strings(types)
	return types
}
