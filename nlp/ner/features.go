package ner

import (
	"unicode"
	"unicode/utf8"
)

// Features are hashed: a feature's id, then the strings it joins, through 64-bit FNV-1a.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func mix(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

// Feature ids.
const (
	fBias byte = iota + 1
	fWord
	fPrev
	fNext
	fPrev2
	fNext2
	fShape
	fShapePrev
	fShapeNext
	fSuffix3
	fPrefix3
	fSuffix2
	fPairPrev
	fPairNext
	fLineStart
	fKindLen
	fAround
	fTrigram
)

// edge stands for the tokens before the first and after the last.
const edge = "\x00"

// tokenText is token j's text, or edge outside the text.
func tokenText(text string, toks []token, j int) string {
	if j < 0 || j >= len(toks) {
		return edge
	}
	return text[toks[j].start:toks[j].end]
}

// addLower mixes s, lower-cased, into h.
func addLower(h uint64, s string) uint64 {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			h = mix(h, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		var buf [utf8.UTFMax]byte
		n := utf8.EncodeRune(buf[:], unicode.ToLower(r))
		for _, b := range buf[:n] {
			h = mix(h, b)
		}
		i += size
	}
	return h
}

// addShape mixes the shape of s into h: X upper, x lower, d digit, c CJK, the character
// itself otherwise, runs of one class cut at two.
func addShape(h uint64, s string) uint64 {
	var last byte
	run := 0
	for _, r := range s {
		var c byte
		switch {
		case unicode.IsUpper(r):
			c = 'X'
		case unicode.Is(unicode.Han, r):
			c = 'c'
		case unicode.IsLetter(r):
			c = 'x'
		case unicode.IsDigit(r):
			c = 'd'
		case r < utf8.RuneSelf:
			c = byte(r)
		default:
			c = '?'
		}
		if c == last {
			run++
			if run >= 2 {
				continue
			}
		} else {
			last, run = c, 0
		}
		h = mix(h, c)
	}
	return h
}

func hashOf(id byte) uint64 { return mix(fnvOffset, id) }

// lineStart reports whether token i begins its line.
func lineStart(toks []token, i int) bool {
	return i == 0 || toks[i-1].kind == kindNewline
}

// lenBucket groups a token's length in runes.
func lenBucket(s string) byte {
	switch n := utf8.RuneCountInString(s); {
	case n <= 2:
		return byte('0' + n)
	case n <= 4:
		return '4'
	case n <= 8:
		return '8'
	}
	return '9'
}

// features appends the hashed features of token i to out.
func features(out []uint64, text string, toks []token, i int) []uint64 {
	w := tokenText(text, toks, i)
	prev, next := tokenText(text, toks, i-1), tokenText(text, toks, i+1)
	sep := func(h uint64) uint64 { return mix(h, 0xff) }
	out = append(out,
		hashOf(fBias),
		addLower(hashOf(fWord), w),
		addLower(hashOf(fPrev), prev),
		addLower(hashOf(fNext), next),
		addLower(hashOf(fPrev2), tokenText(text, toks, i-2)),
		addLower(hashOf(fNext2), tokenText(text, toks, i+2)),
		addShape(hashOf(fShape), w),
		addShape(sep(addShape(hashOf(fShapePrev), prev)), w),
		addShape(sep(addShape(hashOf(fShapeNext), w)), next),
		addLower(sep(addLower(hashOf(fPairPrev), prev)), w),
		addLower(sep(addLower(hashOf(fPairNext), w)), next),
		addLower(sep(addLower(hashOf(fAround), prev)), next),
		addLower(sep(addLower(sep(addLower(hashOf(fTrigram), prev)), w)), next),
		mix(mix(hashOf(fKindLen), toks[i].kind), lenBucket(w)),
	)
	if lineStart(toks, i) {
		out = append(out, addShape(hashOf(fLineStart), w))
	}
	if toks[i].kind == kindWord {
		runes := []rune(w)
		if n := len(runes); n > 3 {
			out = append(out, addLower(hashOf(fSuffix3), string(runes[n-3:])), addLower(hashOf(fPrefix3), string(runes[:3])),
				addLower(hashOf(fSuffix2), string(runes[n-2:])))
		}
	}
	return out
}
