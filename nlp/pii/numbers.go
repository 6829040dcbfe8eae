package pii

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Numbers are found as runs: digit groups joined by short separators ("138-1234-5678",
// "6222 0202 0011 2233 445"), optionally led by '+' and ended by an ID check 'X'. Within
// a run every span of whole groups is tried, longest first, against the validators, so a
// phone number followed by an unrelated " 2" is still found. A span may begin or end
// inside a run only at a blank, never at a dash, so "2023-13812345678" is left alone.

// maxCandidateDigits bounds the digits of one candidate (19 for a bank card plus slack),
// which keeps the per-run search linear.
const maxCandidateDigits = 20

// numGroup is one group of digits in a run.
type numGroup struct {
	digits     string // ASCII digits, possibly ending in 'X'
	start, end int    // byte offsets in the text
	sep        string // the separator text before the group; "" for the first
}

// numRun is a maximal sequence of digit groups.
type numRun struct {
	plusAt int // byte offset of a leading '+', or -1
	groups []numGroup
	// leftGlued and rightGlued report that the run touches a word character or a decimal
	// point, so its first (last) group cannot start (end) a candidate.
	leftGlued, rightGlued bool
	// extEnd is the end of a phone extension after the last group ("x459", " ext. 12"),
	// or 0.
	extEnd int
	// dotted reports groups separated by dots ("930.167.3943"): only a phone number is
	// written so.
	dotted bool
	// labelled reports a business-number label, currency or unit around a run that begins
	// with a short group ("订单编号 2716 6985 7364"): the label is the whole run's, and no
	// part of it is personal data but an ID. (After a long first group, "订单号
	// 2020031053727257 6228 4807 4312 3348", the label is that group's alone.)
	labelled bool
}

// detectNumbers finds phone, ID card and bank card numbers; sc has the national phone
// notations to try and what was found before (a number inside an IBAN is not tried
// against every region's phone numbers).
func detectNumbers(text string, sc *scan) []candidate {
	var out []candidate
	for i := 0; i < len(text); {
		if c := text[i]; c < utf8.RuneSelf && c != '+' && !isDigitByte(c) {
			i++
			continue
		}
		r, size := runeAt(text, i)
		plusAt := -1
		if fold(r) == '+' {
			if next, _ := runeAt(text, i+size); !isDigit(next) {
				i += size
				continue
			}
			plusAt = i
			i += size
		} else if !isDigit(r) {
			i += size
			continue
		}
		run := readRun(text, i, sc.groups[:0])
		run.plusAt = plusAt
		first := i
		if plusAt >= 0 {
			first = plusAt
		}
		run.leftGlued = gluedBefore(text, first, run.groups[0])
		run.rightGlued = run.extEnd == 0 && gluedAfter(text, run.groups[len(run.groups)-1].end)
		run.labelled = len(run.groups) > 1 && len(run.groups[0].digits) <= 5 && sc.rejectedByContext(text, first, run.groups[len(run.groups)-1].end)
		out = append(out, runCandidates(text, run, sc)...)
		i = max(run.groups[len(run.groups)-1].end, run.extEnd)
		sc.groups = run.groups // its memory, for the next run
	}
	return out
}

// readRun reads digit groups starting at byte i, which holds a digit, appending them to
// groups.
func readRun(text string, i int, groups []numGroup) numRun {
	run := numRun{groups: groups}
	sep := ""
	for {
		g := numGroup{start: i, sep: sep}
		g.digits, i = readDigits(text, i)
		if r, size := runeAt(text, i); (fold(r) == 'X' || fold(r) == 'x') && !gluedRuneAt(text, i+size) {
			g.digits, g.end = g.digits+"X", i+size
			run.groups = append(run.groups, g)
			return run // a check 'X' ends the number
		}
		g.end = i
		run.groups = append(run.groups, g)
		if e := extensionEnd(text, i); e > 0 {
			run.extEnd = e
			return run
		}
		next, ok := separatorEnd(text, i)
		if !ok {
			if len(g.digits) < 2 || len(g.digits) > 4 {
				return run
			}
			if next, ok = dotEnd(text, i); !ok {
				return run
			}
			run.dotted = true
		}
		sep, i = text[i:next], next
	}
}

// maxRunDigits bounds the digits of a run whose parts libphonenumber is asked about: a
// longer run in groups ("USPS 9558 5002 2012 4649 1126 45") is a tracking or account
// number, not phone numbers side by side.
const maxRunDigits = 16

// blockCode reports a run of more than 19 digits written in blocks of four ("9558 5002
// 2012 4649 1126 45"): a tracking or account number, longer than any card, whose parts
// are not cards or phone numbers.
func (r numRun) blockCode() bool {
	if r.digits() <= 19 || len(r.groups) < 5 || len(r.groups[len(r.groups)-1].digits) > 4 {
		return false
	}
	for _, g := range r.groups[:len(r.groups)-1] {
		if len(g.digits) != 4 {
			return false
		}
	}
	return true
}

// digits counts the run's digits.
func (r numRun) digits() int {
	n := 0
	for _, g := range r.groups {
		n += len(g.digits)
	}
	return n
}

// dotEnd accepts a single dot at i followed by two to four digits and returns the first
// digit's offset; the group before must be of two to four digits too (readRun), so that
// "0.05", "22602.66" and "440305196107065929.5" keep their numbers apart.
func dotEnd(text string, i int) (int, bool) {
	if i+1 >= len(text) || text[i] != '.' {
		return 0, false
	}
	n := 0
	for j := i + 1; j < len(text) && isDigitByte(text[j]); j++ {
		n++
	}
	if n < 2 || n > 4 {
		return 0, false
	}
	return i + 1, true
}

// extensionEnd returns the end of a phone extension at byte i ("x459", "X12", " ext. 7",
// "ext123": one to six digits not followed by a word rune), or 0.
func extensionEnd(text string, i int) int {
	j := i
	if j < len(text) && text[j] == ' ' {
		j++
	}
	rest := text[j:]
	switch {
	case len(rest) > 3 && strings.EqualFold(rest[:3], "ext"):
		j += 3
		if j < len(text) && text[j] == '.' {
			j++
		}
		if j < len(text) && text[j] == ' ' {
			j++
		}
	case len(rest) > 1 && (rest[0] == 'x' || rest[0] == 'X') && j == i:
		j++
	default:
		return 0
	}
	k := j
	for k < len(text) && k-j < 7 && isDigitByte(text[k]) {
		k++
	}
	if k == j || k-j > 6 || gluedRuneAt(text, k) {
		return 0
	}
	return k
}

// readDigits reads the digits at byte i as ASCII and returns them with the offset after
// them; ASCII input is returned without copying.
func readDigits(text string, i int) (string, int) {
	start, ascii := i, true
	for r, size := runeAt(text, i); isDigit(r); r, size = runeAt(text, i) {
		ascii = ascii && size == 1
		i += size
	}
	if ascii {
		return text[start:i], i
	}
	var b strings.Builder
	for _, r := range text[start:i] {
		b.WriteRune(fold(r))
	}
	return b.String(), i
}

// separatorEnd accepts one to three separator runes at i followed by a digit and returns
// the offset of that digit. Two blanks in a row are no separator: they set items apart
// ("Order #4906844522592644  6217-0033-8075-0414" is an order and a card).
func separatorEnd(text string, i int) (int, bool) {
	j := i
	blank := false
	for n := 0; n < 3; n++ {
		r, size := runeAt(text, j)
		if !isNumberSep(r) || blank && isSpace(r) {
			break
		}
		blank = isSpace(r)
		j += size
	}
	if r, _ := runeAt(text, j); j == i || !isDigit(r) {
		return 0, false
	}
	return j, true
}

func gluedRuneAt(text string, i int) bool {
	r, size := runeAt(text, i)
	return size > 0 && isWordRune(r)
}

// gluedBefore reports a word rune right before the run, or a decimal point or thousands
// comma that makes the run the tail of a larger number ("0.138…", "1,380").
func gluedBefore(text string, i int, first numGroup) bool {
	r, size := runeBefore(text, i)
	if size == 0 {
		return false
	}
	if isWordRune(r) {
		return true
	}
	prev, _ := runeBefore(text, i-size)
	switch {
	case fold(r) == '.':
		return isDigit(prev)
	case r == ',': // the Chinese comma "，" separates, it never groups thousands
		return isDigit(prev) && len(first.digits) == 3
	case r == '-': // a code's number ("INV-3120-01987", "SKU-884")
		return prev < utf8.RuneSelf && isASCIILetter(prev)
	}
	return false
}

// gluedAfter reports a word rune right after the run, or a decimal point or thousands
// comma continuing it ("13812345678.00", "1,380,000").
func gluedAfter(text string, i int) bool {
	r, size := runeAt(text, i)
	if size == 0 {
		return false
	}
	if isWordRune(r) {
		return true
	}
	switch {
	case fold(r) == '.':
		next, _ := runeAt(text, i+size)
		return isDigit(next)
	case r == ',':
		n := 0
		for j := i + size; n < 4; n++ {
			r, sz := runeAt(text, j)
			if !isDigit(r) {
				break
			}
			j += sz
		}
		return n == 3
	}
	return false
}

// runCandidates tries every span of whole groups, longest first from each start.
func runCandidates(text string, run numRun, sc *scan) []candidate {
	if run.blockCode() {
		return nil
	}
	var out []candidate
	gs := run.groups
	for i := 0; i < len(gs); i++ {
		if (i == 0 && run.leftGlued) || (i > 0 && !hasBlank(gs[i].sep)) {
			continue
		}
		last := i
		for n := len(gs[i].digits); last+1 < len(gs) && n+len(gs[last+1].digits) <= maxCandidateDigits; last++ {
			n += len(gs[last+1].digits)
		}
		// the validators of known shapes first, over every span from i; then, only when
		// none matched, libphonenumber's regions ("打了13812345678 2次" is a mobile and a
		// count, though "13812345678 2" may be some region's number)
	spans:
		for _, byRegion := range []bool{false, true} {
			if byRegion && (sc.claimed(gs[i].start, gs[last].end) || run.digits() > maxRunDigits) {
				break
			}
			for j := last; j >= i; j-- {
				if (j == len(gs)-1 && run.rightGlued) || (j < len(gs)-1 && !hasBlank(gs[j+1].sep)) {
					continue
				}
				if c, ok := classifyNumber(text, run, i, j, sc, byRegion); ok {
					out = append(out, c)
					i = j
					break spans
				}
			}
		}
	}
	return out
}

func hasBlank(sep string) bool { return strings.ContainsFunc(sep, isSpace) }

// classifyNumber validates groups i..j of run as an ID card, bank card or phone number,
// then applies the context rules.
func classifyNumber(text string, run numRun, i, j int, sc *scan, byRegion bool) (candidate, bool) {
	gs := run.groups[i : j+1]
	digits := gs[0].digits
	if len(gs) > 1 {
		var b strings.Builder
		for _, g := range gs {
			b.WriteString(g.digits)
		}
		digits = b.String()
	}
	plus := i == 0 && run.plusAt >= 0
	c := candidate{start: gs[0].start, end: gs[len(gs)-1].end}
	if plus {
		c.start = run.plusAt
	}
	switch {
	case !byRegion && !run.dotted:
		c.typ, c.value = classifyDigits(text, gs, digits, plus, c.start, sc)
	case byRegion && (!run.dotted || dottedPhone(gs)):
		c.typ, c.value = classifyPhone(text, run, gs, digits, plus, c.start, c.end, j, sc)
	}
	if c.typ == "" {
		return candidate{}, false
	}
	if c.typ == TypePhone && j == len(run.groups)-1 && run.extEnd > 0 {
		c.end = run.extEnd
	}
	if c.typ != TypeIDCard && c.typ != TypeSSN && (sc.rejectedByContext(text, c.start, c.end) || run.labelled) {
		return candidate{}, false
	}
	c.start = widenToParen(text, c.start, c.end)
	return c, true
}

// classifyPhone reads the candidate as a phone number by libphonenumber (phones.go),
// with its extension when it ends the run.
func classifyPhone(text string, run numRun, gs []numGroup, digits string, plus bool, start, end, j int, sc *scan) (string, string) {
	if j == len(run.groups)-1 && run.extEnd > 0 {
		end = run.extEnd
	}
	if v, ok := phoneByRegion(text, gs, digits, plus, start, end, sc); ok {
		return TypePhone, v
	}
	return "", ""
}

// dottedPhone accepts dotted groups as a phone number's only when there are three or
// more, each of two to four digits, and they are not an IPv4 address ("930.167.3943" and
// "01.84.17.61.18", never "1380.00", "3.14" or "192.168.10.20").
func dottedPhone(gs []numGroup) bool {
	if len(gs) < 3 {
		return false
	}
	ip := len(gs) == 4
	for _, g := range gs {
		if len(g.digits) < 2 || len(g.digits) > 4 {
			return false
		}
		ip = ip && len(g.digits) <= 3 && atoiOr(g.digits) <= 255
	}
	return !ip
}

// widenToParen includes an opening parenthesis right before the span when the span holds
// its closing one: "(010) 1234-5678".
func widenToParen(text string, start, end int) int {
	r, size := runeBefore(text, start)
	if (r == '(' || r == '（') && strings.ContainsAny(text[start:end], ")）") {
		return start - size
	}
	return start
}

// classifyDigits names the kind of number the groups gs (digits joined) are, with the
// normalized value, or returns "" for none. start is the byte offset of the candidate.
func classifyDigits(text string, gs []numGroup, digits string, plus bool, start int, sc *scan) (string, string) {
	national, mobile := cnMobile(digits, plus)
	switch {
	case !plus && validIDCard(digits):
		return TypeIDCard, digits
	case !plus && validCard(digits) && (len(digits) >= 16 || len(gs) > 1 || !validIDCard15(digits)):
		return TypeBankCard, digits
	case !plus && len(digits) >= 12 && len(digits) <= 19 && validLuhn(digits) && sc.hasCueBefore(text, start, 28, cueCard):
		return TypeBankCard, digits
	case !plus && validIDCard15(digits):
		return TypeIDCard, digits
	case mobile:
		return TypePhone, "+86" + national
	case plus && validInternational(digits):
		return TypePhone, "+" + digits
	case !plus && isSSN(text, gs, digits, start, sc):
		return TypeSSN, digits
	case !plus && intlWithZeros(gs, digits):
		return TypePhone, "+" + digits[2:]
	case !plus && len(gs) >= 2 && cnLandline(gs[0].digits, digits[len(gs[0].digits):]):
		return TypePhone, "+86" + digits[1:]
	case !plus && len(gs) == 1 && compactLandline(digits):
		return TypePhone, "+86" + digits[1:]
	case !plus && nanpPhone(gs):
		return TypePhone, "+1" + digits
	}
	return "", ""
}

// cardCues name a payment card: after one, any 12–19 digits passing the Luhn check are
// a card number whatever its issuer prefix.
var cardCues = []string{"card", "visa", "mastercard", "amex", "maestro", "卡号", "信用卡", "银行卡", "借记卡", "储蓄卡"}

// addressCues mark Chinese address context, where 3-2-4 digit groups are
// building-unit-room numbers.
var addressCues = []string{"楼", "单元", "室", "栋", "幢", "公寓", "大厦", "小区", "花园", "路", "街", "村", "苑"}

// ssnCues introduce a Social Security number written without dashes.
var ssnCues = []string{"ssn", "social security", "社会安全号", "社会保障号", "社保", "安全号"}

// isSSN accepts a US Social Security number written 123-45-6789, or as nine digits
// (plain or 123 45 6789) right after a cue such as "SSN".
func isSSN(text string, gs []numGroup, digits string, start int, sc *scan) bool {
	if len(digits) != 9 || !validSSN(digits[:3], digits[3:5], digits[5:]) {
		return false
	}
	dashed := len(gs) == 3 && len(gs[0].digits) == 3 && len(gs[1].digits) == 2 &&
		strings.TrimSpace(gs[1].sep) == "-" && strings.TrimSpace(gs[2].sep) == "-"
	if dashed {
		// In a Chinese address "…公寓112-10-1037" is a building-unit-room
		// number, not an SSN, unless an SSN cue says otherwise.
		if r, _ := utf8.DecodeLastRuneInString(text[:start]); unicode.Is(unicode.Han, r) &&
			sc.hasCueBefore(text, start, 24, cueZhAddress) && !sc.hasCueBefore(text, start, 40, cueSSN) {
			return false
		}
		return true
	}
	if len(gs) != 1 && (len(gs) != 3 || len(gs[0].digits) != 3 || len(gs[1].digits) != 2) {
		return false
	}
	return sc.hasCueBefore(text, start, 40, cueSSN)
}

// intlWithZeros accepts an international number dialled with 00 instead of "+", written
// in groups with the 00 and the country code as the first ("0086 10 6234 5678",
// "0044 20 7946 0958"): 10 to 13 digits after the 00.
func intlWithZeros(gs []numGroup, digits string) bool {
	first := gs[0].digits
	if len(gs) < 2 || len(first) < 3 || len(first) > 5 || !strings.HasPrefix(first, "00") || first[2] == '0' {
		return false
	}
	return len(digits) >= 12 && len(digits) <= 15 && validInternational(digits[2:])
}
