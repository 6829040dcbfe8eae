package match

import (
	"unicode"
)

// maxUnits bounds the units read from one text, keeping the quadratic string measures
// cheap on pathological input.
const maxUnits = 200

// unitKind says what a unit is made of.
type unitKind uint8

const (
	kindCJK unitKind = iota + 1
	kindWord
	kindDigits
)

// foldRune maps full-width ASCII forms and the ideographic space to their half-width
// equivalents and lower-cases the result.
func foldRune(r rune) rune {
	switch {
	case r == 0x3000:
		r = ' '
	case r >= 0xFF01 && r <= 0xFF5E:
		r -= 0xFEE0
	}
	return unicode.ToLower(r)
}

// isCJK reports whether r is written without spaces between words.
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

// kindOf classifies a folded rune; zero means it separates units and is dropped.
func kindOf(r rune) unitKind {
	switch {
	case isCJK(r):
		return kindCJK
	case unicode.IsDigit(r):
		return kindDigits
	case unicode.IsLetter(r):
		return kindWord
	}
	return 0
}

// Units normalises text and splits it into matching units: each CJK character, each run
// of letters and each run of digits is one unit; punctuation, symbols and spaces only
// separate units. At most 200 units are returned.
func Units(text string) []string {
	var (
		units []string
		cur   []rune
		kind  unitKind
	)
	flush := func() {
		if len(cur) > 0 {
			units = append(units, string(cur))
		}
		cur, kind = cur[:0], 0
	}
	for _, r := range text {
		if len(units) >= maxUnits {
			break
		}
		r = foldRune(r)
		k := kindOf(r)
		switch {
		case k == kindCJK:
			flush()
			units = append(units, string(r))
		case k != 0 && k == kind:
			cur = append(cur, r)
		default:
			flush()
			if k != 0 {
				cur, kind = append(cur, r), k
			}
		}
	}
	flush()
	if len(units) > maxUnits {
		units = units[:maxUnits]
	}
	return units
}

// isNumber reports whether a unit is a run of digits.
func isNumber(u string) bool {
	for _, r := range u {
		return unicode.IsDigit(r)
	}
	return false
}

// bigrams returns the adjacent unit pairs of units, joined by a separator that cannot
// occur inside a unit.
func bigrams(units []string) []string {
	if len(units) < 2 {
		return nil
	}
	out := make([]string, 0, len(units)-1)
	for i := 0; i+1 < len(units); i++ {
		out = append(out, units[i]+"\x00"+units[i+1])
	}
	return out
}

// counts returns the multiset of terms as a map.
func counts(terms []string) map[string]int {
	m := make(map[string]int, len(terms))
	for _, t := range terms {
		m[t]++
	}
	return m
}

// commonRuns returns the length of the longest common substring and of the longest
// common subsequence of two unit sequences.
func commonRuns(a, b []string) (substr, subseq int) {
	prevStr := make([]int, len(b)+1)
	curStr := make([]int, len(b)+1)
	prevSeq := make([]int, len(b)+1)
	curSeq := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				curStr[j] = prevStr[j-1] + 1
				substr = max(substr, curStr[j])
				curSeq[j] = prevSeq[j-1] + 1
			} else {
				curStr[j] = 0
				curSeq[j] = max(prevSeq[j], curSeq[j-1])
			}
		}
		prevStr, curStr = curStr, prevStr
		prevSeq, curSeq = curSeq, prevSeq
	}
	return substr, prevSeq[len(b)]
}
