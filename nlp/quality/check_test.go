package quality

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/nlp/pii"
)

func checksOf(r Result) []Check {
	var cs []Check
	for _, f := range r.Findings {
		if len(cs) == 0 || cs[len(cs)-1] != f.Check {
			cs = append(cs, f.Check)
		}
	}
	return cs
}

func TestCheckFindsWhatTheRulesSay(t *testing.T) {
	c := NewChecker(DefaultRules(), pii.NewRedactor())
	tests := []struct {
		name  string
		reply Reply
		want  []Check
		score int
	}{
		{"a first reply that greets", Reply{"Hello Maria, thanks for reaching out! Let me check that order.", First}, nil, 100},
		{"a first reply that does not", Reply{"Order 88231 shipped yesterday.", First}, []Check{MissingGreeting}, 90},
		{"'hi' inside a word is no greeting", Reply{"This is shipped.", First}, []Check{MissingGreeting}, 90},
		{"a middle reply needs neither", Reply{"Order 88231 shipped yesterday.", Middle}, nil, 100},
		{"a last reply that closes", Reply{"Done! Is there anything else I can help with?", Last}, nil, 100},
		{"a last reply that does not", Reply{"Done.", Last}, []Check{MissingClosing}, 90},
		{"a conversation's only reply needs both", Reply{"Refunded.", Only}, []Check{MissingGreeting, MissingClosing}, 80},
		{"empathy adds, within 100", Reply{"I'm so sorry for the trouble, I understand how frustrating this is.", Middle}, []Check{Empathy}, 100},
		{"a promise", Reply{"I guarantee it will arrive tomorrow.", Middle}, []Check{Promise}, 80},
		{"a negated promise is none", Reply{"I can't guarantee a date, but it usually takes 3-5 days.", Middle}, nil, 100},
		{"a negation in another clause does not count", Reply{"No worries, I promise you'll get it Friday.", Middle}, []Check{Promise}, 80},
		{"rude", Reply{"Like I said, read the FAQ.", Middle}, []Check{Rude}, 60},
		{"a customer's phone typed out", Reply{"I'll call you back on 13812345678.", Middle}, []Check{PII}, 70},
		{"a masked card is fine", Reply{"The card ending 4821 was charged.", Middle}, nil, 100},
		{"too short", Reply{"k", Middle}, []Check{TooShort}, 95},
		{"zh: greeting and empathy", Reply{"亲，您好！给您带来不便非常抱歉，马上为您处理。", First}, []Check{Empathy}, 100},
		{"zh: no greeting", Reply{"订单已经发出了。", First}, []Check{MissingGreeting}, 90},
		{"zh: closing", Reply{"好的，还有其他可以帮您的吗？祝您生活愉快！", Last}, nil, 100},
		{"zh: promise", Reply{"您放心，明天一定到。", Middle}, []Check{Promise}, 80},
		{"zh: a negated promise", Reply{"这个我们无法保证，一般三到五天送达。", Middle}, nil, 100},
		{"zh: rude", Reply{"你自己看说明书，这都不会吗？", Middle}, []Check{Rude}, 60},
		{"zh: an ID number typed out", Reply{"您的身份证号110101199003071233已登记。", Middle}, []Check{PII}, 70},
		{"zh: a masked phone is fine", Reply{"已发送到您尾号5678的手机138****5678。", Middle}, nil, 100},
		{"many faults at once: the score stops at 0", Reply{"Your problem. I guarantee nothing changes. Mail me at bob.smith@example.com, idiot", Only},
			[]Check{MissingGreeting, MissingClosing, Promise, Rude, PII}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Check(context.Background(), tc.reply)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, checksOf(res)); diff != "" || res.Score != tc.score {
				t.Errorf("Check(%q): score %d (want %d), checks (-want +got):\n%s%+v", tc.reply.Text, res.Score, tc.score, diff, res.Findings)
			}
		})
	}
}

// TestFindingsPointAtTheirCue: a reviewer sees what made a check fire.
func TestFindingsPointAtTheirCue(t *testing.T) {
	text := "Sure. I PROMISE it’s fixed, and I’m sorry for the wait — 给您带来不便深表歉意。"
	res, err := NewChecker(DefaultRules(), nil).Check(context.Background(), Reply{text, Middle})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, string(f.Check)+":"+text[f.Start:f.End])
	}
	want := []string{"empathy:sorry for the", "empathy:给您带来", "empathy:不便", "empathy:歉意", "promise:I PROMISE"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestParseRuleSet(t *testing.T) {
	set, err := ParseRuleSet([]byte(`
default:
  forbidden: {en: [acme corp], zh: [竞品]}
  weights: {forbidden: 50}
groups:
  vip:
    max_runes: 300
    greeting: {en: [dear], zh: [尊敬的]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := set.For("billing").Forbidden.EN; !cmp.Equal(got, []string{"acme corp"}) {
		t.Errorf("billing (the default set) forbids %v", got)
	}
	if set.For("billing").Weights[Forbidden] != 50 || set.For("billing").Weights[Rude] != 40 {
		t.Errorf("default weights %v: the YAML's replace their checks', the rest stay", set.For("billing").Weights)
	}
	vip := set.For("vip")
	if vip.MaxRunes != 300 || !cmp.Equal(vip.Greeting.ZH, []string{"尊敬的"}) || len(vip.Rude.EN) == 0 || len(vip.Forbidden.EN) != 0 {
		t.Errorf("vip: %d runes, greeting %v, %d rude cues, forbidden %v; want its own greeting over the built-in rules", vip.MaxRunes, vip.Greeting.ZH, len(vip.Rude.EN), vip.Forbidden.EN)
	}
	res, _ := NewChecker(vip, nil).Check(context.Background(), Reply{"Dear Mr. Chan, your card is on its way.", First})
	if res.Has(MissingGreeting) {
		t.Errorf("a group's greeting cue was not used: %+v", res.Findings)
	}
	for _, bad := range []struct{ yaml, want string }{
		{"default: {weights: {politeness: 5}}", "unknown check"},
		{"default: {colour: red}", "field colour not found"},
		{"groups: {x: {rude: {en: ['  ']}}}", "empty cue"},
		{"default: {min_runes: 10, max_runes: 5}", "want 0 ≤ min ≤ max"},
	} {
		if _, err := ParseRuleSet([]byte(bad.yaml)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseRuleSet(%s) = %v, want an error with %q", bad.yaml, err, bad.want)
		}
	}
}
