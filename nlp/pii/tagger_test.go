package pii

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/nlp/ner"
)

// fixedTagger tags the given substrings of any text.
type fixedTagger map[string]string // value → type

func (f fixedTagger) Entities(text string) []ner.Entity {
	var out []ner.Entity
	for v, typ := range f {
		if i := strings.Index(text, v); i >= 0 {
			out = append(out, ner.Entity{Type: typ, Start: i, End: i + len(v)})
		}
	}
	return out
}

// TestTaggedSpansAreChecked: the tagger's names and addresses join the cues' and are
// checked the way a customer's text needs — a date, a tracking number or a lone label is
// no address, a validated number inside a tagged span still wins, and a bare number
// counts only beside a real address.
func TestTaggedSpansAreChecked(t *testing.T) {
	tests := []struct {
		name   string
		tagger fixedTagger
		in     string
		want   string
	}{
		{"name and address", fixedTagger{"Zoe Quinn": TypePerson, "21 Maple Grove": TypeAddress},
			"I am Zoe Quinn of 21 Maple Grove", "I am [PERSON_1] of [ADDRESS_1]"},
		{"a date is no address", fixedTagger{"May 24": TypeAddress}, "on May 24, 2022 it broke", "on May 24, 2022 it broke"},
		{"a tracking number is no address", fixedTagger{"快递单号SF0722790027": TypeAddress}, "快递单号SF0722790027，到哪了", "快递单号SF0722790027，到哪了"},
		{"a labelled number is no address", fixedTagger{"6222043687720631": TypeAddress}, "订单号 6222043687720631", "订单号 6222043687720631"},
		{"an amount is no address", fixedTagger{"共计32428元菜市场": TypeAddress}, "在共计32428元菜市场里", "在共计32428元菜市场里"},
		{"Chinese address", fixedTagger{"杭州市西湖区文三路100号": TypeAddress}, "寄到杭州市西湖区文三路100号吧", "寄到[ADDRESS_1]吧"},
		{"the card inside wins, the label left over goes", fixedTagger{"卡号6225-8835-7469-9083": TypeAddress},
			"瘦是 卡号6225-8835-7469-9083 瘦", "瘦是 卡号[BANK_CARD_1] 瘦"},
		{"a postcode beside an address", fixedTagger{"12 Elm Road": TypeAddress, "10115": TypeAddress},
			"12 Elm Road\nBerlin 10115", "[ADDRESS_1]\nBerlin [ADDRESS_2]"},
		{"a bare number alone", fixedTagger{"10115": TypeAddress}, "code 10115 please", "code 10115 please"},
		{"a name without letters", fixedTagger{"123": TypePerson}, "ask 123 now", "ask 123 now"},
		{"a sign-off is no name", fixedTagger{"Thanks": TypePerson, "Customer Service": TypePerson},
			"Thanks, best regards, Customer Service", "Thanks, best regards, Customer Service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := NewRedactor(WithTagger(tt.tagger)).Redact(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, res.Text); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if res, _ := NewRedactor(WithTagger(nil)).Redact(context.Background(), "of 21 Maple Grove"); res.Text != "of 21 Maple Grove" {
		t.Errorf("no tagger: %q", res.Text)
	}
}

// seenTagger records the texts it is given.
type seenTagger struct{ seen *[]string }

func (s seenTagger) Entities(text string) []ner.Entity {
	*s.seen = append(*s.seen, text)
	if i := strings.Index(text, "Zoe Quinn"); i >= 0 {
		return []ner.Entity{{Type: TypePerson, Start: i, End: i + len("Zoe Quinn")}}
	}
	return nil
}

// TestTaggerSkipsValidatedSpans: the tagger reads the stretches between validated spans
// that hold letters, and its entities land at their offsets in the whole text.
func TestTaggerSkipsValidatedSpans(t *testing.T) {
	var seen []string
	in := "mail zoe@example.com or call +1 415-555-0100, card 4111 1111 1111 1111 / 6011 0009 9013 9424, Zoe Quinn here"
	res, err := NewRedactor(WithTagger(seenTagger{&seen})).Redact(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if want := "mail [EMAIL_1] or call [PHONE_1], card [BANK_CARD_1] / [BANK_CARD_2], [PERSON_1] here"; res.Text != want {
		t.Errorf("got %q, want %q", res.Text, want)
	}
	if want := []string{"mail ", " or call ", ", card ", ", Zoe Quinn here"}; !cmp.Equal(seen, want) {
		t.Errorf("tagged %q, want %q", seen, want)
	}
}

// TestTaggerTrainingSetLeavesOutWhatIsReported: the tagger's training text holds the
// presidio set's training part and never a held-out record, nor the test splits the
// eval reports on; it holds plain text of both languages.
func TestTaggerTrainingSetLeavesOutWhatIsReported(t *testing.T) {
	dir := testenv.SharedData(t, "")
	exs, sets, err := TaggerTrainingSet(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := readPresidio(dir + "/pii_presidio_synth")
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]bool{}
	for _, r := range recs {
		if heldOut(r.FullText) {
			held[r.FullText] = true
		}
	}
	test, err := ChineseAddressExamples(dir+"/zh_address_parsing", "test.txt")
	if err != nil {
		t.Fatal(err)
	}
	testText := map[string]bool{}
	for _, ex := range test {
		testText[ex.Text] = true
	}
	plain, presidio := 0, 0
	for _, ex := range exs {
		if held[ex.Text] {
			t.Fatalf("a held-out record is in the training text: %q", ex.Text)
		}
		if testText[ex.Text] && len(ex.Entities) > 0 {
			t.Fatalf("a zh_address_parsing test query is in the training text: %q", ex.Text)
		}
		if len(ex.Entities) == 0 {
			plain++
		}
		if !held[ex.Text] && len(ex.Entities) > 0 && strings.ContainsAny(ex.Text, "abcdefghijklmnopqrstuvwxyz") {
			presidio++
		}
	}
	if plain == 0 || presidio == 0 || len(sets) < 5 {
		t.Errorf("%d plain texts, %d English labelled ones, sets %v", plain, presidio, sets)
	}
}

// TestStreetMatchesIsTheExpression: the cheap test before enStreetRe never skips a
// text the expression matches (every record of the presidio set and a few by hand).
func TestStreetMatchesIsTheExpression(t *testing.T) {
	texts := []string{"12 Main St.", "12 Main Stx", "at 99 Elm Road, Apt 4", "no street 12 here", "7 Ocean Boulevard"}
	if dir := testenv.SharedData(t, "pii_presidio_synth"); dir != "" {
		recs, err := readPresidio(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			texts = append(texts, r.FullText)
		}
	}
	matched := 0
	for _, s := range texts {
		want := enStreetRe.FindAllStringIndex(s, -1)
		if diff := cmp.Diff(want, streetMatches(s)); diff != "" {
			t.Fatalf("%q (-expression +streetMatches):\n%s", s, diff)
		}
		if len(want) > 0 {
			matched++
		}
	}
	if matched < 3 {
		t.Errorf("only %d texts matched: the test says nothing", matched)
	}
}
