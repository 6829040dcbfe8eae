package pii

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/nlp/ner"
)

func TestValidators(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) bool
		in   string
		want bool
	}{
		{"id X", validIDCard, "11010519491231002X", true},
		{"id digit", validIDCard, "440301199003071230", true},
		{"id wrong check", validIDCard, "110105194912310021", false},
		{"id lower x not normalized", validIDCard, "11010519491231002x", false},
		{"id region 0", validIDCard, "010105194912310026", false},
		{"id feb 29 leap", validIDCard, "110105200002290013", true},
		{"id feb 29 non-leap", validIDCard, "110105190002290017", false},
		{"id year 1899", validIDCard, "110105189912310023", false},
		{"id 17 digits", validIDCard, "11010519491231002", false},
		{"luhn ok", validLuhn, "79927398713", true},
		{"luhn bad", validLuhn, "79927398710", false},
		{"luhn non digit", validLuhn, "7992739871X", false},
		{"card unionpay 19", validBankCard, "6222020200112233446", true},
		{"card visa 16", validBankCard, "4111111111111111", true},
		{"card mastercard 2-series", validBankCard, "2221000000000009", true},
		{"card year prefix", validBankCard, "2023112300012343", false},
		{"card starts 1", validBankCard, "1000000000000008", false},
		{"card 15 digits", validBankCard, "378282246310005", false},
		{"card 20 digits", validBankCard, "62220202001122334460", false},
		{"international uk", validInternational, "442079460958", true},
		{"international 7 digits", validInternational, "4420794", false},
		{"international 16 digits", validInternational, "4420794609581234", false},
		{"international leading 0", validInternational, "0442079460", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fn(tt.in); got != tt.want {
				t.Errorf("(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestCNMobile(t *testing.T) {
	tests := []struct {
		digits string
		plus   bool
		want   string // "" for not a mobile
	}{
		{"13812345678", false, "13812345678"},
		{"8613812345678", true, "13812345678"},
		{"8613812345678", false, "13812345678"},
		{"008613812345678", false, "13812345678"},
		{"13812345678", true, ""}, // +1 381…: not Chinese
		{"12812345678", false, ""},
		{"1381234567", false, ""},
		{"0013812345678", false, ""},
	}
	for _, tt := range tests {
		got, ok := cnMobile(tt.digits, tt.plus)
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("cnMobile(%q, %v) = %q, %v; want %q", tt.digits, tt.plus, got, ok, tt.want)
		}
	}
}

func TestCNLandline(t *testing.T) {
	tests := []struct {
		area, sub string
		want      bool
	}{
		{"010", "62345678", true},
		{"021", "5234567", true},
		{"0755", "88889999", true},
		{"011", "62345678", false},  // no such area code
		{"0210", "62345678", false}, // 02x codes are three digits
		{"010", "12345678", false},  // subscriber numbers start 2–9
		{"010", "623456", false},
		{"755", "88889999", false},
	}
	for _, tt := range tests {
		if got := cnLandline(tt.area, tt.sub); got != tt.want {
			t.Errorf("cnLandline(%q, %q) = %v, want %v", tt.area, tt.sub, got, tt.want)
		}
	}
}

// TestRedactIsLinear guards the bounded per-run search against long digit runs.
func TestRedactIsLinear(t *testing.T) {
	inputs := []string{
		strings.Repeat("1 ", 50000),
		strings.Repeat("9", 100000),
		strings.Repeat("a@", 50000),
		strings.Repeat("1.", 50000),
		strings.Repeat("f:", 50000),
	}
	r := NewRedactor()
	for _, in := range inputs {
		start := time.Now()
		if _, err := r.Redact(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Redact of %q… took %v", in[:8], d)
		}
	}
}

// FuzzRedact checks structural invariants on arbitrary input, with the cues alone and
// with a name and address tagger: spans are in bounds, sorted and disjoint, and replacing
// them in the input gives exactly Result.Text.
func FuzzRedact(f *testing.F) {
	for _, seed := range []string{
		"手机13812345678谢谢", "+86 138-1234-5678", "11010519491231002X", "6222 0202 0011 2233 446",
		"a@b.cn", "192.168.1.1", "fe80::1", "(010) 6234-5678", "+", "X", "１３８", "\xff\xfe13812345678",
		"Fax: 259.735.7502x459", "https://x.io/r?token=abcd1234&u=a@b.cn", "born on 12/03/1985", "身份證 A123456(3)",
		"I am Zoe Quinn and I live at 21 Maple Road now", "寄到杭州市西湖区文三路100号", "订单编号 2716 6985 7364",
	} {
		f.Add(seed)
	}
	tagger, err := ner.Train(context.Background(), TaggerTypes, []ner.Example{
		{Text: "I am Anna Berg and I live at 12 Oak Road now", Entities: []ner.Entity{{Type: TypePerson, Start: 5, End: 14}, {Type: TypeAddress, Start: 29, End: 40}}},
		{Text: "寄到杭州市西湖区文三路100号", Entities: []ner.Entity{{Type: TypeAddress, Start: 6, End: 39}}},
		{Text: "where is my refund"},
	}, ner.TrainOptions{Seed: 1})
	if err != nil {
		f.Fatal(err)
	}
	redactors := []*Redactor{NewRedactor(), NewRedactor(WithTagger(tagger))}
	f.Fuzz(func(t *testing.T, in string) {
		for _, r := range redactors {
			checkSpans(t, r, in)
		}
	})
}

// checkSpans redacts in with r and checks the spans against the text.
func checkSpans(t *testing.T, r *Redactor, in string) {
	t.Helper()
	res, err := r.Redact(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	last := 0
	for _, s := range res.Spans {
		if s.Start < last || s.End <= s.Start || s.End > len(in) {
			t.Fatalf("bad span %+v after offset %d in %q", s, last, in)
		}
		b.WriteString(in[last:s.Start])
		b.WriteString(s.Placeholder)
		last = s.End
	}
	b.WriteString(in[last:])
	if diff := cmp.Diff(b.String(), res.Text); diff != "" {
		t.Fatalf("text does not match spans (-rebuilt +got):\n%s", diff)
	}
}

// TestRuneSet: a rune set finds what strings.ContainsAny finds.
func TestRuneSet(t *testing.T) {
	for _, chars := range []string{zhPlaceChars, "省区县旗镇乡村市路街道巷弄同", "ab1", "", "é中"} {
		s := newRuneSet(chars)
		for _, text := range []string{"", "plain", "北京市朝阳区", "我想问一下", "café", "中", "a", "\xff\xfe", "Ω≈ç"} {
			if got, want := s.index(text), strings.IndexAny(text, chars); got != want {
				t.Errorf("set %q in %q: at %d, want %d", chars, text, got, want)
			}
		}
	}
}
