package asr

import "testing"

func TestSpokenDigits(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"my order number is one two three four five", "my order number is 12345"},
		{"call me on one three eight oh oh one three eight zero zero zero", "call me on 13800138000"},
		{"one more thing", "one more thing"},
		{"oh oh that hurts", "oh oh that hurts"},
		{"two", "two"},
		{"nine eight and seven six", "98 and 76"},
		{"", ""},
		{"  spaced   out  ", "spaced out"},
	} {
		if got := SpokenDigits(tt.in); got != tt.want {
			t.Errorf("SpokenDigits(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
