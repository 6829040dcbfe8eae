package ner

import (
	"unicode"
	"unicode/utf8"
)

// Token kinds.
const (
	kindWord    byte = iota + 1 // letters, with inner apostrophes, hyphens and dots ("O'Neil", "Jean-Luc")
	kindNumber                  // digits
	kindHan                     // one CJK character
	kindPunct                   // one other visible character
	kindNewline                 // a line break
)

// token is one token of a text: its byte range and kind.
type token struct {
	start, end int
	kind       byte
}

// tokenize splits text into tokens; blanks other than line breaks separate them.
func tokenize(text string) []token {
	var out []token
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == '\n':
			out = append(out, token{i, i + size, kindNewline})
			i += size
		case unicode.IsSpace(r):
			i += size
		case unicode.Is(unicode.Han, r):
			out = append(out, token{i, i + size, kindHan})
			i += size
		case unicode.IsDigit(r):
			j := i + size
			for j < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if !unicode.IsDigit(r2) {
					break
				}
				j += s2
			}
			out = append(out, token{i, j, kindNumber})
			i = j
		case unicode.IsLetter(r):
			j := i + size
			for j < len(text) {
				r2, s2 := utf8.DecodeRuneInString(text[j:])
				if unicode.IsLetter(r2) && !unicode.Is(unicode.Han, r2) || unicode.Is(unicode.Mn, r2) {
					j += s2
					continue
				}
				// an apostrophe or hyphen between letters stays inside the word
				if (r2 == '\'' || r2 == '-' || r2 == '’') && j+s2 < len(text) {
					if r3, _ := utf8.DecodeRuneInString(text[j+s2:]); unicode.IsLetter(r3) && !unicode.Is(unicode.Han, r3) {
						j += s2
						continue
					}
				}
				break
			}
			out = append(out, token{i, j, kindWord})
			i = j
		default:
			out = append(out, token{i, i + size, kindPunct})
			i += size
		}
	}
	return out
}
