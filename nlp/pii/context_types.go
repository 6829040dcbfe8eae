package pii

import (
	"regexp"
	"strings"
)

// Three more types a support conversation meets, each found only where something says
// what it is:
//
//   - URL: a web address that carries a personal token — a query or fragment parameter
//     such as token=, session=, key=, email=, user=, or a long random path segment (a
//     magic link). A product page's address stays readable.
//   - DOB: a date of birth, a date after "date of birth", "born", "DOB", "出生日期" ….
//     Other dates (of delivery, of an order) are not personal data.
//   - DRIVER_LICENSE: a driving licence number after "driver's license", "DL#",
//     "驾驶证号" …: 5 to 20 letters and digits with at least four digits.

const (
	TypeURL           = "URL"
	TypeDOB           = "DOB"
	TypeDriverLicense = "DRIVER_LICENSE"
)

// urlPersonalParams are query and fragment parameters whose value identifies a person
// or a session (compared in lower case).
var urlPersonalParams = map[string]bool{
	"token": true, "access_token": true, "id_token": true, "refresh_token": true, "auth": true, "key": true,
	"apikey": true, "api_key": true, "session": true, "sessionid": true, "session_id": true, "sid": true,
	"code": true, "reset": true, "reset_token": true, "password": true, "pwd": true, "pass": true, "otp": true,
	"email": true, "mail": true, "user": true, "username": true, "uid": true, "userid": true, "user_id": true,
	"phone": true, "tel": true, "mobile": true, "name": true, "signature": true, "sig": true, "ticket": true,
	"invite": true, "magic": true, "login": true,
}

// detectURLs finds web addresses that carry a personal token.
func detectURLs(text string, sc *scan) []candidate {
	var out []candidate
	low := sc.lowered(text)
	for from := 0; from < len(text); {
		i := nextURL(low, from)
		if i < 0 {
			break
		}
		end := i
		for end < len(text) && isURLByte(text[end]) {
			end++
		}
		for end > i && strings.IndexByte(".,;:!?)]}'\"", text[end-1]) >= 0 {
			end--
		}
		if u := text[i:end]; personalURL(u) {
			out = append(out, candidate{typ: TypeURL, start: i, end: end, value: u})
		}
		from = max(end, i+1)
	}
	return out
}

// nextURL returns where the next "http://", "https://" or "www." starts in low at or
// after from, or -1.
func nextURL(low string, from int) int {
	best := -1
	for _, p := range []string{"http://", "https://", "www."} {
		if j := strings.Index(low[from:], p); j >= 0 && (best < 0 || from+j < best) {
			best = from + j
		}
	}
	return best
}

// isURLByte reports the ASCII characters of a URL (RFC 3986's unreserved and reserved
// ones and '%').
func isURLByte(c byte) bool {
	return isASCIIAlnum(c) || strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%", c) >= 0
}

// personalURL reports a URL with a personal parameter or a long random path segment.
func personalURL(u string) bool {
	path, query, _ := strings.Cut(u, "?")
	path, frag, _ := strings.Cut(path, "#")
	if q, f, ok := strings.Cut(query, "#"); ok {
		query, frag = q, f
	}
	for _, part := range []string{query, frag} {
		for _, kv := range strings.FieldsFunc(part, func(r rune) bool { return r == '&' || r == ';' }) {
			k, v, ok := strings.Cut(kv, "=")
			if ok && len(v) >= 4 && urlPersonalParams[strings.ToLower(k)] {
				return true
			}
		}
	}
	if strings.Contains(u, "@") {
		return true // an e-mail address or user credentials inside
	}
	for _, seg := range strings.Split(path, "/") {
		if randomToken(seg) {
			return true
		}
	}
	return false
}

// randomToken reports a path segment of 20 or more letters and digits mixing both, as
// generated tokens are ("9f8a7b6c5d4e3f2a1b0c"), not words or product numbers.
func randomToken(seg string) bool {
	if len(seg) < 20 {
		return false
	}
	letters, digits := 0, 0
	for i := range len(seg) {
		switch c := seg[i]; {
		case isDigitByte(c):
			digits++
		case isASCIILetter(rune(c)):
			letters++
		case c == '-' || c == '_':
		default:
			return false
		}
	}
	return letters >= 4 && digits >= 4
}

// dobCues announce a date of birth (compared in lower case).
// "Birthday" is not one: a birthday party has a date too.
var dobCues = []string{"date of birth", "birth date", "birthdate", "born on", "born", "dob", "d.o.b",
	"出生日期", "出生年月", "出生于", "出生"}

// dateRe matches the ways a date is written: 12/03/1985, 1985-03-12, 12.03.85, March 12,
// 1985, 12 March 1985, 1985年3月12日.
var dateRe = regexp.MustCompile(`(?i)\b\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})\b|\b\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}\b|` +
	`\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}\b|` +
	`\b\d{1,2}(?:st|nd|rd|th)? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,? \d{4}\b|` +
	`\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?`)

// detectDOB finds dates right after a date-of-birth cue.
func detectDOB(text string, sc *scan) []candidate {
	low := sc.lowered(text)
	if !strings.Contains(low, "birth") && !strings.Contains(low, "born") && !strings.Contains(low, "dob") &&
		!strings.Contains(low, "d.o.b") && !strings.Contains(low, "出生") {
		return nil
	}
	var out []candidate
	for _, m := range dateRe.FindAllStringIndex(text, -1) {
		if sc.cueIn(text, m[0], cueDOB) >= 0 {
			out = append(out, candidate{typ: TypeDOB, start: m[0], end: m[1], value: text[m[0]:m[1]]})
		}
	}
	return out
}

// licenceCues announce a driving licence number.
var licenceCues = []string{"driver's license", "drivers license", "driver license", "driver's licence", "drivers licence",
	"driving licence", "driving license", "license number", "licence number", "license no", "licence no", "dl#", "dl no",
	"dl number", "驾驶证号", "驾驶证", "驾照号", "驾照"}

// licenceAt reads the token text[start:end] as a driving licence number after a cue: 5
// to 20 letters and digits, at least four of them digits.
func licenceAt(text string, start, end int, sc *scan) (candidate, bool) {
	tok := text[start:end]
	if len(tok) < 5 || len(tok) > 20 {
		return candidate{}, false
	}
	digits := 0
	for i := range len(tok) {
		if isDigitByte(tok[i]) {
			digits++
		}
	}
	if digits < 4 || sc.cueIn(text, start, cueLicence) < 0 || sc.rejectedByContext(text, start, end) {
		return candidate{}, false
	}
	return candidate{typ: TypeDriverLicense, start: start, end: end, value: strings.ToUpper(tok)}, true
}
