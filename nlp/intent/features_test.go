package intent

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTokenize(t *testing.T) {
	w := func(s string) token { return token{text: s} }
	c := func(s string) token { return token{text: s, cjk: true} }
	tests := []struct {
		name string
		text string
		want []token
	}{
		{"empty", "", nil},
		{"punctuation only", " ,.!? …", nil},
		{"english lower-cased", "Talk to a HUMAN!", []token{w("talk"), w("to"), w("a"), w("human")}},
		{"inner apostrophe kept", "it hasn't arrived'", []token{w("it"), w("hasn't"), w("arrived")}},
		{"curly apostrophe", "don’t", []token{w("don't")}},
		{"chinese per character", "转人工", []token{c("转"), c("人"), c("工")}},
		{"mixed chinese english digits", "我的iPhone 15坏了，order#A123",
			[]token{c("我"), c("的"), w("iphone"), w("15"), c("坏"), c("了"), w("order"), w("a123")}},
		{"full-width punctuation separates", "你好！hello？", []token{c("你"), c("好"), w("hello")}},
		{"accents stay in words", "Café Zürich", []token{w("café"), w("zürich")}},
		{"emoji separates", "bad😡service", []token{w("bad"), w("service")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tokenize(tt.text)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(token{})); diff != "" {
				t.Errorf("tokenize(%q) mismatch (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestTokenizeBoundsLongInput(t *testing.T) {
	toks := tokenize(strings.Repeat("x", 5000) + " " + strings.Repeat("好", 5000))
	if len(toks) != 1 || len([]rune(toks[0].text)) != maxWordRunes {
		t.Fatalf("long word: got %d tokens, first of %d runes; want 1 of %d", len(toks), len([]rune(toks[0].text)), maxWordRunes)
	}
}

func TestCountTerms(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		wantWord map[string]int
		wantChar map[string]int
	}{
		{
			name: "cjk unigrams and bigrams, no char grams",
			text: "转人工",
			wantWord: map[string]int{
				prefixWord + "转": 1, prefixWord + "人": 1, prefixWord + "工": 1,
				prefixBigram + "转人": 1, prefixBigram + "人工": 1,
			},
			wantChar: map[string]int{},
		},
		{
			name:     "english word bigram joined by space and padded char grams",
			text:     "go go",
			wantWord: map[string]int{prefixWord + "go": 2, prefixBigram + "go go": 1},
			wantChar: map[string]int{
				prefixChar + "<g": 2, prefixChar + "go": 2, prefixChar + "o>": 2,
				prefixChar + "<go": 2, prefixChar + "go>": 2, prefixChar + "<go>": 2,
			},
		},
		{
			name: "mixed bigram across scripts",
			text: "买iphone",
			wantWord: map[string]int{
				prefixWord + "买": 1, prefixWord + "iphone": 1, prefixBigram + "买 iphone": 1,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := countTerms(tt.text)
			if diff := cmp.Diff(tt.wantWord, got.word); diff != "" {
				t.Errorf("word terms mismatch (-want +got):\n%s", diff)
			}
			if tt.wantChar != nil {
				if diff := cmp.Diff(tt.wantChar, got.char); diff != "" {
					t.Errorf("char terms mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}
