package pii

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-cs/switchboard/nlp/intent"
	"github.com/switchboard-cs/switchboard/nlp/match"
	"github.com/switchboard-cs/switchboard/nlp/ner"
)

// Names and street addresses are found by cue and shape (names.go, address.go) and, when
// the redactor has one, by a sequence tagger (nlp/ner) trained on labelled text; the two
// are joined, and a validated number inside a tagged span still wins (resolveOverlaps).

// Tagger finds person names and addresses in text; *ner.Model is one.
type Tagger interface {
	Entities(text string) []ner.Entity
}

// WithTagger adds t's PERSON and ADDRESS entities to what the cues find.
func WithTagger(t Tagger) Option {
	return func(r *Redactor) {
		if t != nil {
			r.detectors = append(r.detectors, func(text string, sc *scan) []candidate { return tagged(t, text, sc) })
		}
	}
}

// TaggerTypes are the entity types a tagger for the redactor is trained on.
var TaggerTypes = []string{TypePerson, TypeAddress}

// tagged turns the tagger's entities into candidates, keeping the addresses that look
// like one (plausibleAddress) and the names that hold a letter. A bare number tagged as
// part of an address (a house number or postcode on a line of its own) is kept when the
// text holds a plausible address too.
func tagged(t Tagger, text string, sc *scan) []candidate {
	if !mayHoldNameOrAddress(text, sc.found) {
		return nil
	}
	var out, numbers []candidate
	for _, e := range taggedBetween(t, text, sc.found) {
		if e.Start < 0 || e.End > len(text) || e.Start >= e.End {
			continue
		}
		v := text[e.Start:e.End]
		c := candidate{typ: e.Type, start: e.Start, end: e.End, value: v}
		switch {
		case e.Type == TypePerson && strings.IndexFunc(v, unicode.IsLetter) >= 0 && !onlyCommonWords(v):
		case e.Type != TypeAddress || sc.rejectedByContext(text, e.Start, e.End) || sc.holdsLabel(text, e.Start, e.End):
			continue
		case allDigits(v) && len(v) >= 3:
			numbers = append(numbers, c)
			continue
		case !plausibleAddress(v):
			continue
		}
		out = append(out, c)
	}
	if slices.ContainsFunc(out, func(c candidate) bool { return c.typ == TypeAddress }) {
		out = append(out, numbers...)
	}
	return out
}

// taggedBetween runs the tagger on the stretches of text between the validated spans of
// found (an email address, a phone number, a card: nothing the tagger could add to)
// that could hold a name or an address, and returns its entities at their offsets in
// text. A validated span ends a stretch as the text's end does.
func taggedBetween(t Tagger, text string, found []candidate) []ner.Entity {
	var strict []candidate
	for _, c := range found {
		if c.typ != TypePerson && c.typ != TypeAddress {
			strict = append(strict, c)
		}
	}
	if len(strict) == 0 {
		return t.Entities(text)
	}
	var out []ner.Entity
	last := 0
	stretch := func(from, to int) {
		if seg := text[from:to]; mayHoldNameOrAddress(seg, nil) {
			for _, e := range t.Entities(seg) {
				out = append(out, ner.Entity{Type: e.Type, Start: from + e.Start, End: from + e.End})
			}
		}
	}
	for _, c := range firstLongest(strict) {
		stretch(last, c.start)
		last = c.end
	}
	stretch(last, len(text))
	return out
}

// longestDigitRun is the length of the longest run of ASCII digits in v.
func longestDigitRun(v string) int {
	best, n := 0, 0
	for i := 0; i < len(v); i++ {
		if isDigitByte(v[i]) {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}

// holdsLabel reports a business-number label inside text[start:end] ("快递单号SF0722…"):
// what follows it is an order or tracking number, not an address.
func (sc *scan) holdsLabel(text string, start, end int) bool {
	for _, c := range sc.cuesFrom(text, cueLabel, start, end) {
		if c.end <= end && wholeWord(text, c) {
			return true
		}
	}
	return false
}

// mayHoldNameOrAddress reports whether the tagger could find anything in text that tagged
// would keep: Latin letters (a name, an address) or a Chinese administrative unit, road or
// building (zhPlaceChars), outside what the validated detectors found (the letters of an
// email address or an IBAN are neither). Chinese text without one (most Chinese messages:
// "手机号" has 号, but an address with only 号 has none of the rest) skips the tagger; it
// has learnt no Chinese names.
func mayHoldNameOrAddress(text string, found []candidate) bool {
	inFound := func(i int) (end int, ok bool) {
		for _, c := range found {
			if c.typ != TypePerson && c.typ != TypeAddress && c.start <= i && i < c.end {
				return c.end, true
			}
		}
		return 0, false
	}
	for i := 0; i < len(text); i++ {
		if c := text[i]; c < utf8.RuneSelf && isASCIILetter(rune(c)) {
			if end, ok := inFound(i); ok {
				i = end - 1
				continue
			}
			return true
		}
	}
	// (a place character inside a validated span, in a URL's path, only costs a pass)
	return zhPlaces.in(text)
}

// zhPlaceChars are the units of a Chinese address that ordinary words seldom hold.
const zhPlaceChars = "省市区县镇乡村路街巷弄楼栋幢室苑庄屯湾坊厦"

var zhPlaces = newRuneSet(zhPlaceChars)

// notNames are the words of greetings, sign-offs and roles that a letter's layout puts
// where a name could stand ("Thanks,\nCustomer Service"): a tagged name of these words
// alone is none.
var notNames = map[string]bool{
	"thanks": true, "thank": true, "you": true, "regards": true, "best": true, "kind": true, "warm": true,
	"dear": true, "hello": true, "hi": true, "hey": true, "cheers": true, "sincerely": true, "yours": true,
	"customer": true, "service": true, "services": true, "support": true, "team": true, "manager": true,
	"agent": true, "staff": true, "department": true, "admin": true, "sir": true, "madam": true, "all": true,
}

// onlyCommonWords reports a span whose every word is one of notNames.
func onlyCommonWords(v string) bool {
	words := strings.FieldsFunc(v, func(r rune) bool { return !unicode.IsLetter(r) })
	for _, w := range words {
		if !notNames[strings.ToLower(w)] {
			return false
		}
	}
	return len(words) > 0
}

// zhAddressChars are the administrative units, roads, buildings and rooms of a Chinese
// address; a tagged Chinese address holds one.
const zhAddressChars = "省市区县镇乡村路街道巷弄号楼栋幢单元室座层苑园庄屯湾里坊厦"

// monthsAndDays are words a date has and an address has not.
var monthsAndDays = map[string]bool{
	"january": true, "february": true, "march": true, "april": true, "may": true, "june": true, "july": true,
	"august": true, "september": true, "october": true, "november": true, "december": true,
	"jan": true, "feb": true, "mar": true, "apr": true, "jun": true, "jul": true, "aug": true, "sep": true,
	"sept": true, "oct": true, "nov": true, "dec": true, "monday": true, "tuesday": true, "wednesday": true,
	"thursday": true, "friday": true, "saturday": true, "sunday": true,
}

// plausibleAddress is the check on a tagged address: a Chinese one holds an address
// character (省, 路, 号 …) and two more CJK characters; any other holds a digit and a word
// that is not a month or a weekday ("May 24" is a date). A label like "订单号" right
// before or inside it makes it a business number (tagged checks that).
func plausibleAddress(v string) bool {
	han := 0
	for _, r := range v {
		if unicode.Is(unicode.Han, r) {
			han++
		}
	}
	if han > 0 {
		// a house, building or room number is short; an amount is not an address
		return han >= 3 && strings.ContainsAny(v, zhAddressChars) && longestDigitRun(v) <= 6 && !strings.ContainsAny(v, "元¥￥")
	}
	if !strings.ContainsAny(v, "0123456789") {
		return false
	}
	for _, w := range strings.FieldsFunc(v, func(r rune) bool { return !unicode.IsLetter(r) }) {
		if !monthsAndDays[strings.ToLower(w)] {
			return true
		}
	}
	return false
}

// PresidioExamples returns the records of dir/synth_dataset_v2.json that split takes as
// tagger training text: PERSON and STREET_ADDRESS spans as PERSON and ADDRESS.
func PresidioExamples(dir string, split Split) ([]ner.Example, error) {
	recs, err := readPresidio(dir)
	if err != nil {
		return nil, err
	}
	var out []ner.Example
	for _, rec := range recs {
		if !split.takes(rec.FullText) {
			continue
		}
		offs := byteOffsets(rec.FullText)
		ex := ner.Example{Text: rec.FullText}
		for _, s := range rec.Spans {
			typ := presidioLabels[s.Type]
			if (typ != TypePerson && typ != TypeAddress) || s.Start < 0 || s.End > len(offs)-1 || s.Start >= s.End {
				continue
			}
			ex.Entities = append(ex.Entities, ner.Entity{Type: typ, Start: offs[s.Start], End: offs[s.End]})
		}
		out = append(out, ex)
	}
	return out, nil
}

// ChineseAddressExamples returns the queries of dir/file of the Chinese address parsing
// corpus ("dev.txt" for training; the evaluation uses "test.txt") as tagger training
// text with their ADDRESS spans. The corpus's "person" label holds shop and company
// names, not people, so it is not taught.
func ChineseAddressExamples(dir, file string) ([]ner.Example, error) {
	queries, err := readZhAddrQueries(filepath.Join(dir, file))
	if err != nil {
		return nil, err
	}
	out := make([]ner.Example, 0, len(queries))
	for _, q := range queries {
		ex := ner.Example{Text: q.text}
		for _, g := range q.gold {
			if g.typ == TypeAddress {
				ex.Entities = append(ex.Entities, ner.Entity{Type: TypeAddress, Start: g.start, End: g.end})
			}
		}
		out = append(out, ex)
	}
	return out, nil
}

// TaggerTrainingSet gathers the tagger's training text from the shared data folder: the
// presidio set's training part (names and addresses in English), zh_address_parsing's dev
// split (Chinese addresses; half of them set inside a sentence, since customers write an
// address within a message and the corpus holds bare ones), and, as text with neither,
// the training questions of BANKING77 and CLINC150 and the dev questions of LCQMC, BQ and
// ATEC — so that ordinary words and Chinese characters are not taken for names or
// addresses. None of the sets `pii eval` reports on is among them. sets names what was
// found.
func TaggerTrainingSet(data string, seed uint64) (exs []ner.Example, sets []string, err error) {
	rng := rand.New(rand.NewPCG(seed, 0x7a66))
	if en, err := PresidioExamples(filepath.Join(data, "pii_presidio_synth"), SplitTrain); err == nil {
		exs, sets = append(exs, en...), append(sets, "pii_presidio_synth (training part)")
	}
	var plain []string
	if train, _, err := intent.LoadBanking77(filepath.Join(data, "banking77")); err == nil {
		for _, ex := range train {
			plain = append(plain, ex.Text)
		}
		sets = append(sets, "banking77 train")
	}
	if train, _, _, err := intent.LoadCLINC150(filepath.Join(data, "clinc150")); err == nil {
		for _, ex := range train {
			plain = append(plain, ex.Text)
		}
		sets = append(sets, "clinc150 train")
	}
	var zhPlain []string
	for _, set := range []struct {
		name string
		load func(string) ([]match.Pair, []match.Pair, error)
	}{{"lcqmc", match.LoadLCQMC}, {"bq_corpus", match.LoadBQ}, {"atec_ccks", match.LoadATEC}} {
		dev, _, err := set.load(filepath.Join(data, set.name))
		if err != nil {
			continue
		}
		for _, p := range dev {
			zhPlain = append(zhPlain, p.A)
		}
		sets = append(sets, set.name+" dev")
	}
	// twice as many plain texts as labelled ones of each language, those with digits
	// first (amounts, dates, times: numbers that are not house numbers), then at random
	plain, zhPlain = digitsFirst(rng, plain), digitsFirst(rng, zhPlain)
	for _, s := range plain[:min(len(plain), 2*len(exs))] {
		exs = append(exs, ner.Example{Text: s})
	}
	if zh, err := ChineseAddressExamples(filepath.Join(data, "zh_address_parsing"), "dev.txt"); err == nil {
		sets = append(sets, "zh_address_parsing dev")
		for _, ex := range zh {
			if len(zhPlain) > 0 && rng.IntN(2) == 0 {
				ex = withinSentence(rng, ex, zhPlain[rng.IntN(len(zhPlain))], zhPlain[rng.IntN(len(zhPlain))])
			}
			exs = append(exs, ex)
		}
		for _, s := range zhPlain[:min(len(zhPlain), 2*len(zh))] {
			exs = append(exs, ner.Example{Text: s})
		}
	}
	if len(exs) == 0 {
		return nil, nil, fmt.Errorf("%w: no tagger training text under %s", ErrBadData, data)
	}
	return exs, sets, nil
}

// digitsFirst shuffles texts and moves those holding a digit to the front.
func digitsFirst(rng *rand.Rand, texts []string) []string {
	rng.Shuffle(len(texts), func(i, j int) { texts[i], texts[j] = texts[j], texts[i] })
	slices.SortStableFunc(texts, func(a, b string) int {
		da, db := strings.ContainsAny(a, "0123456789"), strings.ContainsAny(b, "0123456789")
		switch {
		case da && !db:
			return -1
		case db && !da:
			return 1
		}
		return 0
	})
	return texts
}

// zhAddressLeadsIn introduce an address set inside a sentence for training.
var zhAddressLeadsIn = []string{"我的地址是", "寄到", "送到", "我住在", "地址：", "收货地址", "麻烦发到", ""}

// withinSentence puts a Chinese address example between two plain sentences, after a
// lead, shifting its spans.
func withinSentence(rng *rand.Rand, ex ner.Example, before, after string) ner.Example {
	prefix := strings.TrimRight(before, "？?。！!") + "，" + zhAddressLeadsIn[rng.IntN(len(zhAddressLeadsIn))]
	out := ner.Example{Text: prefix + ex.Text + "，" + after}
	for _, e := range ex.Entities {
		out.Entities = append(out.Entities, ner.Entity{Type: e.Type, Start: e.Start + len(prefix), End: e.End + len(prefix)})
	}
	return out
}
