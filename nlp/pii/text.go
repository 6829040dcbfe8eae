package pii

import (
	"net/netip"
	"strings"
)

// E-mail and IP detectors scan outward from their anchor characters ('@', '.', ':')
// instead of running regular expressions over the whole text, which keeps redaction
// linear and fast on long messages.

// isLocalByte reports the ASCII characters taken into the local part of an address:
// RFC 5322's atom characters except '/', '?', '=', '&' and '#', which in practice end a
// URL's path or parameter before an address ("…/reset?user=anna@example.com").
func isLocalByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte(".!$%'*+^_{|}~-", c) >= 0
}

func isDomainByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
}

// detectEmails finds e-mail addresses. Local part and domain are ASCII, so an address
// written between Chinese characters ("邮箱zhang.san@example.com谢谢") is delimited by them.
func detectEmails(text string) []candidate {
	var out []candidate
	for from := 0; ; {
		at := strings.IndexByte(text[from:], '@')
		if at < 0 {
			return out
		}
		at += from
		from = at + 1
		start := at
		for start > 0 && at-start < 64 && isLocalByte(text[start-1]) {
			start--
		}
		for start < at && text[start] == '.' {
			start++
		}
		end := at + 1
		for end < len(text) && end-at <= 253 && isDomainByte(text[end]) {
			end++
		}
		end = at + 1 + validDomainLen(text[at+1:end])
		if start == at || end == at+1 || gluedRuneAt(text, end) {
			continue
		}
		local := text[start:at]
		if strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
			continue
		}
		out = append(out, candidate{typ: TypeEmail, start: start, end: end, value: strings.ToLower(text[start:end])})
		from = end
	}
}

// validDomainLen returns the length of the longest prefix of s that is a domain name
// with at least two labels and an alphabetic top-level label of 2–24 letters, or 0. A
// trailing sentence dot is not part of the domain.
func validDomainLen(s string) int {
	best, labels, labelStart := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			continue
		}
		label := s[labelStart:i]
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return best
		}
		labels++
		if labels >= 2 && isAlphaTLD(label) {
			best = i
		}
		labelStart = i + 1
	}
	return best
}

func isAlphaTLD(label string) bool {
	if len(label) < 2 || len(label) > 24 {
		return false
	}
	for i := range len(label) {
		if c := label[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// isIPByte reports characters that may form an IP address: hex digits, '.' and ':'.
func isIPByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':'
}

// detectIPs finds IPv4 and IPv6 addresses: maximal runs of hex digits, dots and colons
// around each dot or colon, trimmed of sentence punctuation and then parsed.
func detectIPs(text string) []candidate {
	var out []candidate
	for i := 0; i < len(text); i++ {
		if text[i] != '.' && text[i] != ':' {
			continue
		}
		start, end := i, i
		for start > 0 && isIPByte(text[start-1]) {
			start--
		}
		for end < len(text) && isIPByte(text[end]) {
			end++
		}
		out = append(out, ipCandidates(text, start, end)...)
		i = end
	}
	return out
}

// ipCandidates examines one run text[start:end] of IP characters.
func ipCandidates(text string, start, end int) []candidate {
	token := text[start:end]
	if strings.Count(token, ":") >= 2 {
		s, e := start, end
		if strings.HasPrefix(token, ":") && !strings.HasPrefix(token, "::") {
			s++ // a label colon: "addr:fe80::1"
		}
		for e > s && text[e-1] == '.' {
			e-- // sentence punctuation
		}
		if c, ok := ipCandidate(text, s, e, true); ok {
			return []candidate{c}
		}
	}
	// IPv4, possibly followed by ":port": take the dotted part before any colon.
	var out []candidate
	for s := start; s < end; {
		e := s
		for e < end && text[e] != ':' {
			e++
		}
		for e > s && text[e-1] == '.' {
			e--
		}
		if c, ok := ipCandidate(text, s, e, false); ok {
			out = append(out, c)
		}
		s = max(e, s) + 1
		for s < end && text[s-1] != ':' {
			s++
		}
	}
	return out
}

// ipCandidate validates text[start:end] as an address of the wanted family, not glued
// to surrounding words or digits ("v1.2.3.4" is a version, not an IP).
func ipCandidate(text string, start, end int, v6 bool) (candidate, bool) {
	if start >= end {
		return candidate{}, false
	}
	before, _ := runeBefore(text, start)
	after, _ := runeAt(text, end)
	if isWordRune(before) || isWordRune(after) {
		return candidate{}, false
	}
	addr, err := netip.ParseAddr(text[start:end])
	if err != nil || addr.Is6() != v6 {
		return candidate{}, false
	}
	return candidate{typ: TypeIP, start: start, end: end, value: addr.String()}, true
}
