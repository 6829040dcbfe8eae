package asr

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWER(t *testing.T) {
	tests := []struct {
		name        string
		ref, hyp    string
		rate        float64
		errs, words int
	}{
		{"identical", "go forward ten meters", "go forward ten meters", 0, 0, 4},
		{"case and punctuation", "Go forward, ten meters!", "go forward ten meters", 0, 0, 4},
		{"substitution", "go forward ten meters", "go forward two meters", 0.25, 1, 4},
		{"deletion", "go forward ten meters", "go ten meters", 0.25, 1, 4},
		{"insertion", "go forward ten meters", "go go forward ten meters", 0.25, 1, 4},
		{"all wrong and longer", "yes", "no no", 2, 2, 1},
		{"empty hypothesis", "one two three", "", 1, 3, 3},
		{"empty both", "", "", 0, 0, 0},
		{"empty reference", "", "noise", 1, 1, 0},
		{"apostrophes", "I don’t know", "i don't know", 0, 0, 3},
		{"mixed edits", "and mister john dashwood had then leisure", "and mr john guess what and then at leisure", 5.0 / 7, 5, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rate, errs, words := WER(tt.ref, tt.hyp)
			if diff := cmp.Diff([]any{tt.rate, tt.errs, tt.words}, []any{rate, errs, words}); diff != "" {
				t.Errorf("WER(%q, %q) (-want +got):\n%s", tt.ref, tt.hyp, diff)
			}
		})
	}
}

func TestNormalizeWords(t *testing.T) {
	tests := map[string][]string{
		"Hello, World!":         {"hello", "world"},
		"order #12345-B":        {"order", "12345", "b"},
		"'quoted' rock'n'roll":  {"quoted", "rock'n'roll"},
		"  \t\n":                {},
		"Ünïcode façade, 你好 世界": {"ünïcode", "façade", "你好", "世界"},
	}
	for in, want := range tests {
		if diff := cmp.Diff(want, NormalizeWords(in)); diff != "" {
			t.Errorf("NormalizeWords(%q) (-want +got):\n%s", in, diff)
		}
	}
}

func TestPhraseList(t *testing.T) {
	vocab := map[string]bool{"order": true, "refund": true, "one": true, "two": true, "three": true, "oh": true}
	kept, dropped := PhraseList([]string{"Order 123", "refund", "REFUND!", "zzyzx refund", "", "oh"}, func(w string) bool { return vocab[w] })
	if diff := cmp.Diff([]string{"order one two three", "refund", "oh"}, kept); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"zzyzx refund", ""}, dropped); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "four", "zero", "b"}, PhraseWords("A 40 b")); diff != "" {
		t.Errorf("PhraseWords (-want +got):\n%s", diff)
	}
}
