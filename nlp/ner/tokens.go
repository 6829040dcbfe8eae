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
	return appendTokens(make([]token, 0, len(text)/4+1), text)
}

// appendTokens appends the tokens of text to out. ASCII, most of what it reads, takes a
// path of byte tests; the rest goes by the Unicode tables.
func appendTokens(out []token, text string) []token {
	for i := 0; i < len(text); {
		if c := text[i]; c < utf8.RuneSelf {
			switch {
			case c == '\n':
				out = append(out, token{i, i + 1, kindNewline})
				i++
			case c == ' ' || '\t' <= c && c <= '\r':
				i++
			case isDigit(c):
				j := i + 1
				for j < len(text) && isDigit(text[j]) {
					j++
				}
				if j < len(text) && text[j] >= utf8.RuneSelf {
					j = digitsEnd(text, j)
				}
				out = append(out, token{i, j, kindNumber})
				i = j
			case isLetter(c):
				j := wordEnd(text, i+1)
				out = append(out, token{i, j, kindWord})
				i = j
			default:
				out = append(out, token{i, i + 1, kindPunct})
				i++
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case unicode.IsSpace(r):
			i += size
		case unicode.Is(unicode.Han, r):
			out = append(out, token{i, i + size, kindHan})
			i += size
		case unicode.IsDigit(r):
			j := digitsEnd(text, i+size)
			out = append(out, token{i, j, kindNumber})
			i = j
		case unicode.IsLetter(r):
			j := wordEnd(text, i+size)
			out = append(out, token{i, j, kindWord})
			i = j
		default:
			out = append(out, token{i, i + size, kindPunct})
			i += size
		}
	}
	return out
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// digitsEnd returns the end of the run of digits at text[j:].
func digitsEnd(text string, j int) int {
	for j < len(text) {
		if isDigit(text[j]) {
			j++
			continue
		}
		r2, s2 := utf8.DecodeRuneInString(text[j:])
		if text[j] < utf8.RuneSelf || !unicode.IsDigit(r2) {
			break
		}
		j += s2
	}
	return j
}

// wordEnd returns the end of the word that goes on at text[j:]: letters other than CJK
// and their combining marks, and an apostrophe or hyphen between letters.
func wordEnd(text string, j int) int {
	for j < len(text) {
		if isLetter(text[j]) {
			j++
			continue
		}
		r2, s2 := utf8.DecodeRuneInString(text[j:])
		if r2 >= utf8.RuneSelf && (unicode.IsLetter(r2) && !unicode.Is(unicode.Han, r2) || unicode.Is(unicode.Mn, r2)) {
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
	return j
}
