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
	fShapeSides2
)

// edge stands for the tokens before the first and after the last.
const edge = "\x00"

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
	sh := shaper{h: h}
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
		sh.add(c)
	}
	return sh.h
}

// shaper mixes shape classes into a hash, cutting runs of one class at two.
type shaper struct {
	h    uint64
	last byte
	run  int
}

func (s *shaper) add(c byte) {
	if c == s.last {
		s.run++
		if s.run >= 2 {
			return
		}
	} else {
		s.last, s.run = c, 0
	}
	s.h = mix(s.h, c)
}

// lineStart reports whether token i begins its line.
func lineStart(toks []token, i int) bool {
	return i == 0 || toks[i-1].kind == kindNewline
}

// lenBucket groups token i's length in bytes (a rune of CJK is one token).
func lenBucket(toks []token, i int) byte {
	switch n := toks[i].end - toks[i].start; {
	case n <= 2:
		return byte('0' + n)
	case n <= 4:
		return '4'
	case n <= 8:
		return '8'
	}
	return '9'
}

// tokenHashes are the hashes of each token of a text that its features combine: the
// lower-cased token, its shape, and for words of four or more letters their first three,
// last three and last two letters (0 otherwise). Computed once a text, they make a
// token's features a few multiplications each.
type tokenHashes struct {
	word, shape, pre3, suf3, suf2 []uint64
	lineStart                     []bool
	all                           []uint64 // the memory of the five
}

// edgeHash stands for the tokens before the first and after the last.
var edgeHash = addLower(fnvOffset, edge)

// hashTokens computes the hashes of toks.
func hashTokens(text string, toks []token) tokenHashes {
	var h tokenHashes
	h.fill(text, toks)
	return h
}

// fill sets h to the hashes of toks, reusing h's memory.
func (h *tokenHashes) fill(text string, toks []token) {
	n := len(toks)
	h.all = grow(h.all, 5*n) // one allocation for the five
	clear(h.all)
	all := h.all
	h.word, h.shape, h.pre3, h.suf3, h.suf2 = all[:n:n], all[n:2*n:2*n], all[2*n:3*n:3*n], all[3*n:4*n:4*n], all[4*n:]
	h.lineStart = grow(h.lineStart, n)
	for i, t := range toks {
		w := text[t.start:t.end]
		h.lineStart[i] = lineStart(toks, i)
		if isASCII(w) {
			h.word[i], h.shape[i] = asciiLowerShape(w)
			if t.kind == kindWord && len(w) > 3 {
				h.pre3[i] = addLower(fnvOffset, w[:3])
				h.suf3[i] = addLower(fnvOffset, w[len(w)-3:])
				h.suf2[i] = addLower(fnvOffset, w[len(w)-2:])
			}
			continue
		}
		h.word[i] = addLower(fnvOffset, w)
		h.shape[i] = addShape(fnvOffset, w)
		if t.kind == kindWord && utf8.RuneCountInString(w) > 3 {
			h.pre3[i] = addLower(fnvOffset, w[:runeOffset(w, 3)])
			h.suf3[i] = addLower(fnvOffset, w[lastRunesOffset(w, 3):])
			h.suf2[i] = addLower(fnvOffset, w[lastRunesOffset(w, 2):])
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiLowerShape is addLower and addShape of an ASCII s from fnvOffset, in one pass.
func asciiLowerShape(s string) (lower, shape uint64) {
	lower = fnvOffset
	sh := shaper{h: fnvOffset}
	for i := 0; i < len(s); i++ {
		c, l := s[i], s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c, l = 'X', c+'a'-'A'
		case 'a' <= c && c <= 'z':
			c = 'x'
		case isDigit(c):
			c = 'd'
		}
		lower = mix(lower, l)
		sh.add(c)
	}
	return lower, sh.h
}

// runeOffset is the byte offset of s's n-th rune (counting from 0).
func runeOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

// lastRunesOffset is the byte offset where s's last n runes start.
func lastRunesOffset(s string, n int) int {
	i := len(s)
	for ; n > 0 && i > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return i
}

// at returns hs[j], or edgeHash outside the text.
func at(hs []uint64, j int) uint64 {
	if j < 0 || j >= len(hs) {
		return edgeHash
	}
	return hs[j]
}

// combine mixes v into the feature hash h (a multiply-xorshift step).
func combine(h, v uint64) uint64 {
	h = (h ^ v) * 0x9e3779b97f4a7c15
	return h ^ h>>29
}

// features appends the hashed features of token i to out.
func features(out []uint64, h *tokenHashes, toks []token, i int) []uint64 {
	w, prev, next := h.word[i], at(h.word, i-1), at(h.word, i+1)
	shape := h.shape[i]
	out = append(out,
		combine(uint64(fBias), 0),
		combine(uint64(fWord), w),
		combine(uint64(fPrev), prev),
		combine(uint64(fNext), next),
		combine(uint64(fPrev2), at(h.word, i-2)),
		combine(uint64(fNext2), at(h.word, i+2)),
		combine(uint64(fShape), shape),
		combine(combine(uint64(fShapePrev), at(h.shape, i-1)), shape),
		combine(combine(uint64(fShapeNext), shape), at(h.shape, i+1)),
		combine(combine(uint64(fPairPrev), prev), w),
		combine(combine(uint64(fPairNext), w), next),
		combine(combine(uint64(fAround), prev), next),
		combine(combine(combine(uint64(fTrigram), prev), w), next),
		combine(uint64(fKindLen), uint64(toks[i].kind)<<8|uint64(lenBucket(toks, i))),
		combine(combine(combine(uint64(fShapeSides2), at(h.shape, i-2)), shape), at(h.shape, i+2)),
	)
	if h.lineStart[i] {
		out = append(out, combine(uint64(fLineStart), shape))
	}
	if h.pre3[i] != 0 {
		out = append(out, combine(uint64(fSuffix3), h.suf3[i]), combine(uint64(fPrefix3), h.pre3[i]),
			combine(uint64(fSuffix2), h.suf2[i]))
	}
	return out
}
