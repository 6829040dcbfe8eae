package lang

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		text string
		want Lang
	}{
		{"empty", "", Undetermined},
		{"spaces and punctuation", "  ?!… ，。 ", Undetermined},
		{"digits only", "13812345678", Undetermined},
		{"emoji", "😡😡👍", Undetermined},
		{"plain chinese", "我要投诉，转人工", Chinese},
		{"traditional chinese", "請問我的訂單什麼時候到", Chinese},
		{"chinese with brand name", "我的iPhone屏幕坏了", Chinese},
		{"chinese with order number", "订单号 202311230001 还没发货", Chinese},
		{"plain english", "talk to a human please", English},
		{"english with accents", "I paid at the café in Zürich", English},
		{"english with one chinese word", "how do I say 你好 in a formal letter", English},
		{"single han char", "好", Chinese},
		{"single latin word", "ok", English},
		{"cyrillic", "здравствуйте", Undetermined},
		{"japanese kana only", "ありがとう", Undetermined},
		{"tie", "a好aa", Undetermined},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Detect(tt.text)); diff != "" {
				t.Errorf("Detect(%q) mismatch (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func BenchmarkDetect(b *testing.B) {
	text := "您好，我的信用卡 card 昨天被冻结了，请帮我查一下 order 202311230001"
	for b.Loop() {
		Detect(text)
	}
}
