package kb

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTokens(t *testing.T) {
	tests := []struct {
		name string
		stop bool
		in   string
		want []string
	}{
		{"english lower-cased, stop-words dropped", true, "Where is MY Card?", []string{"where", "card"}},
		{"english kept without stop-word list", false, "the cards", []string{"the", "card"}},
		{"plural folding", true, "fees policies glass bus", []string{"fee", "policy", "glass", "bus"}},
		{"apostrophe inside a word", true, "card's PIN isn't working", []string{"card's", "pin", "isn't", "working"}},
		{"digits are words", true, "top up 100 EUR", []string{"top", "up", "100", "eur"}},
		{"chinese unigrams and bigrams", true, "我要投诉", []string{"我", "要", "我要", "投", "要投", "诉", "投诉"}},
		{"mixed zh and en", true, "我的card丢了!", []string{"我", "的", "我的", "card", "丢", "了", "丢了"}},
		{"chinese punctuation splits runs", true, "转人工，谢谢", []string{"转", "人", "转人", "工", "人工", "谢", "谢", "谢谢"}},
		{"japanese kana", true, "カード", []string{"カ", "ー", "カー", "ド", "ード"}},
		{"only punctuation", true, "?!，。", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := NewLexicalEmbedder()
			e.StopWords = tc.stop
			if diff := cmp.Diff(tc.want, e.Tokens(tc.in)); diff != "" {
				t.Errorf("Tokens(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestEmbedderVectors(t *testing.T) {
	e := NewLexicalEmbedder()
	q := e.Query("card card 卡 卡")
	if len(q.Indices) != 2 || q.Values[0] != 1 || q.Values[1] != 1 {
		t.Fatalf("Query weights = %+v, want two terms of weight 1", q)
	}
	if !slices.IsSorted(q.Indices) {
		t.Errorf("Query indices not sorted: %v", q.Indices)
	}
	one := e.Document("card lost")
	two := e.Document("card card lost")
	long := e.Document("card lost " + repeatWords("filler", 100))
	w := func(v SparseVector, term string) float32 {
		i, ok := slices.BinarySearch(v.Indices, termID(term))
		if !ok {
			t.Fatalf("term %q missing from %v", term, v)
		}
		return v.Values[i]
	}
	if !(w(two, "card") > w(one, "card")) {
		t.Errorf("tf 2 weight %v not above tf 1 weight %v", w(two, "card"), w(one, "card"))
	}
	if !(w(two, "card") < 2*w(one, "card")) {
		t.Errorf("tf not saturating: %v vs %v", w(two, "card"), w(one, "card"))
	}
	if !(w(long, "card") < w(one, "card")) {
		t.Errorf("long document weight %v not below short %v", w(long, "card"), w(one, "card"))
	}
	if max := float32(DefaultK1 + 1); w(two, "card") > max {
		t.Errorf("weight %v above k1+1", w(two, "card"))
	}
}

func repeatWords(w string, n int) string {
	out := make([]byte, 0, n*(len(w)+1))
	for i := 0; i < n; i++ {
		out = append(out, w...)
		out = append(out, ' ')
	}
	return string(out)
}
