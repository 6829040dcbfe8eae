package tickets

import "testing"

// TestRatingRe: what a customer types as a rating, and what is no rating.
func TestRatingRe(t *testing.T) {
	for text, want := range map[string]string{
		"5": "5|", " 4/5 ": "4|", "5分": "5|", "4分，很快": "4|很快", "3 stars, slow but kind": "3|slow but kind",
		"1 - never again": "1|never again", "5星 非常满意": "5|非常满意", "2: too slow": "2|too slow",
		"6": "", "15": "", "0": "", "five": "", "how do I pay": "", "": "",
	} {
		got := ""
		if m := ratingRe.FindStringSubmatch(text); m != nil {
			got = m[1] + "|" + m[2]
		}
		if got != want {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
	}
}
