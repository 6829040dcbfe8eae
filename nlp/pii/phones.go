package pii

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"google.golang.org/protobuf/proto"
)

// Phone numbers beyond the Chinese and North American shapes the validators know are read
// by libphonenumber (github.com/nyaruka/phonenumbers): a number written with "+" or "00"
// must be a valid number of its country; one written without must be valid in the
// national notation of one of the redactor's regions (the customer's own first, see
// [WithRegion]) and, unless a phone cue stands next to it, be written in groups of at
// most eight digits, eight digits or more in all, not after a CJK character (a building-
// unit-room number), a year and a dash, a postcode, licence, card or business label, nor
// before a street name — so that a bare amount, code or house number stays readable.
// Next to a phone cue ("Phone:", "call me at", "fax", "电话", …, or "office" after the
// number) any 7 to 12 digits that are not a date or timestamp are a phone number:
// formats no region's metadata accepts are still somebody's number when the text says so.

// DefaultPhoneRegions are the regions whose national notation a number written without a
// country code is tried in, in order: China and its neighbours first, then the English-
// speaking and the larger European ones. A customer's own region (WithRegion) goes first.
var DefaultPhoneRegions = []string{"CN", "HK", "TW", "SG", "US", "GB", "AU", "DE", "FR", "IT", "ES", "NL", "BE",
	"CH", "AT", "SE", "DK", "NO", "FI", "IE", "PT", "PL", "IN", "JP", "KR", "MY", "NZ", "ZA"}

// minPhoneDigits and maxPhoneDigits bound a phone number's digits without its extension.
const (
	minPhoneDigits = 7
	maxPhoneDigits = 15
)

type regionKey struct{}

// Region returns region (ISO 3166-1 alpha-2, any case) in upper case, and whether
// libphonenumber knows its phone numbers; "" is not a region.
func Region(region string) (string, bool) {
	region = strings.ToUpper(strings.TrimSpace(region))
	return region, phonenumbers.GetSupportedRegions()[region]
}

// WithRegion returns ctx carrying the customer's region (ISO 3166-1 alpha-2, such as
// "GB" or "HK"): Redact tries its national phone notation before the redactor's own
// regions. An unknown or empty region is ignored.
func WithRegion(ctx context.Context, region string) context.Context {
	region, ok := Region(region)
	if !ok {
		return ctx
	}
	return context.WithValue(ctx, regionKey{}, region)
}

// regionsFor is the region order for one call: ctx's region, then the redactor's.
func (r *Redactor) regionsFor(ctx context.Context) []string {
	first, _ := ctx.Value(regionKey{}).(string)
	if first == "" {
		return r.regions
	}
	out := make([]string, 0, len(r.regions)+1)
	out = append(out, first)
	for _, reg := range r.regions {
		if reg != first {
			out = append(out, reg)
		}
	}
	return out
}

// phoneCuesBefore name a phone number written after them (compared in lower case).
var phoneCuesBefore = []string{"phone", "phones", "telephone", "tel", "mobile", "cell", "cellphone", "fax", "desk",
	"call", "calling", "text me", "sms", "whatsapp", "contact", "reach me", "dial", "ring me", "messages to",
	"answering at", "hotline", "landline",
	"电话", "手机", "联系", "号码", "致电", "打给", "來電", "電話", "手機"}

// phoneCuesAfter name a phone number written before them ("416 60 039 office").
var phoneCuesAfter = []string{"office", "fax", "mobile", "home", "work", "cell", "(o)", "(m)", "(h)", "(w)"}

// phoneCued reports a phone cue shortly before start in the same clause (on the same or
// the previous line) and nearer than any cue of another kind of number ("call me … (part
// no. 7848-3271)" is a part number), or a phone cue right after end.
func phoneCued(text string, start, end int, sc *scan) bool {
	if p := sc.cueIn(text, start, cuePhone); p >= 0 && p > max(sc.cueIn(text, start, cueNotPhone), sc.cueIn(text, start, cueLabel)) {
		return true
	}
	after := strings.ToLower(head(text[end:], 12))
	after = strings.TrimLeft(after, " -–,\\:\t")
	for _, c := range phoneCuesAfter {
		if strings.HasPrefix(after, c) {
			return true
		}
	}
	return false
}

// phoneByRegion reads text[start:end] (digits as written, gs its groups, digits joined,
// plus a leading "+") as a phone number by libphonenumber and returns its E.164 form.
func phoneByRegion(text string, gs []numGroup, digits string, plus bool, start, end int, sc *scan) (string, bool) {
	n := len(digits)
	if n < minPhoneDigits || n > maxPhoneDigits+2 || strings.HasSuffix(digits, "X") || holdsDate(gs) || timeAfter(text, end) ||
		!plus && timestampShaped(digits) {
		return "", false
	}
	raw := text[start:end]
	cued := phoneCued(text, start, end, sc)
	if plus || strings.HasPrefix(digits, "00") {
		if !plus {
			raw = "+" + digits[2:]
		}
		num, err := phonenumbers.Parse(raw, "ZZ")
		if err == nil && (phonenumbers.IsValidNumber(num) || cued && phonenumbers.IsPossibleNumber(num)) {
			return phonenumbers.Format(num, phonenumbers.E164), true
		}
		return "", false
	}
	if n > maxPhoneDigits {
		return "", false
	}
	if !cued && (n < 8 || len(gs) < 2 || longestGroup(gs) > 8 || yearFirst(gs) || hanBefore(text, start) ||
		notPhoneCued(text, start, sc) || streetAfter(text, end)) {
		return "", false
	}
	lengths := regionLengths()
	for _, reg := range sc.regions {
		if !lengths[reg].fits(digits) {
			continue
		}
		num, err := lengths[reg].number(digits, reg)
		if err == nil && phonenumbers.IsValidNumberForRegion(num, reg) {
			return phonenumbers.Format(num, phonenumbers.E164), true
		}
	}
	if cued && n <= 12 {
		// next to a cue, a number no region's metadata accepts is still taken for a
		// phone number, up to twelve digits (longer ones are timestamps and account
		// numbers far more often)
		return "+?" + digits, true
	}
	return "", false
}

// nationalLengths are what one region's national numbers may look like: their lengths
// (national significant numbers, without the trunk prefix), the trunk prefix, and whether
// that prefix is all there is to strip (simple), and the country calling code.
type nationalLengths struct {
	lengths [maxPhoneDigits + 3]bool
	prefix  string
	code    int32
	cc      string // code in digits
	// prefixRe matches the trunk prefix where it is more than a plain prefix (carrier
	// codes, transformations), anchored; nil where it is plain.
	prefixRe *regexp.Regexp
}

// number is digits, written the national way of region reg, as libphonenumber's number.
// Unless the number starts with the country code or 00, or with a carrier code or a
// trunk prefix the region transforms (AU, CN, GB, JP and KR have such), it is built the way libphonenumber's parser builds it — prefix stripped
// when what remains has a possible length, leading zeros kept — without the parser's
// dozen regular expressions, which cost 10–20 µs a call; elsewhere the parser runs.
func (n nationalLengths) number(digits, reg string) (*phonenumbers.PhoneNumber, error) {
	if strings.HasPrefix(digits, n.cc) || strings.HasPrefix(digits, "00") {
		// led by the country code or an international prefix: the parser decides
		// whether that is what it is
		return phonenumbers.Parse(digits, reg)
	}
	strip := n.prefix != ""
	if n.prefixRe != nil {
		// a trunk prefix with carrier codes or a transformation: only the plain trunk
		// prefix, or none at all, is handled here
		m := n.prefixRe.FindStringSubmatchIndex(digits)
		switch {
		case m == nil:
			strip = false
		case digits[:m[1]] != n.prefix || slices.ContainsFunc(m[2:], func(i int) bool { return i >= 0 }):
			return phonenumbers.Parse(digits, reg)
		}
	}
	national := digits
	if rest, ok := strings.CutPrefix(digits, n.prefix); ok && strip && len(rest) < len(n.lengths) && n.lengths[len(rest)] {
		national = rest
	}
	v, err := strconv.ParseUint(national, 10, 64)
	if err != nil || len(national) < 2 {
		return nil, phonenumbers.ErrNotANumber
	}
	num := &phonenumbers.PhoneNumber{CountryCode: proto.Int32(n.code), NationalNumber: proto.Uint64(v)}
	if national[0] == '0' {
		zeros := 1
		for zeros < len(national)-1 && national[zeros] == '0' {
			zeros++
		}
		num.ItalianLeadingZero = proto.Bool(true)
		if zeros != 1 {
			num.NumberOfLeadingZeros = proto.Int32(int32(zeros))
		}
	}
	return num, nil
}

// fits reports whether digits, with or without the trunk prefix, has a length the region's
// numbers have: the cheap test before libphonenumber's parse (a parse runs a dozen
// regular expressions; most regions are ruled out by length alone).
func (n nationalLengths) fits(digits string) bool {
	if len(digits) < len(n.lengths) && n.lengths[len(digits)] {
		return true
	}
	if n.prefix != "" && strings.HasPrefix(digits, n.prefix) {
		if d := len(digits) - len(n.prefix); d < len(n.lengths) && n.lengths[d] {
			return true
		}
	}
	return false
}

// regionLengths reads every region's lengths from libphonenumber's metadata, once.
var regionLengths = sync.OnceValue(func() map[string]nationalLengths {
	out := map[string]nationalLengths{}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return out
	}
	for _, md := range coll.GetMetadata() {
		n := nationalLengths{prefix: md.GetNationalPrefix(), code: md.GetCountryCode(), cc: strconv.Itoa(int(md.GetCountryCode()))}
		if p := md.GetNationalPrefixForParsing(); p != "" && (p != n.prefix || md.GetNationalPrefixTransformRule() != "") {
			if re, err := regexp.Compile("^(?:" + p + ")"); err == nil {
				n.prefixRe = re
			} else {
				continue // a region whose prefix this cannot read is never tried
			}
		}
		for _, l := range md.GetGeneralDesc().GetPossibleLength() {
			if l >= 0 && int(l) < len(n.lengths) {
				n.lengths[l] = true
			}
		}
		out[md.GetId()] = n
	}
	return out
})

// holdsDate reports a date among the groups (dateShaped from any group on): "350
// (2023-11-18 23:34" holds one.
func holdsDate(gs []numGroup) bool {
	for i := range gs {
		if (i == 0 || hasBlank(gs[i].sep) || strings.ContainsAny(gs[i].sep, "()（）")) && dateShaped(gs[i:]) {
			return true
		}
	}
	return false
}

// dateShaped reports groups that begin with a date: day, month and a 2- or 4-digit year
// in either order of day and month, or a 4-digit year, month and day, joined by dashes
// or dots ("2000-04-16 11:34" is a date and an hour; "60-56-85-91" and "01 23 45 67 89"
// are not dates).
func dateShaped(gs []numGroup) bool {
	if len(gs) < 3 || hasBlank(gs[1].sep) || hasBlank(gs[2].sep) || len(gs) > 3 && !hasBlank(gs[3].sep) {
		return false
	}
	a, b, c := atoiOr(gs[0].digits), atoiOr(gs[1].digits), atoiOr(gs[2].digits)
	la, lb, lc := len(gs[0].digits), len(gs[1].digits), len(gs[2].digits)
	switch {
	case la <= 2 && lb <= 2 && (lc == 2 || lc == 4):
		return a >= 1 && b >= 1 && (a <= 31 && b <= 12 || a <= 12 && b <= 31)
	case la == 4 && lb <= 2 && lc <= 2:
		return b >= 1 && b <= 12 && c >= 1 && c <= 31
	}
	return false
}

// atoiOr is the value of a short string of ASCII digits, or -1.
func atoiOr(s string) int {
	if len(s) == 0 || len(s) > 9 {
		return -1
	}
	n := 0
	for i := range len(s) {
		if !isDigitByte(s[i]) {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// hanBefore reports a CJK character right before start: in Chinese text a number in
// groups with no cue is a building-unit-room number ("金榈湾112-10-1037") or a range of
// rooms far more often than a foreign phone number (Chinese phone numbers have validators
// of their own).
func hanBefore(text string, start int) bool {
	r, _ := runeBefore(text, start)
	return unicode.Is(unicode.Han, r)
}

// longestGroup is the number of digits of the longest group.
func longestGroup(gs []numGroup) int {
	n := 0
	for _, g := range gs {
		n = max(n, len(g.digits))
	}
	return n
}

// yearFirst reports a number led by a year and a dash ("2023-1381234").
func yearFirst(gs []numGroup) bool {
	y := atoiOr(gs[0].digits)
	return len(gs[0].digits) == 4 && y >= 1900 && y <= 2099 && strings.TrimSpace(gs[1].sep) == "-"
}

// timestampShaped reports 8, 12 or 14 digits that read as a date and time, YYYYMMDD[hhmm[ss]]
// from 1900 to 2099 ("20200925065853").
func timestampShaped(d string) bool {
	if len(d) != 8 && len(d) != 12 && len(d) != 14 {
		return false
	}
	y, m, day := atoiOr(d[:4]), atoiOr(d[4:6]), atoiOr(d[6:8])
	if y < 1900 || y > 2099 || m < 1 || m > 12 || day < 1 || day > 31 {
		return false
	}
	return len(d) == 8 || atoiOr(d[8:10]) < 24 && atoiOr(d[10:12]) < 60 && (len(d) == 12 || atoiOr(d[12:]) < 60)
}

// timeAfter reports a clock time continuing the number (":34").
func timeAfter(text string, end int) bool {
	return end+1 < len(text) && text[end] == ':' && isDigitByte(text[end+1])
}

// notPhoneCues name numbers that are not phone numbers however they look: postal codes,
// licence, card and account numbers.
var notPhoneCues = []string{"zip", "postal", "postcode", "post code", "license", "licence", "driver's", "card", "account",
	"acct", "member", "membership",
	"part", "model", "item", "product", "code", "version", "usps", "ups", "fedex", "dhl", "parcel", "shipment", "waybill",
	"case", "ticket", "运单", "快递", "包裹",
	"邮编", "邮政编码", "驾驶证", "驾照", "卡号", "账号", "账户"}

// notPhoneCued reports a cue of notPhoneCues, or a business-number label, shortly before
// start in the same clause.
func notPhoneCued(text string, start int, sc *scan) bool {
	return sc.cueIn(text, start, cueNotPhone) >= 0 || sc.cueIn(text, start, cueLabel) >= 0
}

// cueWindow is how far before a number its cue may stand, in bytes.
const cueWindow = 28

// clauseEnds end a clause: a cue before one of them speaks of something else ("…挂电话，
// 什么态度！，20230912132614" is a timestamp, not a phone number).
const clauseEnds = "。！？!?；;"

// streetAfterRe is the rest of a street address after a house number: up to four words
// and a street type or a unit ("17151 2450 Crown St", "… Heatherleigh Suite 620"), or,
// the European way, a street name and its number ("675 62314 Mellemvej 32").
var streetAfterRe = regexp.MustCompile(`(?i:^,? +(?:[a-z][\pL'.-]* +){0,4}(?:` + enStreetTypes + `|Str|Apt|Suite|Unit)\b)|` +
	`^ +\p{Lu}\pL+ \d{1,4}\b`)

// streetAfter reports a street name right after the number: the number is a house number.
func streetAfter(text string, end int) bool {
	return streetAfterRe.MatchString(head(text[end:], 64))
}
