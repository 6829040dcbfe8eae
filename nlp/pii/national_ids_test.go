package pii

import "testing"

func TestNationalIDChecks(t *testing.T) {
	for _, tt := range []struct {
		id    string
		check func(string) bool
		want  bool
	}{
		{"A1234563", validHKID, true}, // A123456(3)
		{"A1234564", validHKID, false},
		{"C668668E", validHKID, false},
		{"A123456789", validTaiwanID, true},
		{"A123456788", validTaiwanID, false},
		{"A323456789", validTaiwanID, false}, // the second digit is 1 or 2
		{"S1234567D", validNRIC, true},
		{"S1234567E", validNRIC, false},
		{"T1234567J", validNRIC, true},
		{"AB123456C", validNINO, true},
		{"AB123456E", validNINO, false},
		{"GB123456A", validNINO, false},
		{"DA123456A", validNINO, false},
	} {
		if got := tt.check(tt.id); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.id, got, tt.want)
		}
	}
	// one check character of the eleven fits a Hong Kong number
	for _, prefix := range []string{"A123456", "AB987654", "Z000001"} {
		n := 0
		for _, c := range "0123456789A" {
			if validHKID(prefix + string(c)) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d check characters fit, want 1", prefix, n)
		}
	}
}

// TestNationalIDs: identity numbers of Hong Kong, Taiwan, Singapore and the UK are
// redacted after an identity cue (a Hong Kong number also in its own notation with the
// check digit in parentheses); the same shapes as product codes stay.
func TestNationalIDs(t *testing.T) {
	redactsTo(t, NewRedactor(), []redaction{
		{"香港身份證 A123456(3)", "香港身份證 [NATIONAL_ID_1]"},
		{"my ID is A123456(3), thanks", "my ID is [NATIONAL_ID_1], thanks"},
		{"身分證字號 A123456789", "身分證字號 [NATIONAL_ID_1]"},
		{"NRIC S1234567D", "NRIC [NATIONAL_ID_1]"},
		{"my national insurance number is AB123456C", "my national insurance number is [NATIONAL_ID_1]"},
		{"item A1234563 is out of stock", "item A1234563 is out of stock"},
		{"SKU S1234567D restocked", "SKU S1234567D restocked"},
		{"身分證字號 A123456788", "身分證字號 A123456788"}, // wrong check digit
	})
}
