package pii

import "unicode/utf8"

// Character classes shared by the detectors. Full-width forms (U+FF01–U+FF5E), which
// Chinese input methods produce, count like their ASCII counterparts.

// fold maps a full-width ASCII form to ASCII and leaves other runes alone.
func fold(r rune) rune {
	if r >= 0xFF01 && r <= 0xFF5E {
		return r - 0xFEE0
	}
	return r
}

func isDigit(r rune) bool { r = fold(r); return r >= '0' && r <= '9' }

// isWordRune reports ASCII letters, digits and '_' (full-width included): characters that
// glue a number to a code such as "SKU13812345678". CJK characters are not word runes,
// so "手机13812345678谢谢" keeps its number separate.
func isWordRune(r rune) bool {
	r = fold(r)
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_'
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\u00a0' || r == '\u3000' }

// isNumberSep reports characters that may sit between digit groups of one number:
// blanks, dashes and parentheses ("+1 (415) 555-2671", "138-1234-5678").
func isNumberSep(r rune) bool {
	switch fold(r) {
	case ' ', '\u00a0', '\u3000', '-', '\u2010', '\u2011', '\u2013', '(', ')', '（', '）':
		return true
	}
	return false
}

// runeAt decodes the rune starting at byte i, or returns (utf8.RuneError, 0) past the end.
func runeAt(s string, i int) (rune, int) {
	if i >= len(s) {
		return utf8.RuneError, 0
	}
	return utf8.DecodeRuneInString(s[i:])
}

// runeBefore decodes the rune ending at byte i, or returns (utf8.RuneError, 0) at the start.
func runeBefore(s string, i int) (rune, int) {
	if i <= 0 {
		return utf8.RuneError, 0
	}
	return utf8.DecodeLastRuneInString(s[:i])
}

// runeSet is a set of runes to look for in a text in one pass: strings.ContainsAny with
// CJK characters in its set searches the text once per character of the set. Runes
// beyond ASCII are bits from the smallest of them to the largest (a few kilobytes for a
// set of CJK characters).
type runeSet struct {
	ascii [utf8.RuneSelf]bool
	base  rune
	bits  []uint64
}

func newRuneSet(chars string) *runeSet {
	s := &runeSet{base: utf8.MaxRune}
	top := rune(0)
	for _, r := range chars {
		if r >= utf8.RuneSelf {
			s.base, top = min(s.base, r), max(top, r)
		}
	}
	if top > 0 {
		s.bits = make([]uint64, (top-s.base)/64+1)
	}
	for _, r := range chars {
		if r < utf8.RuneSelf {
			s.ascii[r] = true
		} else {
			s.bits[(r-s.base)/64] |= 1 << ((r - s.base) % 64)
		}
	}
	return s
}

// in reports whether text holds a rune of s.
func (s *runeSet) in(text string) bool { return s.index(text) >= 0 }

// index returns the byte offset of the first rune of s in text, or -1.
func (s *runeSet) index(text string) int {
	for i := 0; i < len(text); {
		if c := text[i]; c < utf8.RuneSelf {
			if s.ascii[c] {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if k := int(r-s.base) / 64; r >= s.base && k < len(s.bits) && s.bits[k]&(1<<((r-s.base)%64)) != 0 {
			return i
		}
		i += size
	}
	return -1
}
