package pii

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// found is a span seen through the input: its type, the original text it covers and
// its placeholder. Comparing these checks the byte offsets without writing them by hand.
type found struct {
	Type, Value, Placeholder string
}

func spansOf(text string, res Result) []found {
	var out []found
	for _, s := range res.Spans {
		out = append(out, found{s.Type, text[s.Start:s.End], s.Placeholder})
	}
	return out
}

func TestRedactFindsPII(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  string
		spans []found
	}{
		{"email en", "Contact me at Zhang.San@Example.com please.", "Contact me at [EMAIL_1] please.",
			[]found{{TypeEmail, "Zhang.San@Example.com", "[EMAIL_1]"}}},
		{"email zh no spaces", "我的邮箱是zhang.san@example.com谢谢", "我的邮箱是[EMAIL_1]谢谢",
			[]found{{TypeEmail, "zhang.san@example.com", "[EMAIL_1]"}}},
		{"email after scheme, sentence dot", "mailto:Support@Example.co.uk.", "mailto:[EMAIL_1].",
			[]found{{TypeEmail, "Support@Example.co.uk", "[EMAIL_1]"}}},
		{"email two at signs", "a@b@c.com", "a@[EMAIL_1]",
			[]found{{TypeEmail, "b@c.com", "[EMAIL_1]"}}},
		{"email with digits is not a phone", "QQ邮箱13812345678@qq.com", "QQ邮箱[EMAIL_1]",
			[]found{{TypeEmail, "13812345678@qq.com", "[EMAIL_1]"}}},
		{"mobile zh no spaces", "手机13812345678谢谢", "手机[PHONE_1]谢谢",
			[]found{{TypePhone, "13812345678", "[PHONE_1]"}}},
		{"mobile +86 dashes", "电话：+86 138-1234-5678，请回电", "电话：[PHONE_1]，请回电",
			[]found{{TypePhone, "+86 138-1234-5678", "[PHONE_1]"}}},
		{"mobile 0086 and 86", "0086 139 1234 5678 或 86-15012345678", "[PHONE_1] 或 [PHONE_2]",
			[]found{{TypePhone, "0086 139 1234 5678", "[PHONE_1]"}, {TypePhone, "86-15012345678", "[PHONE_2]"}}},
		{"mobile in parens prefix", "请拨(+86) 13812345678", "请拨[PHONE_1]",
			[]found{{TypePhone, "(+86) 13812345678", "[PHONE_1]"}}},
		{"mobile full-width digits", "手机１３８１２３４５６７８", "手机[PHONE_1]",
			[]found{{TypePhone, "１３８１２３４５６７８", "[PHONE_1]"}}},
		{"mobile then a count", "打了13812345678 2次", "打了[PHONE_1] 2次",
			[]found{{TypePhone, "13812345678", "[PHONE_1]"}}},
		{"same value same placeholder", "call +86 138-1234-5678 or 13812345678, or 139 1234 5678",
			"call [PHONE_1] or [PHONE_1], or [PHONE_2]",
			[]found{{TypePhone, "+86 138-1234-5678", "[PHONE_1]"}, {TypePhone, "13812345678", "[PHONE_1]"}, {TypePhone, "139 1234 5678", "[PHONE_2]"}}},
		{"international uk", "UK office: +44 20 7946 0958.", "UK office: [PHONE_1].",
			[]found{{TypePhone, "+44 20 7946 0958", "[PHONE_1]"}}},
		{"international us", "Call +1 (415) 555-2671 today", "Call [PHONE_1] today",
			[]found{{TypePhone, "+1 (415) 555-2671", "[PHONE_1]"}}},
		{"landlines", "座机010-62345678，深圳(0755) 8888-9999", "座机[PHONE_1]，深圳[PHONE_2]",
			[]found{{TypePhone, "010-62345678", "[PHONE_1]"}, {TypePhone, "(0755) 8888-9999", "[PHONE_2]"}}},
		{"id card with X", "身份证号11010519491231002X，姓名张三", "身份证号[ID_CARD_1]，姓名[PERSON_1]",
			[]found{{TypeIDCard, "11010519491231002X", "[ID_CARD_1]"}, {TypePerson, "张三", "[PERSON_1]"}}},
		{"id card lower x and digit check", "id 11010519491231002x and 440301199003071230", "id [ID_CARD_1] and [ID_CARD_2]",
			[]found{{TypeIDCard, "11010519491231002x", "[ID_CARD_1]"}, {TypeIDCard, "440301199003071230", "[ID_CARD_2]"}}},
		{"bank card 19 grouped", "卡号 6222 0202 0011 2233 446 谢谢", "卡号 [BANK_CARD_1] 谢谢",
			[]found{{TypeBankCard, "6222 0202 0011 2233 446", "[BANK_CARD_1]"}}},
		{"bank card zh no spaces", "银行卡6225880123456783已绑定", "银行卡[BANK_CARD_1]已绑定",
			[]found{{TypeBankCard, "6225880123456783", "[BANK_CARD_1]"}}},
		{"bank card dashes en", "My card is 4111-1111-1111-1111.", "My card is [BANK_CARD_1].",
			[]found{{TypeBankCard, "4111-1111-1111-1111", "[BANK_CARD_1]"}}},
		{"ipv4 zh", "登录IP：192.168.1.10，端口8080", "登录IP：[IP_1]，端口8080",
			[]found{{TypeIP, "192.168.1.10", "[IP_1]"}}},
		{"ipv4 with port", "from 10.0.0.1:8080 and 10.0.0.1", "from [IP_1]:8080 and [IP_1]",
			[]found{{TypeIP, "10.0.0.1", "[IP_1]"}, {TypeIP, "10.0.0.1", "[IP_1]"}}},
		{"ipv6", "client 2001:db8::8a2e:370:7334.", "client [IP_1].",
			[]found{{TypeIP, "2001:db8::8a2e:370:7334", "[IP_1]"}}},
		{"ipv6 after label colon", "addr:fe80::1 / ip:192.168.0.1", "addr:[IP_1] / ip:[IP_2]",
			[]found{{TypeIP, "fe80::1", "[IP_1]"}, {TypeIP, "192.168.0.1", "[IP_2]"}}},
		{"mixed numbering", "a@x.com, 13812345678, B@y.org, A@X.com, 6225880123456783",
			"[EMAIL_1], [PHONE_1], [EMAIL_2], [EMAIL_1], [BANK_CARD_1]",
			[]found{
				{TypeEmail, "a@x.com", "[EMAIL_1]"}, {TypePhone, "13812345678", "[PHONE_1]"},
				{TypeEmail, "B@y.org", "[EMAIL_2]"}, {TypeEmail, "A@X.com", "[EMAIL_1]"},
				{TypeBankCard, "6225880123456783", "[BANK_CARD_1]"},
			}},
		{"phone list without spaces", "13912345678,13812345678", "[PHONE_1],[PHONE_2]",
			[]found{{TypePhone, "13912345678", "[PHONE_1]"}, {TypePhone, "13812345678", "[PHONE_2]"}}},
	}
	r := NewRedactor()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := r.Redact(context.Background(), tt.in)
			if err != nil {
				t.Fatalf("Redact: %v", err)
			}
			if diff := cmp.Diff(tt.want, res.Text); diff != "" {
				t.Errorf("text mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.spans, spansOf(tt.in, res)); diff != "" {
				t.Errorf("spans mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRedactLeavesNonPII lists look-alikes the validators and context rules must reject.
func TestRedactLeavesNonPII(t *testing.T) {
	inputs := []string{
		"身份证号110105194912310021",                 // wrong check digit (should be X)
		"身份证 110105194913310025",                 // month 13
		"卡号 6222 0202 0011 2233 447",             // fails Luhn
		"card 4111 1111 1111 1112",               // fails Luhn
		"订单号 202311230001",                       // order number
		"订单号：6222020200112233446",                // Luhn-valid, but labelled as an order
		"Order #13812345678 has shipped",         // mobile-shaped order number
		"tracking number 4111111111111111",       // Luhn-valid tracking number
		"流水 2023112300012343",                    // Luhn-valid, starts with a year
		"金额 ¥13812345678.00",                     // amount
		"共计13812345678元",                         // amount with unit
		"price: $4111111111111111",               // amount with currency
		"余额 1,380,000.50 元",                      // amount with thousands separators
		"0.13812345678",                          // decimal fraction
		"2023-11-23 14:30:00",                    // date and time
		"2023年11月23日 下午3点",                       // Chinese date
		"20231123143000",                         // compact timestamp
		"1700000000123",                          // epoch milliseconds
		"2023/11/23",                             // slashed date
		"SKU13812345678",                         // code glued to letters
		"1381234567 and 138123456789",            // 10 and 12 digits
		"12345678901",                            // 11 digits not starting 1[3-9]
		"2023-13812345678",                       // dash-bound prefix
		"v1.2.3.4",                               // version glued to a letter
		"1.2.3.4.5",                              // five-part version
		"999.1.1.1",                              // octet out of range
		"12:30:45",                               // time
		"MAC 00:1A:2B:3C:4D:5E",                  // MAC address
		"user@localhost",                         // no top-level domain
		"+12 34",                                 // too short for a phone
		"the border 13812345678 is not an order", // "order" only as a whole word
	}
	r := NewRedactor()
	for _, in := range inputs {
		t.Run(in, func(t *testing.T) {
			res, err := r.Redact(context.Background(), in)
			if err != nil {
				t.Fatalf("Redact: %v", err)
			}
			want := in
			if strings.HasPrefix(in, "the border") {
				want = "the border [PHONE_1] is not an order"
			}
			if diff := cmp.Diff(want, res.Text); diff != "" {
				t.Errorf("text mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRedactOffsets(t *testing.T) {
	in := "手机13812345678，邮箱a@b.cn"
	res, err := NewRedactor().Redact(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{
		Text: "手机[PHONE_1]，邮箱[EMAIL_1]",
		Spans: []Span{
			{Type: TypePhone, Start: 6, End: 17, Placeholder: "[PHONE_1]"},
			{Type: TypeEmail, Start: 26, End: 32, Placeholder: "[EMAIL_1]"},
		},
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("Redact mismatch (-want +got):\n%s", diff)
	}
}

func TestRedactNothingFound(t *testing.T) {
	for _, in := range []string{"", "你好，我想退货", "plain text without data"} {
		res, err := NewRedactor().Redact(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Result{Text: in}, res); diff != "" {
			t.Errorf("Redact(%q) mismatch (-want +got):\n%s", in, diff)
		}
	}
}

func TestRedactCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := NewRedactor().Redact(ctx, "手机13812345678")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Redact error = %v, want context.Canceled", err)
	}
	if res.Text != "" {
		t.Errorf("canceled Redact returned text %q; it must not hand out unredacted text", res.Text)
	}
}

// TestRedactConcurrently: calls on one redactor from many goroutines, each reusing
// memory an earlier call left in the pool, give what one call at a time gives.
func TestRedactConcurrently(t *testing.T) {
	texts := []string{benchText, "Hi, I'm John Smith, call me on +1 415-555-0100 or mail john@example.com about order 55512.",
		"我住在北京市朝阳区建国路88号3栋1201室，电话 010-6234 5678", "plain text", "IBAN GB82 WEST 1234 5698 7654 32, SSN 078-05-1120"}
	r := NewRedactor()
	ctx := context.Background()
	want := make([]Result, len(texts))
	for i, s := range texts {
		want[i], _ = r.Redact(ctx, s)
	}
	errs := make(chan string, 8)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 200 {
				i := (g + k) % len(texts)
				got, err := r.Redact(ctx, texts[i])
				if diff := cmp.Diff(want[i], got); err != nil || diff != "" {
					errs <- fmt.Sprintf("%q: %v %s", texts[i], err, diff)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// benchText is a mixed Chinese/English customer message of about 1 KiB.
var benchText = strings.Repeat("您好，我的订单号 202311230001 一直没有发货，手机13812345678，"+
	"邮箱 zhang.san@example.com。Please refund to card 6222 0202 0011 2233 446, "+
	"my ID is 11010519491231002X and I logged in from 192.168.1.10 at 14:30. ", 3)

func BenchmarkRedact(b *testing.B) {
	r := NewRedactor()
	ctx := context.Background()
	b.SetBytes(int64(len(benchText)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Redact(ctx, benchText); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRedactNoPII(b *testing.B) {
	text := strings.Repeat("您好，请问退货流程是怎样的？How long does a refund take? ", 12)
	r := NewRedactor()
	ctx := context.Background()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Redact(ctx, text); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRenderNumbersPlaceholders: placeholders are numbered per type in order and equal
// values share one, in a short text and in one with more spans than the linear search
// handles.
func TestRenderNumbersPlaceholders(t *testing.T) {
	for _, n := range []int{3, 10, 100} {
		var b strings.Builder
		var cs []candidate
		for i := range n {
			typ, v := TypeEmail, fmt.Sprintf("u%d@example.com", i%7)
			if i%3 == 0 {
				typ, v = TypePhone, fmt.Sprintf("+8613812345%03d", i%5)
			}
			b.WriteString("x ")
			cs = append(cs, candidate{typ: typ, start: b.Len(), end: b.Len() + len(v), value: v})
			b.WriteString(v)
		}
		text := b.String()
		// what render must give, worked out the plain way
		counts, byValue := map[string]int{}, map[string]string{}
		want := Result{Text: text}
		var out strings.Builder
		last := 0
		for _, c := range cs {
			ph, ok := byValue[c.typ+"\x00"+c.value]
			if !ok {
				counts[c.typ]++
				ph = fmt.Sprintf("[%s_%d]", c.typ, counts[c.typ])
				byValue[c.typ+"\x00"+c.value] = ph
			}
			out.WriteString(text[last:c.start] + ph)
			last = c.end
			want.Spans = append(want.Spans, Span{Type: c.typ, Start: c.start, End: c.end, Placeholder: ph})
		}
		want.Text = out.String() + text[last:]
		if diff := cmp.Diff(want, render(text, cs)); diff != "" {
			t.Errorf("%d spans (-want +got):\n%s", n, diff)
		}
	}
}
