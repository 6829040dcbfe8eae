package flow

import (
	"context"
	"testing"

	"github.com/switchboard-cs/switchboard/nlp/intent"
)

func TestNLPUnderstanderBothLanguages(t *testing.T) {
	esc, err := intent.EscalationModel(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u := NLPUnderstander{Escalation: esc}
	for _, tc := range []struct {
		text            string
		lang            string
		human, frustrat bool
	}{
		{"我要投诉，转人工", "zh", true, false},
		{"talk to a human", "en", true, false},
		{"how long does a refund take?", "en", false, false},
		{"退款多久到账？", "zh", false, false},
	} {
		got, err := u.Understand(context.Background(), tc.text)
		if err != nil {
			t.Fatal(err)
		}
		if got.Language != tc.lang || got.WantsHuman != tc.human {
			t.Errorf("%q: %+v, want language %s, wants human %v", tc.text, got, tc.lang, tc.human)
		}
	}
}
