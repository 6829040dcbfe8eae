package flow

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRenumberPlaceholders(t *testing.T) {
	for _, tt := range []struct {
		transcript, stored, want string
		subst                    map[string]string
	}{
		{"call [PHONE_1]", "[voice message: transcribing]", "call [PHONE_1]", map[string]string{"[PHONE_1]": "[PHONE_1]"}},
		{"call [PHONE_1] or [PHONE_2], mail [EMAIL_1]", "at [PHONE_1] or [EMAIL_3]\n[voice message: transcribing]",
			"call [PHONE_2] or [PHONE_3], mail [EMAIL_4]", map[string]string{"[PHONE_1]": "[PHONE_2]", "[PHONE_2]": "[PHONE_3]", "[EMAIL_1]": "[EMAIL_4]"}},
		{"id [ID_CARD_1]", "[ID_CARD_1]", "id [ID_CARD_2]", map[string]string{"[ID_CARD_1]": "[ID_CARD_2]"}},
		{"no pii", "[PHONE_9]", "no pii", map[string]string{}},
	} {
		got, subst := renumber(tt.transcript, tt.stored)
		if got != tt.want || !cmp.Equal(subst, tt.subst) {
			t.Errorf("renumber(%q, %q) = %q %v, want %q %v", tt.transcript, tt.stored, got, subst, tt.want, tt.subst)
		}
	}
}
