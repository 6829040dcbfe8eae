package pii

import "strings"

// Alphanumeric tokens — maximal runs of ASCII letters and digits between non-word
// characters — carry passport numbers and IBANs. An IBAN may be printed in groups of
// four ("GB82 WEST 1234 5698 7654 32"), so the groups after a token are read too.

// passportCues mark a passport number written in a foreign format.
var passportCues = []string{"passport", "护照", "護照"}

// detectTokens finds passport numbers, IBANs and driving licence numbers.
func detectTokens(text string, sc *scan) []candidate {
	var out []candidate
	for i := 0; i < len(text); {
		c := text[i]
		if !isASCIIAlnum(c) {
			i++
			continue
		}
		end, digits := i, false
		for end < len(text) && isASCIIAlnum(text[end]) {
			digits = digits || isDigitByte(text[end])
			end++
		}
		// every kind of number here holds digits in its first token (an IBAN its check
		// digits); most words have none
		if !digits || gluedBefore2(text, i) || gluedRuneAt(text, end) {
			i = end
			continue
		}
		if cand, ok := ibanAt(text, i, end, sc); ok {
			out = append(out, cand)
			i = cand.end
			continue
		}
		if cand, ok := passportAt(text, i, end, sc); ok {
			out = append(out, cand)
		} else if cand, ok := nationalIDAt(text, i, end, sc); ok {
			out = append(out, cand)
			i = cand.end
			continue
		} else if cand, ok := licenceAt(text, i, end, sc); ok {
			out = append(out, cand)
		}
		i = end
	}
	return out
}

func isASCIIAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// gluedBefore2 reports a full-width or other word rune right before byte i.
func gluedBefore2(text string, i int) bool {
	r, size := runeBefore(text, i)
	return size > 0 && isWordRune(r)
}

// ibanAt reads an IBAN starting at the token text[start:end], possibly continued by
// blank-separated groups of up to four characters, and keeps the longest valid prefix
// ending at a group boundary.
func ibanAt(text string, start, end int, sc *scan) (candidate, bool) {
	if end-start < 4 || !isASCIILetter(rune(text[start])) || !isASCIILetter(rune(text[start+1])) ||
		!isDigitByte(text[start+2]) || !isDigitByte(text[start+3]) {
		return candidate{}, false
	}
	var endsMem [12]int
	ends := append(endsMem[:0], end)
	chars := end - start // an IBAN has at most 34
	for j := end; chars < 34 && j+1 < len(text) && text[j] == ' ' && isASCIIAlnum(text[j+1]); {
		k := j + 1
		for k < len(text) && isASCIIAlnum(text[k]) {
			k++
		}
		if k-(j+1) > 4 || gluedRuneAt(text, k) {
			break
		}
		chars += k - (j + 1)
		ends = append(ends, k)
		j = k
	}
	for n := len(ends) - 1; n >= 0; n-- {
		e := ends[n]
		value := strings.ReplaceAll(strings.ToUpper(text[start:e]), " ", "")
		if validIBAN(value) && !sc.rejectedByContext(text, start, e) {
			return candidate{typ: TypeIBAN, start: start, end: e, value: value}, true
		}
	}
	return candidate{}, false
}

// passportAt accepts a Chinese passport number (E or G and eight digits, or E, a letter
// and seven digits) anywhere, and other passport-like tokens (6–9 letters and digits, at
// least five of them digits) only after a passport cue.
func passportAt(text string, start, end int, sc *scan) (candidate, bool) {
	tok := text[start:end]
	if len(tok) < 6 || len(tok) > 9 {
		return candidate{}, false
	}
	if (cnPassport(tok) || (foreignPassport(tok) && sc.hasCueBefore(text, start, 40, cuePassport))) && !sc.rejectedByContext(text, start, end) {
		return candidate{typ: TypePassport, start: start, end: end, value: strings.ToUpper(tok)}, true
	}
	return candidate{}, false
}

// cnPassport matches E12345678, G12345678 and EA1234567 (upper case only).
func cnPassport(tok string) bool {
	if len(tok) != 9 || (tok[0] != 'E' && tok[0] != 'G') {
		return false
	}
	if allDigits(tok[1:]) {
		return true
	}
	return tok[0] == 'E' && isUpper(tok[1]) && tok[1] != 'I' && tok[1] != 'O' && allDigits(tok[2:])
}

// foreignPassport matches a token of 6–9 letters and digits with at least five digits.
func foreignPassport(tok string) bool {
	digits := 0
	for i := range len(tok) {
		if isDigitByte(tok[i]) {
			digits++
		}
	}
	return digits >= 5
}
