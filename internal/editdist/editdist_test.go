package editdist

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"a b c", "", 3},
		{"", "a b", 2},
		{"the cat sat", "the cat sat", 0},
		{"the cat sat", "the hat sat", 1},
		{"one two three four", "one three four five", 2},
		{"kitten", "sitting sitting", 2},
	} {
		a, b := strings.Fields(tc.a), strings.Fields(tc.b)
		if got := Distance(a, b); got != tc.want {
			t.Errorf("%q → %q: %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Distance(b, a); got != tc.want {
			t.Errorf("%q → %q (swapped): %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
	if got := Distance([]rune("kitten"), []rune("sitting")); got != 3 {
		t.Errorf("kitten/sitting: %d", got)
	}
}
