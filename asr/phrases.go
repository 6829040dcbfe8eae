package asr

import "strings"

// digitWords spells digits the way customers read out order and phone numbers.
var digitWords = [...]string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

// PhraseWords turns a phrase hint into the words an engine's vocabulary holds: the words
// of NormalizeWords, with every all-digit word spelled digit by digit ("order 12" →
// "order one two").
func PhraseWords(phrase string) []string {
	var out []string
	for _, w := range NormalizeWords(phrase) {
		if strings.Trim(w, "0123456789") != "" {
			out = append(out, w)
			continue
		}
		for _, c := range w {
			out = append(out, digitWords[c-'0'])
		}
	}
	return out
}

// PhraseList normalizes phrase hints with PhraseWords and keeps those whose every word
// known accepts, without duplicates, in order; dropped lists the phrases left out.
func PhraseList(phrases []string, known func(word string) bool) (kept, dropped []string) {
	seen := map[string]bool{}
	for _, p := range phrases {
		words := PhraseWords(p)
		ok := len(words) > 0
		for _, w := range words {
			ok = ok && known(w)
		}
		alt := strings.Join(words, " ")
		switch {
		case !ok:
			dropped = append(dropped, p)
		case !seen[alt]:
			seen[alt] = true
			kept = append(kept, alt)
		}
	}
	return kept, dropped
}
