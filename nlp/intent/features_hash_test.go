package intent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// sameVectors fails t where vectorize (terms by hash) and vectorizeStrings
// (terms as strings) differ for a text: the same indices, and values equal
// up to float rounding (each sums its norm in map order).
func sameVectors(t *testing.T, v *vectorizer, texts []string) {
	t.Helper()
	if v.byHash == nil {
		t.Fatal("the vocabulary has no hash index")
	}
	for _, text := range texts {
		got, want := v.vectorize(text), v.vectorizeStrings(text)
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(sparse{}), cmpopts.EquateApprox(0, 1e-6)); diff != "" {
			t.Fatalf("vectorize(%.40q) (-strings +hashes):\n%s", text, diff)
		}
	}
}

func TestHashedFeaturesMatchStrings(t *testing.T) {
	c := trainEscalation(t, Options{Seed: 1})
	texts := append([]string{"Refund, please!", "don't  stop", "it's'", "ÉCOLE école", "a\u0301b", "我要 refund 退款",
		strings.Repeat("x", 100), "ab好cd", "<w>", "b\x00c"}, probeTexts...)
	sameVectors(t, c.vec, texts)
	// a model read back from its file gets its hash index too
	var b strings.Builder
	if err := c.Save(&b); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	sameVectors(t, loaded.vec, texts)
}

func TestHashedFeaturesMatchStringsBanking77(t *testing.T) {
	train, test, err := LoadBanking77(testenv.SharedData(t, "banking77"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Train(context.Background(), train, Options{})
	if err != nil {
		t.Fatal(err)
	}
	texts := make([]string, len(test))
	for i, e := range test {
		texts[i] = e.Text
	}
	sameVectors(t, c.vec, texts)
}

// banking77 is a model of BANKING77's training set and its test examples, trained
// once per test binary (benchmarks run with -count share it).
var banking77 struct {
	once  sync.Once
	model *Classifier
	test  []Example
	err   error
}

func banking77Model(dir string) (*Classifier, []Example, error) {
	banking77.once.Do(func() {
		var train []Example
		if train, banking77.test, banking77.err = LoadBanking77(dir); banking77.err == nil {
			banking77.model, banking77.err = Train(context.Background(), train, Options{})
		}
	})
	return banking77.model, banking77.test, banking77.err
}

// BenchmarkVectorize compares the two ways of looking a text's terms up, in one
// run, alternating four times: strings/hashes is the ratio to quote.
func BenchmarkVectorize(b *testing.B) {
	c, test, err := banking77Model(testenv.SharedData(b, "banking77"))
	if err != nil {
		b.Fatal(err)
	}
	for round := range 4 { // alternated, so a drift of the machine's speed hits both
		for _, bc := range []struct {
			name string
			fn   func(string) sparse
		}{{"strings", c.vec.vectorizeStrings}, {"hashes", c.vec.vectorize}} {
			b.Run(fmt.Sprintf("%s/%d", bc.name, round), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					bc.fn(test[i%len(test)].Text)
					i++
				}
			})
		}
	}
}
