package para

import (
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// feature kinds, mixed into the hash so a word and a character n-gram with the same
// letters are different features.
const (
	kindWord   = 'w'
	kindBigram = 'b'
	kindGram   = 'g'
	kindHan    = 'c'
	kindHan2   = 'd'
)

// units splits normalised text into words (runs of letters or of digits) and CJK
// characters (one unit each), with an empty unit where punctuation breaks the text; han
// tells which units are CJK.
func units(text string) (us []string, han []bool) {
	text = strings.ToLower(width.Fold.String(text))
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			us = append(us, cur.String())
			han = append(han, false)
			cur.Reset()
		}
	}
	lastDigit := false
	for _, r := range text {
		switch {
		case isHan(r):
			flush()
			us = append(us, string(r))
			han = append(han, true)
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'':
			if r == '\'' {
				continue // "don't" and "dont" are one word
			}
			d := unicode.IsDigit(r)
			if cur.Len() > 0 && d != lastDigit {
				flush()
			}
			lastDigit = d
			cur.WriteRune(r)
		case unicode.IsSpace(r):
			flush()
		default: // punctuation ends a phrase: no bigram spans it
			flush()
			if len(us) > 0 && us[len(us)-1] != "" {
				us = append(us, "")
				han = append(han, false)
			}
		}
	}
	flush()
	return us, han
}

func isHan(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r)
}

// Features returns the hashed features of text: each word, each pair of adjacent words,
// the character 3- to 5-grams of each word of four or more letters (with its boundaries),
// and, for CJK text, each character and each pair of adjacent characters. A feature
// appears once per occurrence.
func Features(text string) []uint64 {
	us, han := units(text)
	out := make([]uint64, 0, 8*len(us))
	prev := ""
	prevHan := false
	for i, u := range us {
		if u == "" {
			prev, prevHan = "", false
			continue
		}
		if han[i] {
			out = append(out, hash(kindHan, u))
			if prevHan {
				out = append(out, hash2(kindHan2, prev, u))
			}
			prev, prevHan = u, true
			continue
		}
		out = append(out, hash(kindWord, u))
		if prev != "" && !prevHan {
			out = append(out, hash2(kindBigram, prev, u))
		}
		out = appendGrams(out, u)
		prev, prevHan = u, false
	}
	return out
}

// appendGrams adds the character 3- to 5-grams of "<word>" for words of four or more
// runes; they let a misspelt or inflected word share most of its vector with the word.
func appendGrams(out []uint64, w string) []uint64 {
	rs := []rune("<" + w + ">")
	if len(rs) < 6 {
		return out
	}
	for n := 3; n <= 5; n++ {
		for i := 0; i+n <= len(rs); i++ {
			out = append(out, hash(kindGram, string(rs[i:i+n])))
		}
	}
	return out
}

// hash is 64-bit FNV-1a over the kind and the text.
func hash(kind byte, s string) uint64 {
	h := uint64(14695981039346656037)
	h ^= uint64(kind)
	h *= 1099511628211
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func hash2(kind byte, a, b string) uint64 {
	return hash(kind, a+"\x00"+b)
}
