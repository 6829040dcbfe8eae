package ner

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTokenize(t *testing.T) {
	text := "Mr. O'Neil-Smith lives at 12B Main St.\n浙江省杭州市 100号"
	var got []string
	for _, tk := range tokenize(text) {
		got = append(got, text[tk.start:tk.end])
	}
	want := []string{"Mr", ".", "O'Neil-Smith", "lives", "at", "12", "B", "Main", "St", ".", "\n",
		"浙", "江", "省", "杭", "州", "市", "100", "号"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tokens (-want +got):\n%s", diff)
	}
}

// toyExamples are names after "I am" and "call", and addresses after "at", with
// sentences of neither.
func toyExamples() []Example {
	var exs []Example
	names := []string{"Anna Berg", "Carl Dahl", "Eva Frost", "Gus Hale", "Ida Jung", "Kai Lund", "Mia Nord", "Ola Pike"}
	streets := []string{"12 Oak Road", "7 Elm Street", "99 Pine Lane", "3 Ash Road", "45 Birch Street", "8 Fir Lane"}
	for i, n := range names {
		s := streets[i%len(streets)]
		text := "I am " + n + " and I live at " + s + " now"
		ns, ss := strings.Index(text, n), strings.Index(text, s)
		exs = append(exs, Example{Text: text, Entities: []Entity{{"PERSON", ns, ns + len(n)}, {"ADDRESS", ss, ss + len(s)}}},
			Example{Text: "please call " + n, Entities: []Entity{{"PERSON", 12, 12 + len(n)}}},
			Example{Text: "my card was charged twice on Monday"},
			Example{Text: "where is the Refund I was promised"})
	}
	return exs
}

// TestTrainLearnsNamesAndAddresses trains on the toy set and tags a sentence with a name
// and a street it never saw: the features (shapes, neighbours) carry over.
func TestTrainLearnsNamesAndAddresses(t *testing.T) {
	m, err := Train(context.Background(), []string{"PERSON", "ADDRESS"}, toyExamples(), TrainOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	text := "I am Zoe Quinn and I live at 21 Maple Road now"
	want := []Entity{{"PERSON", 5, 14}, {"ADDRESS", 29, 42}}
	if diff := cmp.Diff(want, m.Entities(text)); diff != "" {
		t.Errorf("entities (-want +got):\n%s", diff)
	}
	if got := m.Entities("my card was charged twice on Monday"); len(got) != 0 {
		t.Errorf("a sentence of neither: %+v", got)
	}
	if m.Info.Examples != len(toyExamples()) || m.Info.Features == 0 {
		t.Errorf("info %+v", m.Info)
	}
}

// TestUntrainedFindsNothing: a model trained on texts without entities tags nothing
// (the test of the test: the entities above come from training).
func TestUntrainedFindsNothing(t *testing.T) {
	m, err := Train(context.Background(), []string{"PERSON"}, []Example{{Text: "hello there"}, {Text: "I am Zoe Quinn"}}, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Entities("I am Zoe Quinn and I live at 21 Maple Road now"); len(got) != 0 {
		t.Errorf("entities %+v", got)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m, err := Train(context.Background(), []string{"PERSON", "ADDRESS"}, toyExamples(), TrainOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	text := "I am Zoe Quinn and I live at 21 Maple Road now"
	if diff := cmp.Diff(m.Entities(text), back.Entities(text)); diff != "" || back.Info.Features != m.Info.Features {
		t.Errorf("read back differs (-saved +read):\n%s", diff)
	}
	if _, err := Read(strings.NewReader("SBNER002 an older version")); !errors.Is(err, ErrFormat) {
		t.Errorf("another format: %v", err)
	}
	buf.Truncate(buf.Len() / 2)
	if _, err := Read(bytes.NewReader(buf.Bytes())); !errors.Is(err, ErrFormat) {
		t.Errorf("a truncated file: %v", err)
	}
}

// TestDecodeNeverStartsInside: an I tag only follows its own B or I, whatever the
// scores say.
func TestDecodeNeverStartsInside(t *testing.T) {
	m := &Model{types: []string{"A", "B"}, index: map[uint64]int32{}, trans: make([]float32, 6*5)}
	toks := tokenize("x y z")
	// emission scores favour I-A (tag 2) everywhere and I-B (tag 4) in the middle
	tags := m.decode(toks, func(i int, out []float32, f []uint64) []uint64 {
		out[2] = 5
		if i == 1 {
			out[4] = 9
		}
		return f
	})
	for i, tg := range tags {
		prev := -1
		if i > 0 {
			prev = tags[i-1]
		}
		if !allowed(prev, tg) {
			t.Fatalf("tags %v: %d after %d", tags, tg, prev)
		}
	}
}

func TestTrainErrors(t *testing.T) {
	if _, err := Train(context.Background(), nil, toyExamples(), TrainOptions{}); err == nil {
		t.Error("no types: want an error")
	}
	if _, err := Train(context.Background(), []string{"PERSON"}, []Example{{Text: "  "}}, TrainOptions{}); err == nil {
		t.Error("no tokens: want an error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, []string{"PERSON"}, toyExamples(), TrainOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestTableFindsWhatTheIndexHolds: every feature of the index adds its row's weights,
// and features not in it (0 among them) add nothing.
func TestTableFindsWhatTheIndexHolds(t *testing.T) {
	index := map[uint64]int32{0: 0, 17: 1}
	for i := range 1000 {
		index[uint64(i)*0x9e3779b97f4a7c15+3] = int32(2 + i)
	}
	const nt = 3
	weights := make([]float32, nt*len(index))
	for row := range len(index) {
		weights[row*nt], weights[row*nt+1], weights[row*nt+2] = float32(row), -float32(row), 0.5
	}
	tb := newTable(index, weights, nt)
	for k, row := range index {
		out := []float32{1, 1, 1}
		tb.add(k, out)
		if want := []float32{1 + float32(row), 1 - float32(row), 1.5}; !slices.Equal(out, want) {
			t.Fatalf("feature %d: %v, want %v", k, out, want)
		}
	}
	for _, k := range []uint64{2, 4, 1 << 60} {
		out := []float32{1, 1, 1}
		if tb.add(k, out); !slices.Equal(out, []float32{1, 1, 1}) {
			t.Errorf("feature %d added %v, not in the index", k, out)
		}
	}
	var empty table
	out := []float32{0, 0, 0}
	if empty.add(5, out); !slices.Equal(out, []float32{0, 0, 0}) {
		t.Error("an empty table added weights")
	}
}

// TestASCIIHashesAreTheUnicodeOnes: the one-pass hashes of an ASCII token are the ones
// the general path gives, and a word's first and last runes are cut on rune boundaries.
func TestASCIIHashesAreTheUnicodeOnes(t *testing.T) {
	for _, w := range []string{"O'Neil-Smith", "Main", "12B", "x", "AAAbbb99", "", "#", "McDONALD's"} {
		lower, shape := asciiLowerShape(w)
		if lower != addLower(fnvOffset, w) || shape != addShape(fnvOffset, w) {
			t.Errorf("%q: ASCII path differs", w)
		}
	}
	for _, c := range []struct {
		w          string
		first3     string
		last3, two string
	}{{"Zoë-Ève", "Zoë", "Ève", "ve"}, {"Straße", "Str", "aße", "ße"}, {"abcd", "abc", "bcd", "cd"}} {
		if got := c.w[:runeOffset(c.w, 3)]; got != c.first3 {
			t.Errorf("%q first three %q, want %q", c.w, got, c.first3)
		}
		if got := c.w[lastRunesOffset(c.w, 3):]; got != c.last3 {
			t.Errorf("%q last three %q, want %q", c.w, got, c.last3)
		}
		if got := c.w[lastRunesOffset(c.w, 2):]; got != c.two {
			t.Errorf("%q last two %q, want %q", c.w, got, c.two)
		}
	}
}
