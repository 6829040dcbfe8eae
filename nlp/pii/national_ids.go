package pii

import "strings"

// Identity numbers of the regions Switchboard's customers write from, besides the
// mainland's 身份证号 (validate.go). Each has a check character, but a random product or
// order code of the same shape passes one check in ten or eleven, so each is taken only
// after an identity cue ("身份證", "ID card", "NRIC", "national insurance" …) — except a
// Hong Kong number written the way only those are, with its check digit in parentheses.
//
//   - Hong Kong identity card (香港身份證): one or two letters, six digits and a check
//     digit or "A", often written "A123456(7)"; mod 11.
//   - Taiwan national ID (身分證字號): a letter, 1 or 2, eight digits; the letter's
//     two-digit code and the digits weighted 1, 9, 8 … 1, 1 sum to a multiple of 10.
//   - Singapore NRIC and FIN: S, T, F or G, seven digits and a check letter.
//   - UK National Insurance number: two letters (not D, F, I, Q, U, V; the second not O;
//     not BG, GB, NK, KN, TN, NT or ZZ), six digits and A–D.

const TypeNationalID = "NATIONAL_ID"

// idCues announce an identity number.
var idCues = []string{"身份證", "身分證", "身份证", "證件", "证件", "identity", "id card", "id no", "id number", "id#",
	"hkid", "nric", "fin", "ic no", "ic number", "national insurance", "insurance number", "insurance no", "ni number", "ni no", "nino", "national id"}

// nationalIDAt reads the token text[start:end] as one of the identity numbers above; a
// Hong Kong number's check digit may follow in parentheses.
func nationalIDAt(text string, start, end int, sc *scan) (candidate, bool) {
	// each of them starts with a letter and has a digit third
	if end-start < 7 || end-start > 10 || !isASCIILetter(rune(text[start])) || !isDigitByte(text[start+2]) {
		return candidate{}, false
	}
	tok := strings.ToUpper(text[start:end])
	if len(tok) == 7 || len(tok) == 8 {
		// a Hong Kong number without its check digit, then "(7)"
		if e := end + 3; e <= len(text) && text[end] == '(' && text[end+2] == ')' {
			if validHKID(tok + strings.ToUpper(text[end+1:end+2])) {
				return candidate{typ: TypeNationalID, start: start, end: e, value: tok + strings.ToUpper(text[end+1:end+2])}, true
			}
		}
	}
	if sc.cueIn(text, start, cueID) < 0 {
		return candidate{}, false
	}
	switch {
	case len(tok) == 8:
		if validHKID(tok) {
			return candidate{typ: TypeNationalID, start: start, end: end, value: tok}, true
		}
	case len(tok) == 9 && (validHKID(tok) || validNRIC(tok) || validNINO(tok)):
		return candidate{typ: TypeNationalID, start: start, end: end, value: tok}, true
	case len(tok) == 10 && validTaiwanID(tok):
		return candidate{typ: TypeNationalID, start: start, end: end, value: tok}, true
	}
	return candidate{}, false
}

// hkValue is a character's value in the Hong Kong check: digits their own, letters
// A=10 … Z=35, and the blank before a one-letter prefix 36.
func hkValue(c byte) int {
	switch {
	case isDigitByte(c):
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 36
}

// validHKID checks an 8- or 9-character Hong Kong number (upper case): one or two
// letters, six digits and a check digit or A.
func validHKID(s string) bool {
	if len(s) == 8 {
		s = " " + s
	}
	if len(s) != 9 || !isUpper(s[1]) || (s[0] != ' ' && !isUpper(s[0])) || !allDigits(s[2:8]) {
		return false
	}
	sum := 0
	for i := range 8 {
		sum += hkValue(s[i]) * (9 - i)
	}
	check := (11 - sum%11) % 11
	switch c := s[8]; {
	case check == 10:
		return c == 'A'
	default:
		return isDigitByte(c) && int(c-'0') == check
	}
}

// twLetters are the two-digit codes of Taiwan's ID prefixes A–Z.
var twLetters = [26]int{10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21, 22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30, 31, 33}

// validTaiwanID checks a 10-character Taiwan national ID (upper case).
func validTaiwanID(s string) bool {
	if len(s) != 10 || !isUpper(s[0]) || (s[1] != '1' && s[1] != '2') || !allDigits(s[1:]) {
		return false
	}
	code := twLetters[s[0]-'A']
	sum := code/10 + code%10*9
	for i, w := range []int{8, 7, 6, 5, 4, 3, 2, 1, 1} {
		sum += int(s[1+i]-'0') * w
	}
	return sum%10 == 0
}

// validNRIC checks a Singapore NRIC or FIN (upper case): S/T/F/G, seven digits, a
// check letter.
func validNRIC(s string) bool {
	if len(s) != 9 || !strings.ContainsRune("STFG", rune(s[0])) || !allDigits(s[1:8]) {
		return false
	}
	sum := 0
	for i, w := range []int{2, 7, 6, 5, 4, 3, 2} {
		sum += int(s[1+i]-'0') * w
	}
	if s[0] == 'T' || s[0] == 'G' {
		sum += 4
	}
	table := "JZIHGFEDCBA"
	if s[0] == 'F' || s[0] == 'G' {
		table = "XWUTRQPNMLK"
	}
	return s[8] == table[sum%11]
}

// validNINO checks a UK National Insurance number written without blanks (upper case).
func validNINO(s string) bool {
	if len(s) != 9 || !allDigits(s[2:8]) || s[8] < 'A' || s[8] > 'D' {
		return false
	}
	a, b := s[0], s[1]
	if !isUpper(a) || !isUpper(b) || strings.IndexByte("DFIQUV", a) >= 0 || strings.IndexByte("DFIQUVO", b) >= 0 {
		return false
	}
	switch s[:2] {
	case "BG", "GB", "NK", "KN", "TN", "NT", "ZZ":
		return false
	}
	return true
}
