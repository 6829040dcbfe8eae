package sentiment

import (
	"slices"
	"time"

	"github.com/switchboard-cs/switchboard/nlp/lang"
)

// Model scores the polarity of Chinese and English text with one classifier per
// language. It is safe for concurrent use.
type Model struct {
	langs map[lang.Lang]*scorer
	info  Info
}

// Info says what a model was trained on.
type Info struct {
	Trained   time.Time
	Seed      int64
	Languages []LangInfo
}

// LangInfo is one language's part of Info.
type LangInfo struct {
	Lang        lang.Lang
	Sources     []string
	Examples    int     // training examples
	Accuracy    float64 // on the held-out part
	Temperature float64 // the calibration's temperature
}

// Info returns what the model was trained on.
func (m *Model) Info() Info { return m.info }

// Languages returns the languages the model scores.
func (m *Model) Languages() []lang.Lang {
	out := make([]lang.Lang, 0, len(m.langs))
	for l := range m.langs {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// Negativity returns the probability that text expresses a negative opinion, in [0, 1].
// The language is told by script (package lang); text of no language the model has
// (digits, emoji, other scripts) scores 0.5, no evidence either way.
func (m *Model) Negativity(text string) float64 {
	p, ok := m.negativity(text)
	if !ok {
		return 0.5
	}
	return p
}

// negativity is Negativity with ok false when no classifier applies.
func (m *Model) negativity(text string) (float64, bool) {
	s := m.langs[lang.Detect(text)]
	if s == nil {
		return 0, false
	}
	return s.negativity(text), true
}

// Hostility scores an agent's reply for rudeness: the model's negativity of the reply with
// the byte spans in skip (the apologies and expressions of empathy a rule checker found)
// blanked out, or 0 when nothing in Chinese or English is left. See the package
// documentation for why this stands in for a rudeness model. Spans out of range are
// clipped; overlapping ones are fine.
func (m *Model) Hostility(text string, skip [][2]int) float64 {
	p, ok := m.negativity(blank(text, skip))
	if !ok {
		return 0
	}
	return p
}

// blank replaces the bytes of text inside the spans with spaces, so the words on either
// side stay apart; a rune cut by a span's edge is blanked whole.
func blank(text string, spans [][2]int) string {
	if len(spans) == 0 {
		return text
	}
	out := []byte(text)
	for _, s := range spans {
		lo, hi := max(0, s[0]), min(len(out), s[1])
		for lo > 0 && lo < len(out) && !utf8RuneStart(out[lo]) {
			lo--
		}
		for hi < len(out) && !utf8RuneStart(out[hi]) {
			hi++
		}
		for i := lo; i < hi; i++ {
			out[i] = ' '
		}
	}
	return string(out)
}

// utf8RuneStart reports whether b can begin a UTF-8 encoded rune.
func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
