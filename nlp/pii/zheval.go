package pii

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The Chinese structured-data set: real sentences from LCQMC, BQ and the waimai reviews
// with synthetic, checksum-valid ID numbers, mobile numbers in varied notations and
// Luhn-valid bank cards inserted at random positions, and decoys (order and tracking
// numbers, amounts, dates) that must survive. The same seed gives the same set.

// zhSample is one generated text with its gold spans.
type zhSample struct {
	text string
	gold []goldSpan
	segs [][2]int // byte ranges of everything inserted, which later inserts avoid
}

// EvaluateChineseStructured generates n samples from the Chinese corpora under dataDir
// (the shared data directory) with seed and scores r on them; the types are
// ID_CARD, PHONE and BANK_CARD, plus any other type the redactor reported (all false
// positives, since only those three are inserted).
func EvaluateChineseStructured(ctx context.Context, r *Redactor, dataDir string, n int, seed int64) (map[string]Score, error) {
	samples, err := chineseSamples(dataDir, n, seed)
	if err != nil {
		return nil, err
	}
	var acc tally
	for _, s := range samples {
		res, err := r.Redact(ctx, s.text)
		if err != nil {
			return nil, err
		}
		acc.add(s.gold, res.Spans)
	}
	for _, typ := range []string{TypeIDCard, TypePhone, TypeBankCard} {
		acc.get(typ)
	}
	return acc.scores(), nil
}

// chineseSamples builds n samples: one or two real sentences, one to three inserted
// values and one or two decoys each.
func chineseSamples(dataDir string, n int, seed int64) ([]zhSample, error) {
	sents, err := chineseSentences(dataDir)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	out := make([]zhSample, 0, n)
	for range n {
		s := zhSample{text: sents[rng.IntN(len(sents))]}
		if rng.IntN(2) == 0 {
			s.text += "，" + sents[rng.IntN(len(sents))]
		}
		for range 1 + rng.IntN(3) {
			typ, v := randomPII(rng)
			s = insertAt(rng, s, v, typ)
		}
		for range 1 + rng.IntN(2) {
			s = insertAt(rng, s, randomDecoy(rng), "")
		}
		out = append(out, s)
	}
	return out, nil
}

// chineseSentences reads the first sentence column of lcqmc/test.txt, bq_corpus/test.csv
// and the reviews of zh_reviews_chinesenlpcorpus/waimai_10k.csv.
func chineseSentences(dataDir string) ([]string, error) {
	var out []string
	f, err := os.Open(filepath.Join(dataDir, "lcqmc", "test.txt"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadData, err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if first, _, ok := strings.Cut(sc.Text(), "\t"); ok && first != "" {
			out = append(out, first)
		}
	}
	f.Close()
	for _, src := range []struct {
		path string
		col  int
	}{{filepath.Join("bq_corpus", "test.csv"), 0}, {filepath.Join("zh_reviews_chinesenlpcorpus", "waimai_10k.csv"), 1}} {
		rows, err := csvColumn(filepath.Join(dataDir, src.path), src.col)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no Chinese sentences under %s", ErrBadData, dataDir)
	}
	return out, nil
}

// csvColumn reads column col of every row after the header.
func csvColumn(path string, col int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadData, err)
	}
	defer f.Close()
	rd := csv.NewReader(f)
	rd.FieldsPerRecord = -1
	var out []string
	for first := true; ; first = false {
		rec, err := rd.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadData, path, err)
		}
		if !first && col < len(rec) && rec[col] != "" {
			out = append(out, rec[col])
		}
	}
}

// piiCues sometimes precede an inserted value, as customers write them.
var piiCues = map[string][]string{
	TypeIDCard:   {"", "身份证号", "身份证：", "证件号码 ", "我的身份证是"},
	TypePhone:    {"", "手机", "电话：", "联系方式 ", "打我电话"},
	TypeBankCard: {"", "卡号", "银行卡：", "退款到 ", "我的卡是"},
}

// randomPII returns a random type and a value of it in a random notation.
func randomPII(rng *rand.Rand) (string, string) {
	switch rng.IntN(3) {
	case 0:
		return TypeIDCard, randomIDCard(rng)
	case 1:
		return TypePhone, randomMobile(rng)
	}
	return TypeBankCard, randomCard(rng)
}

var idRegions = []string{"110105", "310104", "440305", "330106", "510107", "420102", "320581", "370202", "610113", "500103"}

func randomIDCard(rng *rand.Rand) string {
	birth := fmt.Sprintf("%04d%02d%02d", 1950+rng.IntN(56), 1+rng.IntN(12), 1+rng.IntN(28))
	body := idRegions[rng.IntN(len(idRegions))] + birth + fmt.Sprintf("%03d", rng.IntN(1000))
	sum := 0
	for i := range 17 {
		sum += int(body[i]-'0') * idWeights[i]
	}
	check := string("10X98765432"[sum%11])
	if check == "X" && rng.IntN(3) == 0 {
		check = "x"
	}
	return body + check
}

var mobilePrefixes = []string{"130", "131", "135", "138", "139", "150", "152", "158", "166", "176", "177", "186", "188", "191", "198"}

// randomMobile writes a mobile number in one of the common notations.
func randomMobile(rng *rand.Rand) string {
	p := mobilePrefixes[rng.IntN(len(mobilePrefixes))]
	a, b := fmt.Sprintf("%04d", rng.IntN(10000)), fmt.Sprintf("%04d", rng.IntN(10000))
	forms := []string{
		p + a + b, p + " " + a + " " + b, p + "-" + a + "-" + b, "+86 " + p + a + b,
		"+86-" + p + "-" + a + "-" + b, "0086 " + p + " " + a + " " + b, "(+86)" + p + a + b,
		"+86 " + p + " " + a + " " + b, "86-" + p + a + b, "（+86）" + p + "-" + a + "-" + b,
		toFullWidth(p + a + b),
	}
	return forms[rng.IntN(len(forms))]
}

func toFullWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r + 0xFEE0)
	}
	return b.String()
}

var cardPrefixes = []string{"622202", "622848", "621700", "622588", "625880", "436742", "518710", "403391"}

// randomCard returns a Luhn-valid 16 or 19 digit card number, compact or grouped.
func randomCard(rng *rand.Rand) string {
	length := 16
	if rng.IntN(2) == 0 {
		length = 19
	}
	d := cardPrefixes[rng.IntN(len(cardPrefixes))]
	for len(d) < length-1 {
		d += strconv.Itoa(rng.IntN(10))
	}
	for c := '0'; c <= '9'; c++ {
		if validLuhn(d + string(c)) {
			d += string(c)
			break
		}
	}
	switch rng.IntN(3) {
	case 0:
		return d
	case 1:
		return groupDigits(d, " ")
	}
	return groupDigits(d, "-")
}

func groupDigits(d, sep string) string {
	var parts []string
	for len(d) > 4 {
		parts, d = append(parts, d[:4]), d[4:]
	}
	return strings.Join(append(parts, d), sep)
}

// randomDecoy returns business numbers, amounts and dates that are not personal data,
// some of them Luhn-valid or mobile-shaped on purpose.
func randomDecoy(rng *rand.Rand) string {
	digits := func(n int) string { return digitsOf(rng, n) }
	y, m, d := 2015+rng.IntN(10), 1+rng.IntN(12), 1+rng.IntN(28)
	forms := []string{
		"订单号：" + fmt.Sprintf("%04d%02d%02d", y, m, d) + digits(8),
		"订单号 6222" + digits(12), "单号" + "138" + digits(8), "Order #" + digits(16),
		"快递单号SF" + digits(12), "运单号 YT" + digits(13), "物流号" + "7730" + digits(10),
		fmt.Sprintf("¥%d.%02d", rng.IntN(100000), rng.IntN(100)), fmt.Sprintf("共计%d元", rng.IntN(100000)),
		fmt.Sprintf("金额 %d,%03d.00 元", 1+rng.IntN(999), rng.IntN(1000)),
		fmt.Sprintf("%d-%02d-%02d %02d:%02d", y, m, d, rng.IntN(24), rng.IntN(60)),
		fmt.Sprintf("%d年%d月%d日", y, m, d), fmt.Sprintf("%d/%02d/%02d", y, m, d),
		fmt.Sprintf("%d%02d%02d%02d%02d%02d", y, m, d, rng.IntN(24), rng.IntN(60), rng.IntN(60)),
	}
	return forms[rng.IntN(len(forms))]
}

// insertAt puts value (with a cue for PII types) at a random rune boundary of s.text
// whose neighbours cannot glue to it, shifting the gold spans after it. typ "" marks a
// decoy, which adds no gold span.
func insertAt(rng *rand.Rand, s zhSample, value, typ string) zhSample {
	if typ != "" {
		cues := piiCues[typ]
		value = cues[rng.IntN(len(cues))] + value
	}
	cut := safeBoundary(s.text, rng.IntN(utf8.RuneCountInString(s.text)+1))
	for _, g := range s.segs {
		if g[0] < cut && cut < g[1] {
			cut = g[0]
		}
	}
	wrap := []string{"，", " ", ""}[rng.IntN(3)]
	after, _ := runeAt(s.text, cut)
	before, _ := runeBefore(s.text, cut)
	if wrap == "" && (!unicode.Is(unicode.Han, after) || !unicode.Is(unicode.Han, before)) {
		wrap = "，" // a number glued to digits or letters is unreadable to people too
	}
	value = wrap + value + wrap
	for i := range s.segs {
		if s.segs[i][0] >= cut {
			s.segs[i][0] += len(value)
			s.segs[i][1] += len(value)
		}
	}
	s.segs = append(s.segs, [2]int{cut, cut + len(value)})
	for i := range s.gold {
		if s.gold[i].start >= cut {
			s.gold[i].start += len(value)
			s.gold[i].end += len(value)
		}
	}
	if typ != "" {
		core := value[len(wrap) : len(value)-len(wrap)]
		cue := 0
		for _, c := range piiCues[typ] {
			if c != "" && strings.HasPrefix(core, c) {
				cue = max(cue, len(c))
			}
		}
		start := cut + len(wrap) + cue
		s.gold = append(s.gold, goldSpan{typ, start, cut + len(value) - len(wrap)})
	}
	s.text = s.text[:cut] + value + s.text[cut:]
	return s
}

// safeBoundary converts rune index n to a byte offset, moved left to the start of any
// run of letters, digits or number punctuation around it.
func safeBoundary(text string, n int) int {
	i := 0
	for k := 0; k < n && i < len(text); k++ {
		_, size := utf8.DecodeRuneInString(text[i:])
		i += size
	}
	for i > 0 {
		r, size := runeBefore(text, i)
		if !isWordRune(r) && !strings.ContainsRune(".,:+-/¥$%", fold(r)) {
			break
		}
		i -= size
	}
	return i
}
