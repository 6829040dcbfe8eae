package asr

import "strings"

var spokenDigit = map[string]byte{"zero": '0', "oh": '0', "one": '1', "two": '2', "three": '3', "four": '4',
	"five": '5', "six": '6', "seven": '7', "eight": '8', "nine": '9'}

// SpokenDigits writes runs of two or more spoken digits as one number ("my order is one
// two three four five" → "my order is 12345"), so that order numbers stay searchable
// and phone and card numbers read aloud are caught by PII redaction like typed ones.
// "oh" counts as zero only inside a run with another digit; single digit words stay
// words ("one more thing").
func SpokenDigits(text string) string {
	words := strings.Fields(text)
	var out []string
	for i := 0; i < len(words); {
		j, real := i, 0
		for j < len(words) {
			w := strings.ToLower(words[j])
			if _, ok := spokenDigit[w]; !ok {
				break
			}
			if w != "oh" {
				real++
			}
			j++
		}
		if j-i >= 2 && real > 0 {
			num := make([]byte, 0, j-i)
			for _, w := range words[i:j] {
				num = append(num, spokenDigit[strings.ToLower(w)])
			}
			out = append(out, string(num))
			i = j
			continue
		}
		if j == i {
			j = i + 1
		}
		out = append(out, words[i:j]...)
		i = j
	}
	return strings.Join(out, " ")
}
