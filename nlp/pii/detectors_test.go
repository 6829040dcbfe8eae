package pii

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRedactNewDetectors covers the detectors added beside the original ones.
func TestRedactNewDetectors(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		spans []found
	}{
		{"id 15 legacy", "老身份证 110105491231002 还能用吗", []found{{TypeIDCard, "110105491231002", "[ID_CARD_1]"}}},
		{"passport cn", "护照号E12345678，另一本G87654321", []found{{TypePassport, "E12345678", "[PASSPORT_1]"}, {TypePassport, "G87654321", "[PASSPORT_2]"}}},
		{"passport foreign with cue", "My passport number is C01X00T47.", []found{{TypePassport, "C01X00T47", "[PASSPORT_1]"}}},
		{"iban compact lower", "my iban is gb82west12345698765432", []found{{TypeIBAN, "gb82west12345698765432", "[IBAN_1]"}}},
		{"iban grouped", "IBAN: DE89 3704 0044 0532 0130 00, thanks", []found{{TypeIBAN, "DE89 3704 0044 0532 0130 00", "[IBAN_1]"}}},
		{"ssn dashed", "Here's my SSN: 123-45-6789", []found{{TypeSSN, "123-45-6789", "[SSN_1]"}}},
		{"ssn plain with cue", "social security number 123456789", []found{{TypeSSN, "123456789", "[SSN_1]"}}},
		{"amex 15 grouped", "card 3782 822463 10005 ok", []found{{TypeBankCard, "3782 822463 10005", "[BANK_CARD_1]"}}},
		{"visa 13", "card 4222222222222", []found{{TypeBankCard, "4222222222222", "[BANK_CARD_1]"}}},
		{"diners 14 dashed", "cc 3056-9309-0259-04", []found{{TypeBankCard, "3056-9309-0259-04", "[BANK_CARD_1]"}}},
		{"landline compact", "座机01062345678", []found{{TypePhone, "01062345678", "[PHONE_1]"}}},
		{"landline 0086", "0086 10 6234 5678", []found{{TypePhone, "0086 10 6234 5678", "[PHONE_1]"}}},
		{"landline split", "电话 010-6234-5678", []found{{TypePhone, "010-6234-5678", "[PHONE_1]"}}},
		{"mobile full-width parens", "（+86）138-1234-5678", []found{{TypePhone, "（+86）138-1234-5678", "[PHONE_1]"}}},
		{"mobile after chinese comma", "订单已付，138 1234 5678", []found{{TypePhone, "138 1234 5678", "[PHONE_1]"}}},
		{"us phone", "call me at 905-674-3793", []found{{TypePhone, "905-674-3793", "[PHONE_1]"}}},
		{"en name", "Hi, my name is Jane Doe and I need help", []found{{TypePerson, "Jane Doe", "[PERSON_1]"}}},
		{"en title", "Please ask Mr. O'Neil", []found{{TypePerson, "O'Neil", "[PERSON_1]"}}},
		{"zh name 我叫", "你好，我叫王小明，想退货", []found{{TypePerson, "王小明", "[PERSON_1]"}}},
		{"zh name label", "收件人：欧阳娜娜 电话13812345678", []found{{TypePerson, "欧阳娜娜", "[PERSON_1]"}, {TypePhone, "13812345678", "[PHONE_1]"}}},
		{"en street", "Send it to 123 Main Street, Apt 4B please", []found{{TypeAddress, "123 Main Street, Apt 4B", "[ADDRESS_1]"}}},
		{"en cue address", "The office is at 86036 Rua do Arenque 1634. Come by.", []found{{TypeAddress, "86036 Rua do Arenque 1634", "[ADDRESS_1]"}}},
		{"zh address", "我住在北京市海淀区中关村大街27号3号楼501室，谢谢", []found{{TypeAddress, "北京市海淀区中关村大街27号3号楼501室", "[ADDRESS_1]"}}},
		{"zh address short", "寄到浙江省杭州市西湖区文三路90号", []found{{TypeAddress, "浙江省杭州市西湖区文三路90号", "[ADDRESS_1]"}}},
		{"address yields to phone", "my address is 12 Oak Road, call 13812345678", []found{{TypeAddress, "12 Oak Road", "[ADDRESS_1]"}, {TypePhone, "13812345678", "[PHONE_1]"}}},
	}
	r := NewRedactor()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := r.Redact(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.spans, spansOf(tt.in, res)); diff != "" {
				t.Errorf("spans mismatch (-want +got):\n%s\ntext: %s", diff, res.Text)
			}
		})
	}
}

// TestRedactNewDetectorsLeaveNonPII lists business numbers, amounts, dates and
// look-alikes the new detectors must leave alone.
func TestRedactNewDetectorsLeaveNonPII(t *testing.T) {
	inputs := []string{
		"订单号 E12345678 已发货",            // passport-shaped order number
		"快递单号SF1234567890123",          // tracking number
		"运单号 YT4842148759534 到哪了",      // tracking number
		"物流号77304615844520",            // tracking number
		"订单号：201911231234567",          // 15 digits after an order label
		"202311231234567",              // 15 digits, no province code
		"110105491331002",              // 15 digits, month 13
		"GB82WEST12345698765433",       // IBAN with a wrong check
		"ref 666-12-3456",              // SSN area 666
		"part 123-00-6789",             // SSN group 00
		"123456789",                    // nine digits without an SSN cue
		"passport office hours 9 to 5", // cue without a number
		"model XR20230101 released",    // code without passport cue
		"共计 ¥1,380.00 元",               // amount
		"2023年11月23日 14:30",            // date
		"2023-11-23",                   // ISO date
		"I am very happy with it",      // weak cue, one capitalized word
		"我是想问一下退款",                     // 我是 without a surname
		"Order #4111111111111",         // Luhn-valid 13 digits as an order
		"3 items at 12 each",           // small numbers
		"金额 13812345678.00",            // amount
		"版本 1.2.3，共 3 次",               // version
		"this is The Best product",     // not a name
	}
	r := NewRedactor()
	for _, in := range inputs {
		t.Run(in, func(t *testing.T) {
			res, err := r.Redact(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if res.Text != in {
				t.Errorf("Redact(%q) = %q, want it unchanged", in, res.Text)
			}
		})
	}
}

func TestNewValidators(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) bool
		in   string
		want bool
	}{
		{"id15 ok", validIDCard15, "110105491231002", true},
		{"id15 bad province", validIDCard15, "990105491231002", false},
		{"id15 feb 30", validIDCard15, "110105490230002", false},
		{"iban gb", validIBAN, "GB82WEST12345698765432", true},
		{"iban de", validIBAN, "DE89370400440532013000", true},
		{"iban bad check", validIBAN, "DE89370400440532013001", false},
		{"iban short", validIBAN, "DE8937040044", false},
		{"card amex", validCard, "378282246310005", true},
		{"card amex bad prefix", validCard, "318282246310008", false},
		{"card maestro 12", validCard, "501864667909", true},
		{"card 11", validCard, "79927398713", false},
		{"card 16 unchanged", validCard, "4111111111111111", true},
		{"card mir", validCard, "2200000000000004", true},
		{"card 2205 is no issuer", validCard, "2205000000000009", false},
	}
	for _, tt := range tests {
		if got := tt.fn(tt.in); got != tt.want {
			t.Errorf("%s: (%q) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
	for _, s := range []struct {
		a, g, sr string
		want     bool
	}{{"123", "45", "6789", true}, {"000", "45", "6789", false}, {"900", "45", "6789", false}, {"123", "45", "0000", false}} {
		if got := validSSN(s.a, s.g, s.sr); got != s.want {
			t.Errorf("validSSN(%s-%s-%s) = %v", s.a, s.g, s.sr, got)
		}
	}
}

// TestZhAddressMark: the screen before the Chinese address expression passes every text
// the expression could match in and skips a mark that comes before the unit.
func TestZhAddressMark(t *testing.T) {
	for text, want := range map[string]bool{
		"北京市朝阳区建国路88号":                 true,
		"中关村大街27号":                     true,
		"东方公寓7-9-1161":                 false, // no unit: the expression needs one too
		"浙江省湖州市德清县武康镇":                 true,
		"订单号202311230001，有谁知道":         false,
		"我的手机号是13812345678，用手机怎样设置路由器": false,
		"寄到上海市浦东新区世纪大道100号环球金融中心":      true,
	} {
		if got := hasZhAddressMark(text); got != want {
			t.Errorf("%q: %v, want %v", text, got, want)
		}
		if got := zhAddressRe.MatchString(text); got && !hasZhAddressMark(text) {
			t.Errorf("%q: the expression matches, the screen skips it", text)
		}
	}
}
