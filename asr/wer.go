package asr

import (
	"github.com/switchboard-cs/switchboard/internal/editdist"

	"strings"
	"unicode"
)

// WER is the word error rate of hypothesis against reference: the Levenshtein distance
// over normalized words (substitutions + deletions + insertions, see NormalizeWords)
// divided by the number of reference words. errors and words are returned so that rates
// over a set are computed as Σerrors / Σwords. An empty reference gives rate 0 when the
// hypothesis is empty too, else 1.
func WER(reference, hypothesis string) (rate float64, errors, words int) {
	ref, hyp := NormalizeWords(reference), NormalizeWords(hypothesis)
	errors = editdist.Distance(ref, hyp)
	words = len(ref)
	switch {
	case words > 0:
		rate = float64(errors) / float64(words)
	case errors > 0:
		rate = 1
	}
	return rate, errors, words
}

// NormalizeWords lowercases s and splits it into words, treating every rune that is not a
// letter or digit as a separator except an apostrophe inside a word ("don't" stays one
// word; typographic apostrophes count as ASCII ones).
func NormalizeWords(s string) []string {
	rs := []rune(strings.ToLower(s))
	var b strings.Builder
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		case (r == '\'' || r == '’') && i > 0 && i+1 < len(rs) &&
			unicode.IsLetter(rs[i-1]) && unicode.IsLetter(rs[i+1]):
			b.WriteByte('\'')
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Fields(b.String())
}
