package pii

import (
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/coregx/ahocorasick"
)

// Detectors look for some three hundred cues: the words that introduce a name or an
// address, and the words around a number that say what it is (a phone cue, an order
// label, a currency). One Aho-Corasick automaton finds every occurrence of all of them in
// one pass over the lower-cased text, shared by the detectors of a Redact call; a check
// on a candidate then looks its cues up among those found, where a search per cue in the
// candidate's surroundings took several times as long.

// cueKind says which list a cue belongs to.
type cueKind uint8

const (
	cueEnName    cueKind = iota // enNameCues
	cueZhName                   // zhNameCues
	cueEnAddress                // enAddressCues
	cuePhone                    // phoneCuesBefore
	cueNotPhone                 // notPhoneCues
	cueLabel                    // nonPersonalLabels
	cueDOB                      // dobCues
	cueLicence                  // licenceCues
	cueID                       // idCues
	cueCard                     // cardCues
	cueZhAddress                // addressCues
	cueSSN                      // ssnCues
	cuePassport                 // passportCues
	cueCurrency                 // currencyBefore
	cueUnit                     // unitsAfter
	numCueKinds
)

// cueLists are the lists of the kinds after the first three (whose lists hold more than
// the cue); a cue is lower case.
var cueLists = [numCueKinds][]string{
	cuePhone: phoneCuesBefore, cueNotPhone: notPhoneCues, cueLabel: nonPersonalLabels, cueDOB: dobCues,
	cueLicence: licenceCues, cueID: idCues, cueCard: cardCues, cueZhAddress: addressCues, cueSSN: ssnCues,
	cuePassport: passportCues, cueCurrency: currencyBefore, cueUnit: unitsAfter,
}

// cueRef is one list entry a pattern of the automaton stands for: its list and its index.
type cueRef struct {
	kind  cueKind
	index int
}

var cueAutomaton, cueRefs = buildCues()

// buildCues builds the automaton over every list; a pattern in several lists ("card",
// "驾照") is one pattern with several refs.
func buildCues() (*ahocorasick.Automaton, [][]cueRef) {
	var patterns []string
	var refs [][]cueRef
	id := map[string]int{}
	add := func(p string, ref cueRef) {
		i, ok := id[p]
		if !ok {
			i = len(patterns)
			id[p] = i
			patterns, refs = append(patterns, p), append(refs, nil)
		}
		refs[i] = append(refs[i], ref)
	}
	for i, c := range enNameCues {
		add(c.cue, cueRef{cueEnName, i})
	}
	for i, c := range zhNameCues {
		add(c.cue, cueRef{cueZhName, i})
	}
	for i, c := range enAddressCues {
		add(c, cueRef{cueEnAddress, i})
	}
	for kind, list := range cueLists {
		for i, c := range list {
			add(c, cueRef{cueKind(kind), i})
		}
	}
	a, err := ahocorasick.NewBuilder().AddStrings(patterns).Build()
	if err != nil {
		panic("pii: cue automaton: " + err.Error()) // the patterns are constants
	}
	return a, refs
}

// cue is one occurrence of a cue of kind in the text: its list index and byte range.
type cue struct {
	index      int
	start, end int
}

// cuesOf returns the occurrences of kind's cues in text, in order of their start,
// finding all kinds' on first use.
func (sc *scan) cuesOf(text string, kind cueKind) []cue {
	if !sc.cued {
		low := sc.lowered(text)
		// the automaton reads the string's bytes in place, without a copy
		for _, m := range cueAutomaton.FindAllOverlapping(unsafe.Slice(unsafe.StringData(low), len(low))) {
			for _, ref := range cueRefs[m.PatternID] {
				sc.cues[ref.kind] = append(sc.cues[ref.kind], cue{index: ref.index, start: m.Start, end: m.End})
			}
		}
		byStart := func(a, b cue) int { return a.start - b.start }
		for _, cs := range sc.cues {
			if !slices.IsSortedFunc(cs, byStart) {
				slices.SortStableFunc(cs, byStart)
			}
		}
		sc.cued = true
	}
	return sc.cues[kind]
}

// cuesFrom returns the occurrences of kind's cues that start in text[lo:hi]; those that
// end after hi too.
func (sc *scan) cuesFrom(text string, kind cueKind, lo, hi int) []cue {
	cs := sc.cuesOf(text, kind)
	i := sort.Search(len(cs), func(i int) bool { return cs[i].start >= lo })
	j := i
	for j < len(cs) && cs[j].start < hi {
		j++
	}
	return cs[i:j]
}

// wholeWord reports whether c is a word of its own in text: a cue that begins (ends) with
// an ASCII letter has none right before (after) it ("cell" is not in "cancelled").
func wholeWord(text string, c cue) bool {
	if isASCIILetter(rune(text[c.start])) {
		if r, _ := runeBefore(text, c.start); isASCIILetter(r) {
			return false
		}
	}
	if isASCIILetter(rune(text[c.end-1])) {
		if r, _ := runeAt(text, c.end); isASCIILetter(r) {
			return false
		}
	}
	return true
}

// cueIn returns where the last of kind's cues, as a whole word, ends within cueWindow
// bytes before start and in the clause holding start, as an offset into text, or -1.
func (sc *scan) cueIn(text string, start int, kind cueKind) int {
	lo := start - len(tail(text[:start], cueWindow))
	if i := strings.LastIndexAny(text[lo:start], clauseEnds); i >= 0 {
		lo += i
	}
	best := -1
	for _, c := range sc.cuesFrom(text, kind, lo, start) {
		if c.end <= start && wholeWord(text, c) {
			best = max(best, c.end)
		}
	}
	return best
}

// hasCueBefore reports one of kind's cues, whole word or not, within window bytes before
// start.
func (sc *scan) hasCueBefore(text string, start, window int, kind cueKind) bool {
	for _, c := range sc.cuesFrom(text, kind, start-len(tail(text[:start], window)), start) {
		if c.end <= start {
			return true
		}
	}
	return false
}

// cueEndingAt reports one of kind's cues that ends at end and starts at lo or after, as
// a whole word at its start when it begins with a letter ("order" is not the end of
// "border").
func (sc *scan) cueEndingAt(text string, kind cueKind, lo, end int) bool {
	for _, c := range sc.cuesFrom(text, kind, lo, end) {
		if c.end == end {
			if r, _ := runeBefore(text, c.start); !isASCIILetter(rune(text[c.start])) || !isASCIILetter(r) {
				return true
			}
		}
	}
	return false
}

// cueStartingAt reports one of kind's cues that starts at start and ends by hi, a whole
// word at its end when it ends with a letter ("usd" does not start "usdt").
func (sc *scan) cueStartingAt(text string, kind cueKind, start, hi int) bool {
	for _, c := range sc.cuesFrom(text, kind, start, start+1) {
		if c.end <= hi {
			if r, _ := runeAt(text, c.end); !isASCIILetter(rune(text[c.end-1])) || !isASCIILetter(r) {
				return true
			}
		}
	}
	return false
}

// trimLeftOf moves i back over the runes of set, not before lo.
func trimLeftOf(text string, lo, i int, set string) int {
	for i > lo {
		r, size := utf8.DecodeLastRuneInString(text[lo:i])
		if !strings.ContainsRune(set, r) {
			break
		}
		i -= size
	}
	return i
}

// trimRightOf moves i on over the runes of set, not past hi.
func trimRightOf(text string, i, hi int, set string) int {
	for i < hi {
		r, size := utf8.DecodeRuneInString(text[i:hi])
		if !strings.ContainsRune(set, r) {
			break
		}
		i += size
	}
	return i
}
