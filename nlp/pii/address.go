package pii

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Addresses are found by shape and by cue. English: a house number, up to four words
// and a street suffix ("123 Main Street, Apt 4"), or whatever follows "my address is",
// "lives at" and similar up to the end of the sentence when it holds a digit. Chinese:
// administrative units (省, 市, 区, 县, 镇, 村, 街道) followed by a road and a number
// ("中关村大街27号"), by building and room numbers ("3号楼2单元501室") or by a hyphenated
// building-unit-room number ("东方公寓7-9-1161"), and a chain of units down to a town
// ("浙江省湖州市德清县武康镇").

// enStreetTypes are the street types of an English address.
const enStreetTypes = `(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|` +
	`Terrace|Circle|Cir|Highway|Hwy|Parkway|Pkwy|Square|Sq|Trail|Alley|Crescent|Close|Plaza|Loop)`

var enStreetRe = regexp.MustCompile(`\b\d{1,6}[A-Za-z]?,? +(?:[A-Z][A-Za-z'.-]* +){0,4}` +
	enStreetTypes + `\b\.?` +
	`(?:,? +(?:Apt|Apartment|Suite|Ste|Unit|Room|Floor|#)\.? *#?[0-9A-Za-z]+)?`)

// enAddressCues introduce an address that runs to the end of the sentence.
var enAddressCues = []string{
	"my address is ", "address is ", "address: ", "address:\n", "lives at ", "live at ", "living at ",
	"located at ", "office is at ", "reside at ", "residing at ", "ship it to ", "ship to ",
	"deliver to ", "deliver it to ", "send it to ", "mail it to ", "moved to ", "based at ",
}

// zhAdminUnit, zhRoad and zhTail are the parts of a Chinese address.
const (
	zhNum       = `[0-9０-９一二三四五六七八九十百零〇]{1,6}`
	zhAdminUnit = `\p{Han}{1,8}?(?:省|自治区|市|区|县|旗|镇|乡|村|街道)`
	zhRoad      = `[\p{Han}0-9０-９]{1,12}?(?:路|街|大道|巷|弄|胡同|道)`
	zhTail      = `(?:` + zhNum + `|[A-Za-zＡ-Ｚ])(?:号楼|号院|栋|幢|座|单元|层|楼|室|号|户)`
)

// zhDashNo is a building-unit-room number written with hyphens ("7-9-1161").
const zhDashNo = `[0-9]{1,4}(?:-[0-9]{1,4}){1,3}(?:室|号)?`

// zhTownChain is a county-level unit or above followed by a town-level one
// ("浙江省湖州市德清县武康镇"), which locates a person even without a house number.
const zhTownChain = `(?:\p{Han}{1,7}?(?:省|自治区|市|区|县|旗)){1,4}\p{Han}{1,6}?(?:镇|乡|街道)(?:\p{Han}{1,6}?村)?`

var zhAddressRe = regexp.MustCompile(`(?:` + zhAdminUnit + `){1,5}(?:` + zhRoad + zhNum + `号(?:` + zhTail + `){0,4}|` +
	`\p{Han}{0,10}?(?:` + zhTail + `){1,4}|\p{Han}{0,12}?` + zhDashNo + `)|` + zhRoad + zhNum + `号(?:` + zhTail + `){0,4}|` +
	zhTownChain)

// zhAddressLeads end the words before an address ("我住在", "地址是", "寄到"); a match is
// cut after the last one in its first part.
var zhAddressLeads = []string{"住在", "地址是", "地址：", "地址:", "地址", "寄到", "送到", "发到", "位于", "来自", "在", "到", "是", "：", ":"}

// detectAddresses finds English and Chinese addresses.
func detectAddresses(text string, sc *scan) []candidate {
	var out []candidate
	if strings.ContainsAny(text, "0123456789") {
		streets := map[int]bool{}
		for _, m := range streetMatches(text) {
			out = append(out, candidate{typ: TypeAddress, start: m[0], end: m[1], value: text[m[0]:m[1]]})
			streets[m[0]] = true
		}
		for _, c := range cueAddresses(text, sc) {
			if !streets[c.start] { // the street shape ends more precisely
				out = append(out, c)
			}
		}
	}
	if hasZhAddressMark(text) {
		for _, m := range zhAddressRe.FindAllStringIndex(text, -1) {
			if start := trimZhLead(text, m[0], m[1]); m[1]-start >= 9 {
				out = append(out, candidate{typ: TypeAddress, start: start, end: m[1], value: text[start:m[1]]})
			}
		}
	}
	return out
}

// zhAddressUnits are the administrative units and roads of zhAddressRe's forms.
var zhAddressUnits = newRuneSet("省区县旗镇乡村市路街道巷弄同")

// zhAddressMarks are what every form of zhAddressRe has after its first unit or road: a
// house, building or room number, a hyphenated number or a town.
var zhAddressMarks = []string{"号", "室", "栋", "幢", "楼", "单元", "层", "户", "座", "-", "镇", "乡", "街道"}

// hasZhAddressMark reports what every Chinese address match holds: a unit or a road and,
// after it, one of zhAddressMarks. "订单号…，有谁知道" has both, in the other order.
func hasZhAddressMark(text string) bool {
	p := zhAddressUnits.index(text)
	if p < 0 {
		return false
	}
	_, size := utf8.DecodeRuneInString(text[p:])
	rest := text[p+size:]
	for _, m := range zhAddressMarks {
		if strings.Contains(rest, m) {
			return true
		}
	}
	return false
}

// enStreetTypeWords are enStreetTypes' words, for the cheap test before the expression.
var enStreetTypeWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Split(strings.Trim(enStreetTypes, "(?:)"), "|") {
		m[w] = true
	}
	return m
}()

// streetMatches runs enStreetRe over text only when text holds a street type as a word:
// the expression costs microseconds a text, the scan for the word a fraction of that.
func streetMatches(text string) [][]int {
	for i := 0; i < len(text); {
		if !isUpper(text[i]) || i > 0 && isASCIIAlnum(text[i-1]) {
			i++
			continue
		}
		j := i + 1
		for j < len(text) && isASCIILetter(rune(text[j])) {
			j++
		}
		if enStreetTypeWords[text[i:j]] {
			return enStreetRe.FindAllStringIndex(text, -1)
		}
		i = j
	}
	return nil
}

// trimZhLead moves the start of a Chinese address match past lead words in its first
// three characters' worth of context: the regular expression starts a match as early
// as it can, so "我住在北京市…" matches from "我".
func trimZhLead(text string, start, end int) int {
	firstUnit := end
	for _, u := range []string{"省", "自治区", "市", "区", "县", "旗", "镇", "乡", "村", "路", "街", "道"} {
		if k := strings.Index(text[start:end], u); k >= 0 && start+k < firstUnit {
			firstUnit = start + k
		}
	}
	best := start
	for _, l := range zhAddressLeads {
		if k := strings.LastIndex(text[start:firstUnit], l); k >= 0 && start+k+len(l) > best {
			best = start + k + len(l)
		}
	}
	return best
}

// cueAddresses takes the text after an English address cue up to the end of the
// sentence or a blank line, at most 160 bytes, when it contains a digit.
func cueAddresses(text string, sc *scan) []candidate {
	var out []candidate
	for _, m := range sc.cuesOf(text, cueEnAddress) {
		start := m.end
		for start < len(text) && (text[start] == ' ' || text[start] == '\n') {
			start++
		}
		end := sentenceEnd(text, start, 160)
		if end > start && strings.ContainsAny(text[start:end], "0123456789") {
			out = append(out, candidate{typ: TypeAddress, start: start, end: end, value: text[start:end]})
		}
	}
	return out
}

// sentenceEnd returns where the sentence starting at i ends: before a blank line, "?",
// "!", a Chinese full stop or comma, ", " and a lower-case word, or a "." after a word
// of four or more letters or a number.
func sentenceEnd(text string, i, limit int) int {
	end := min(len(text), i+limit)
	for j := i; j < end; j++ {
		switch c := text[j]; {
		case c == '?' || c == '!' || c == ';' || c == '"':
			return trimAddrEnd(text, i, j)
		case c == ',' && j+2 < len(text) && text[j+1] == ' ' && text[j+2] >= 'a' && text[j+2] <= 'z':
			return trimAddrEnd(text, i, j)
		case c == '\n' && j+1 < len(text) && text[j+1] == '\n':
			return trimAddrEnd(text, i, j)
		case c == '.' && (j+1 == len(text) || text[j+1] == ' ' || text[j+1] == '\n') && longWordBefore(text, j):
			return trimAddrEnd(text, i, j)
		case strings.HasPrefix(text[j:], "。") || strings.HasPrefix(text[j:], "，"):
			return trimAddrEnd(text, i, j)
		}
	}
	return trimAddrEnd(text, i, end)
}

// longWordBefore reports that the word ending at j is a number or has four or more
// letters, so a "." after it ends a sentence rather than an abbreviation ("Apt.").
func longWordBefore(text string, j int) bool {
	k := j
	for k > 0 && (unicode.IsLetter(rune(text[k-1])) || isDigitByte(text[k-1])) {
		k--
	}
	w := text[k:j]
	return allDigits(w) || len(w) >= 4
}

func trimAddrEnd(text string, start, end int) int {
	for end > start && strings.ContainsRune(" \n\t,.:", rune(text[end-1])) {
		end--
	}
	for end > start && end < len(text) && text[end]&0xC0 == 0x80 {
		end--
	}
	return end
}
