package pii

import "strings"

// More validators: the legacy 15-digit ID number, card numbers of 12–19 digits, US
// Social Security numbers and IBANs. Like those in validate.go they take ASCII strings.

// idProvinces are the first two digits of resident ID numbers issued in the mainland.
var idProvinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true, "21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
}

// validIDCard15 checks a 15-digit first-generation ID number: a mainland province code
// and a birth date YYMMDD in the 1900s (the legacy numbers were issued until 2004 to
// people born in that century); there is no check digit.
func validIDCard15(s string) bool {
	if len(s) != 15 || !allDigits(s) || !idProvinces[s[:2]] {
		return false
	}
	return validBirthDate("19" + s[6:12])
}

// validCard checks a payment card number of 12–19 digits: 16–19 digits by the bank-card
// rule, shorter ones only with the Luhn check and an issuer prefix of that length
// (Visa 13, Diners 14, Amex and legacy JCB 15, Maestro 12: IINs 50 and 56–69).
func validCard(s string) bool {
	if len(s) >= 16 {
		return validBankCard(s)
	}
	if len(s) < 12 || !validLuhn(s) {
		return false
	}
	switch len(s) {
	case 15:
		return hasAnyPrefix(s, "34", "37", "2131", "1800")
	case 14:
		return hasAnyPrefix(s, "300", "301", "302", "303", "304", "305", "36", "38", "39")
	case 13:
		return s[0] == '4'
	}
	// Maestro: IINs 50 and 56–69, 12 to 19 digits
	return s[:2] == "50" || s[0] == '6' || s[0] == '5' && s[1] >= '6' && s[1] <= '8'
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// validSSN checks the parts of a US Social Security number: an area that is not 000,
// 666 or 900–999, a group that is not 00 and a serial that is not 0000.
func validSSN(area, group, serial string) bool {
	if len(area) != 3 || len(group) != 2 || len(serial) != 4 || !allDigits(area+group+serial) {
		return false
	}
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

// validIBAN checks an upper-case IBAN without blanks: two letters, two check digits,
// 11–30 letters and digits, and the ISO 7064 MOD 97-10 remainder 1.
func validIBAN(s string) bool {
	if len(s) < 15 || len(s) > 34 || !isUpper(s[0]) || !isUpper(s[1]) || !isDigitByte(s[2]) || !isDigitByte(s[3]) {
		return false
	}
	rem := 0
	for k := range len(s) {
		c := s[(k+4)%len(s)]
		switch {
		case isDigitByte(c):
			rem = (rem*10 + int(c-'0')) % 97
		case isUpper(c):
			rem = (rem*100 + int(c-'A') + 10) % 97
		default:
			return false
		}
	}
	return rem == 1
}

func isUpper(c byte) bool     { return c >= 'A' && c <= 'Z' }
func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// nanpPhone checks a North American number written as three groups 3-3-4 ("905-674-3793",
// "(415) 555-2671"): area code and exchange start with 2–9.
func nanpPhone(groups []numGroup) bool {
	if len(groups) != 3 || len(groups[0].digits) != 3 || len(groups[1].digits) != 3 || len(groups[2].digits) != 4 {
		return false
	}
	return groups[0].digits[0] >= '2' && groups[1].digits[0] >= '2' && allDigits(groups[2].digits)
}

// compactLandline checks a Chinese landline written without a separator after the area
// code ("01062345678", "075588889999").
func compactLandline(d string) bool {
	if len(d) < 10 || len(d) > 12 || d[0] != '0' {
		return false
	}
	return cnLandline(d[:3], d[3:]) || cnLandline(d[:4], d[4:])
}
