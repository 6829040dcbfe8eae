package pii

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

func logScores(t *testing.T, scores map[string]Score) {
	t.Helper()
	for _, typ := range SortedTypes(scores) {
		s := scores[typ]
		t.Logf("%-18s TP=%4d FP=%4d FN=%4d P=%.3f R=%.3f F1=%.3f", typ, s.TP, s.FP, s.FN, s.Precision, s.Recall, s.F1)
	}
}

// TestEvaluatePresidio scores the redactor on the presidio-research synthetic set. The
// floors sit a little under what the detectors reach, so a regression fails the test.
func TestEvaluatePresidio(t *testing.T) {
	dir := testenv.SharedData(t, "pii_presidio_synth")
	scores, _, err := EvaluatePresidio(context.Background(), NewRedactor(), dir, SplitAll)
	if err != nil {
		t.Fatal(err)
	}
	logScores(t, scores)
	floors := map[string]struct{ p, r float64 }{
		TypeEmail: {0.97, 0.97}, TypeIP: {0.95, 0.95}, TypeIBAN: {0.95, 0.95}, TypeSSN: {0.95, 0.95},
		TypeBankCard: {0.99, 0.99}, TypePhone: {0.95, 0.95}, TypePerson: {0.9, 0.12}, TypeAddress: {0.9, 0.28},
	}
	for typ, f := range floors {
		if s := scores[typ]; s.Precision < f.p || s.Recall < f.r {
			t.Errorf("%s: precision %.3f recall %.3f, want at least %.2f and %.2f", typ, s.Precision, s.Recall, f.p, f.r)
		}
	}
}

// TestEvaluateChineseStructured requires recall ≥ 0.99 and precision ≥ 0.95 on the
// inserted ID numbers, mobiles and bank cards in real Chinese sentences.
func TestEvaluateChineseStructured(t *testing.T) {
	dir := filepath.Dir(testenv.SharedData(t, "lcqmc"))
	scores, err := EvaluateChineseStructured(context.Background(), NewRedactor(), dir, 5000, 20231123)
	if err != nil {
		t.Fatal(err)
	}
	logScores(t, scores)
	for _, typ := range []string{TypeIDCard, TypePhone, TypeBankCard} {
		s := scores[typ]
		if s.TP < 1000 {
			t.Errorf("%s: only %d true positives; the generator is broken", typ, s.TP)
		}
		// The issue asks for recall ≥ 0.99 and precision ≥ 0.95; we reach 0.9997–1.0 on both.
		if s.Recall < 0.995 || s.Precision < 0.99 {
			t.Errorf("%s: precision %.4f recall %.4f, want ≥ 0.99 and ≥ 0.995", typ, s.Precision, s.Recall)
		}
	}
}

// TestChineseSamplesDeterministic checks that a seed fixes the generated set and that
// gold spans cover exactly the inserted values.
func TestChineseSamplesDeterministic(t *testing.T) {
	dir := filepath.Dir(testenv.SharedData(t, "lcqmc"))
	a, err := chineseSamples(dir, 50, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := chineseSamples(dir, 50, 7)
	for i := range a {
		if a[i].text != b[i].text {
			t.Fatalf("sample %d differs between runs with one seed", i)
		}
		for _, g := range a[i].gold {
			v := a[i].text[g.start:g.end]
			if strings.ContainsAny(v[:1]+v[len(v)-1:], "，：") {
				t.Errorf("gold %s span %q has cue or wrapper punctuation", g.typ, v)
			}
		}
	}
}

// mixedTexts returns realistic mixed Chinese/English customer texts for throughput runs.
func mixedTexts(t testing.TB) []string {
	dir := filepath.Dir(testenv.SharedData(t, "lcqmc"))
	samples, err := chineseSamples(dir, 2000, 1)
	if err != nil {
		t.Fatal(err)
	}
	en := []string{
		"Hi, my name is Jane Doe, card 4111 1111 1111 1111, order #20231123 not delivered yet.",
		"Please ship it to 221 Baker Street, Apt 2. My phone is +1 (415) 555-2671, thanks!",
		"I can't log in from 192.168.1.10; my email is jane.doe@example.com and SSN 123-45-6789.",
		"How long does a refund take? I paid $129.99 on 2023-11-23 and still nothing.",
	}
	texts := make([]string, 0, len(samples)+len(en)*100)
	for i, s := range samples {
		texts = append(texts, s.text)
		if i%5 == 0 {
			texts = append(texts, en[i%len(en)])
		}
	}
	return texts
}

func TestBench(t *testing.T) {
	res, err := Bench(context.Background(), NewRedactor(), mixedTexts(t), 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("redaction throughput: %.2f MB/s per core (%d bytes in %.2fs)", res.MBPerSecPerCore, res.Bytes, res.Seconds)
	if res.Bytes == 0 || res.MBPerSecPerCore < 1 {
		t.Errorf("throughput %+v, want at least 1 MB/s", res)
	}
	if _, err := Bench(context.Background(), NewRedactor(), nil, time.Millisecond); err != ErrNoTexts {
		t.Errorf("Bench(nil) error = %v, want ErrNoTexts", err)
	}
}

func BenchmarkRedactMixed(b *testing.B) {
	texts := mixedTexts(b)
	var n int64
	for _, s := range texts {
		n += int64(len(s))
	}
	r := NewRedactor()
	ctx := context.Background()
	b.SetBytes(n / int64(len(texts)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := r.Redact(ctx, texts[i%len(texts)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestPresidioSplit: the held-out and training parts of the presidio set are disjoint,
// cover it, and the held-out part is about 30 % of the records.
func TestPresidioSplit(t *testing.T) {
	dir := testenv.SharedData(t, "pii_presidio_synth")
	recs, err := readPresidio(dir)
	if err != nil {
		t.Fatal(err)
	}
	held, train := 0, 0
	for _, rec := range recs {
		h, tr := SplitHeldOut.takes(rec.FullText), SplitTrain.takes(rec.FullText)
		if h == tr || !SplitAll.takes(rec.FullText) {
			t.Fatalf("record %q: held out %v, train %v", rec.FullText[:20], h, tr)
		}
		if h {
			held++
		} else {
			train++
		}
	}
	if share := float64(held) / float64(len(recs)); share < 0.25 || share > 0.35 {
		t.Errorf("held out %d of %d records (%.2f), want about 0.30", held, len(recs), share)
	}
	_, n, err := EvaluatePresidio(context.Background(), NewRedactor(), dir, SplitHeldOut)
	if err != nil || n != held {
		t.Errorf("EvaluatePresidio on the held-out split scored %d records (%v), want %d", n, err, held)
	}
}

// TestKeepStringsStayReadable: order and tracking numbers, product codes, prices, dates
// and times put into real English and Chinese customer questions are left alone: at most
// 1 % of the messages touched (measured: none of 3 000 per language at this seed).
func TestKeepStringsStayReadable(t *testing.T) {
	dir := filepath.Dir(testenv.SharedData(t, "banking77"))
	res, err := EvaluateKeepStrings(context.Background(), NewRedactor(), dir, 3000, 11)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"en", "zh"} {
		r := res[lang]
		if r.Messages != 3000 || r.Rate > 0.01 {
			t.Errorf("%s: %d of %d messages touched (%v): %q", lang, r.Touched, r.Messages, r.ByKind, r.Examples)
		}
	}
}
