package pii

import (
	"strconv"
	"time"
)

// Validators take ASCII digit strings (an ID number may end in 'X') and report whether
// they are plausible values of their kind. They cut false positives: a random number has
// a 1 in 10 chance to pass Luhn and 1 in 11 to pass the ID check digit, and the structure
// checks remove most of the rest.

// idWeights are the ISO 7064 MOD 11-2 weights of the first 17 digits of an ID number.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// validIDCard checks an 18-character Chinese resident identity number: a region code
// not starting with 0, a real birth date from 1900 on, and the check digit.
func validIDCard(s string) bool {
	if len(s) != 18 || s[0] == '0' {
		return false
	}
	sum := 0
	for i := range 17 {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		sum += int(s[i]-'0') * idWeights[i]
	}
	if !validBirthDate(s[6:14]) {
		return false
	}
	return s[17] == "10X98765432"[sum%11]
}

// validBirthDate checks YYYYMMDD for a calendar date between 1900 and 2099.
func validBirthDate(s string) bool {
	y, _ := strconv.Atoi(s[0:4])
	m, _ := strconv.Atoi(s[4:6])
	d, _ := strconv.Atoi(s[6:8])
	if y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 {
		return false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return t.Month() == time.Month(m) && t.Day() == d
}

// validLuhn checks the Luhn (mod 10) check digit of a digit string.
func validLuhn(s string) bool {
	sum := 0
	for i := range len(s) {
		c := s[len(s)-1-i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// validBankCard checks a 16–19 digit card number: Luhn, and an issuer prefix that card
// networks use (3 JCB/Amex/Diners, 4 Visa, 5 and 2221–2720 Mastercard, 2200–2204 Mir, 6 UnionPay and
// Discover, 8 and 9 domestic cards). The prefix rule rejects order and serial numbers
// that start with a year or a zero.
func validBankCard(s string) bool {
	if len(s) < 16 || len(s) > 19 || !validLuhn(s) {
		return false
	}
	switch s[0] {
	case '3', '4', '5', '6', '8', '9':
		return true
	case '2':
		p, _ := strconv.Atoi(s[:4])
		return p >= 2221 && p <= 2720 || p >= 2200 && p <= 2204 // Mastercard's 2-series, Mir
	}
	return false
}

// cnMobile returns the 11-digit national number of a Chinese mobile number written with
// an optional +86, 0086 or 86 prefix: 1, then 3–9, then nine digits.
func cnMobile(digits string, plus bool) (string, bool) {
	switch {
	case plus && len(digits) == 13 && digits[:2] == "86":
		digits = digits[2:]
	case plus:
		return "", false
	case len(digits) == 15 && digits[:4] == "0086":
		digits = digits[4:]
	case len(digits) == 13 && digits[:2] == "86":
		digits = digits[2:]
	}
	if len(digits) != 11 || digits[0] != '1' || digits[1] < '3' || digits[1] > '9' {
		return "", false
	}
	for i := range len(digits) {
		if digits[i] < '0' || digits[i] > '9' {
			return "", false
		}
	}
	return digits, true
}

// validInternational checks the digits after a "+": a country code not starting with 0
// and 8 to 15 digits in all (E.164 allows at most 15).
func validInternational(digits string) bool {
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return false
	}
	for i := range len(digits) {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// cnLandline checks a Chinese landline written with its area code as a separate group:
// 010 or 02x (three digits) or 0[3-9]xx (four digits), then a 7–8 digit subscriber
// number not starting with 0 or 1.
func cnLandline(area, subscriber string) bool {
	switch {
	case len(area) == 3 && area[0] == '0' && (area[1] == '1' && area[2] == '0' || area[1] == '2'):
	case len(area) == 4 && area[0] == '0' && area[1] >= '3' && area[1] <= '9':
	default:
		return false
	}
	if len(subscriber) < 7 || len(subscriber) > 8 || subscriber[0] < '2' {
		return false
	}
	for i := range len(subscriber) {
		if subscriber[i] < '0' || subscriber[i] > '9' {
			return false
		}
	}
	for i := 1; i < len(area); i++ {
		if area[i] < '0' || area[i] > '9' {
			return false
		}
	}
	return true
}
