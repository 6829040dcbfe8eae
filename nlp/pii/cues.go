package pii

import (
	"github.com/coregx/ahocorasick"
)

// The cue-based detectors (English and Chinese names, English addresses) look for some
// sixty cues. One Aho-Corasick automaton finds every occurrence of all of them in one
// pass over the lower-cased text, shared by the detectors of a Redact call, where one
// search per cue took six times as long.

// cueKind says which detector's list a cue belongs to.
type cueKind uint8

const (
	cueEnName cueKind = iota
	cueZhName
	cueEnAddress
)

// cueRef is a pattern of the automaton: its list and its index there.
type cueRef struct {
	kind  cueKind
	index int
}

var cueAutomaton, cueRefs = buildCues()

// buildCues builds the automaton over enNameCues, zhNameCues and enAddressCues.
func buildCues() (*ahocorasick.Automaton, []cueRef) {
	var patterns []string
	var refs []cueRef
	for i, c := range enNameCues {
		patterns, refs = append(patterns, c.cue), append(refs, cueRef{cueEnName, i})
	}
	for i, c := range zhNameCues {
		patterns, refs = append(patterns, c.cue), append(refs, cueRef{cueZhName, i})
	}
	for i, c := range enAddressCues {
		patterns, refs = append(patterns, c), append(refs, cueRef{cueEnAddress, i})
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
		for _, m := range cueAutomaton.FindAllOverlapping([]byte(sc.lowered(text))) {
			ref := cueRefs[m.PatternID]
			sc.cues[ref.kind] = append(sc.cues[ref.kind], cue{index: ref.index, start: m.Start, end: m.End})
		}
		sc.cued = true
	}
	return sc.cues[kind]
}
