package pii

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Ordinary support messages carry numbers that are not personal data and must stay
// readable: order and tracking numbers, product codes, prices, delivery dates and times.
// EvaluateKeepStrings puts one such string into each of n real customer questions per
// language (English: the test questions of BANKING77 and CLINC150; Chinese: LCQMC, BQ and
// food-delivery reviews), redacts the message, and counts the strings any span touched.
// Questions in which the redactor finds something on their own are left out (a review
// with the courier's phone number), so any span in a message is the inserted string's.

// KeepResult is the false-positive count of one language.
type KeepResult struct {
	Messages int     `json:"messages"`
	Touched  int     `json:"touched"` // messages where redaction touched anything
	Skipped  int     `json:"skipped"` // questions left out because they hold personal data
	Rate     float64 `json:"rate"`
	// Examples are up to five touched messages, redacted, to show what went wrong.
	Examples []string `json:"examples,omitempty"`
	// ByKind counts touched messages per kind of string (order, tracking, price, …).
	ByKind map[string]int `json:"by_kind,omitempty"`
}

// EvaluateKeepStrings measures false positives on ordinary support text, n messages per
// language, drawn with seed.
func EvaluateKeepStrings(ctx context.Context, r *Redactor, dataDir string, n int, seed uint64) (map[string]KeepResult, error) {
	en, err := englishQuestions(dataDir)
	if err != nil {
		return nil, err
	}
	zh, err := chineseSentences(dataDir)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x6b656570))
	out := map[string]KeepResult{}
	for _, lang := range []struct {
		name      string
		sentences []string
		keep      func(*rand.Rand) (kind, value string)
	}{{"en", en, englishKeep}, {"zh", zh, chineseKeep}} {
		res := KeepResult{ByKind: map[string]int{}}
		for res.Messages < n {
			s := lang.sentences[rng.IntN(len(lang.sentences))]
			if base, err := r.Redact(ctx, s); err != nil {
				return nil, err
			} else if len(base.Spans) > 0 {
				res.Skipped++ // the question itself holds personal data (a review's phone number)
				continue
			}
			kind, value := lang.keep(rng)
			msg := placeKeep(rng, s, value, lang.name)
			red, err := r.Redact(ctx, msg)
			if err != nil {
				return nil, err
			}
			res.Messages++
			if len(red.Spans) > 0 {
				res.Touched++
				res.ByKind[kind]++
				if len(res.Examples) < 5 {
					res.Examples = append(res.Examples, msg+" → "+red.Text)
				}
			}
		}
		res.Rate = float64(res.Touched) / float64(res.Messages)
		out[lang.name] = res
	}
	return out, nil
}

// placeKeep puts value before or after sentence s, the way customers add it.
func placeKeep(rng *rand.Rand, s, value, lang string) string {
	s = strings.TrimSpace(s)
	if lang == "zh" {
		if rng.IntN(2) == 0 {
			return value + "，" + s
		}
		return s + "，" + value
	}
	if rng.IntN(2) == 0 {
		return value + ": " + s
	}
	return strings.TrimRight(s, ".?!") + " (" + value + ")"
}

// englishQuestions reads the test questions of BANKING77 and CLINC150.
func englishQuestions(dataDir string) ([]string, error) {
	out, err := csvColumn(filepath.Join(dataDir, "banking77", "test.csv"), 0)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dataDir, "clinc150", "data_full.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadData, err)
	}
	var clinc map[string][][2]string
	if err := json.Unmarshal(raw, &clinc); err != nil {
		return nil, fmt.Errorf("%w: clinc150: %w", ErrBadData, err)
	}
	for _, p := range clinc["test"] {
		out = append(out, p[0])
	}
	return out, nil
}

// digitsOf returns n random digits.
func digitsOf(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + rng.IntN(10)))
	}
	return b.String()
}

// englishKeep draws a business string an English-speaking customer writes.
func englishKeep(rng *rand.Rand) (string, string) {
	d := func(n int) string { return digitsOf(rng, n) }
	upper := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(byte('A' + rng.IntN(26)))
		}
		return b.String()
	}
	y, m, day := 2020+rng.IntN(7), 1+rng.IntN(12), 1+rng.IntN(28)
	months := []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	forms := []struct{ kind, value string }{
		{"order", "order #" + d(7)},
		{"order", "Order No. " + d(3) + "-" + d(7) + "-" + d(7)}, // marketplace style
		{"order", "order " + upper(2) + d(8)},
		{"order", "my order number is " + d(10)},
		{"invoice", "invoice INV-" + d(4) + "-" + d(5)},
		{"ticket", "case " + d(8)},
		{"tracking", "tracking 1Z" + upper(3) + d(3) + upper(2) + d(8)},
		{"tracking", "tracking number " + d(12)},
		{"tracking", "USPS " + d(4) + " " + d(4) + " " + d(4) + " " + d(4) + " " + d(4) + " " + d(2)},
		{"product", "SKU " + d(3) + "-" + d(3) + "-" + d(2)},
		{"product", "model " + upper(3) + "-" + d(4)},
		{"product", "part no. " + d(4) + "-" + d(4)},
		{"product", "serial " + upper(2) + d(10)},
		{"price", fmt.Sprintf("$%d.%02d", rng.IntN(5000), rng.IntN(100))},
		{"price", fmt.Sprintf("$%d,%03d.%02d", 1+rng.IntN(99), rng.IntN(1000), rng.IntN(100))},
		{"price", fmt.Sprintf("€%d,%02d", rng.IntN(900), rng.IntN(100))},
		{"price", fmt.Sprintf("%d.%02d USD", rng.IntN(90000), rng.IntN(100))},
		{"price", fmt.Sprintf("£%d", rng.IntN(20000))},
		{"date", fmt.Sprintf("delivered on %02d/%02d/%d", m, day, y)},
		{"date", fmt.Sprintf("due %d-%02d-%02d", y, m, day)},
		{"date", fmt.Sprintf("arriving %02d.%02d.%d", day, m, y)},
		{"date", fmt.Sprintf("on %s %d, %d", months[m-1], day, y)},
		{"time", fmt.Sprintf("between %d:%02d and %d:%02d", 8+rng.IntN(4), 15*rng.IntN(4), 13+rng.IntN(6), 15*rng.IntN(4))},
		{"time", fmt.Sprintf("%d-%02d-%02d %02d:%02d:%02d", y, m, day, rng.IntN(24), rng.IntN(60), rng.IntN(60))},
		{"quantity", fmt.Sprintf("%d x %dml", 1+rng.IntN(6), 100*(1+rng.IntN(9)))},
		{"version", fmt.Sprintf("app version %d.%d.%d", rng.IntN(10), rng.IntN(20), rng.IntN(100))},
		{"account", fmt.Sprintf("transfer of %d,%03d", 1+rng.IntN(99), rng.IntN(1000))},
	}
	f := forms[rng.IntN(len(forms))]
	return f.kind, f.value
}

// chineseKeep draws a business string a Chinese-speaking customer writes.
func chineseKeep(rng *rand.Rand) (string, string) {
	d := func(n int) string { return digitsOf(rng, n) }
	y, m, day := 2020+rng.IntN(7), 1+rng.IntN(12), 1+rng.IntN(28)
	forms := []struct{ kind, value string }{
		{"order", "订单号：" + fmt.Sprintf("%04d%02d%02d", y, m, day) + d(8)},
		{"order", "订单号 6222" + d(12)},
		{"order", "单号138" + d(8)},
		{"order", "订单编号 " + d(4) + " " + d(4) + " " + d(4)},
		{"tracking", "快递单号SF" + d(12)},
		{"tracking", "运单号 YT" + d(13)},
		{"tracking", "物流号7730" + d(10)},
		{"product", "型号 " + string(rune('A'+rng.IntN(26))) + d(3) + "-" + d(4)},
		{"product", "货号" + d(8)},
		{"price", fmt.Sprintf("¥%d.%02d", rng.IntN(100000), rng.IntN(100))},
		{"price", fmt.Sprintf("共计%d元", rng.IntN(100000))},
		{"price", fmt.Sprintf("金额 %d,%03d.00 元", 1+rng.IntN(999), rng.IntN(1000))},
		{"price", fmt.Sprintf("优惠了%d块", 1+rng.IntN(500))},
		{"date", fmt.Sprintf("%d年%d月%d日送达", y, m, day)},
		{"date", fmt.Sprintf("%d/%02d/%02d", y, m, day)},
		{"time", fmt.Sprintf("%d-%02d-%02d %02d:%02d", y, m, day, rng.IntN(24), rng.IntN(60))},
		{"time", fmt.Sprintf("%d%02d%02d%02d%02d%02d", y, m, day, rng.IntN(24), rng.IntN(60), rng.IntN(60))},
		{"time", fmt.Sprintf("下午%d点%d分", 1+rng.IntN(11), rng.IntN(60))},
		{"quantity", fmt.Sprintf("买了%d件", 1+rng.IntN(20))},
		{"account", fmt.Sprintf("转账%d万", 1+rng.IntN(99))},
	}
	f := forms[rng.IntN(len(forms))]
	return f.kind, f.value
}
