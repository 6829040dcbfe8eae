package match

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestSaveLoad: a saved matcher scores every pair as the one fitted, and a file that is
// not a matcher, or is cut short, is refused.
func TestSaveLoad(t *testing.T) {
	pairs := []Pair{
		{A: "怎么退款", B: "如何申请退款", Same: true}, {A: "怎么退款", B: "怎么开发票", Same: false},
		{A: "密码忘了", B: "忘记密码怎么办", Same: true}, {A: "密码忘了", B: "怎么改手机号", Same: false},
		{A: "how do I get a refund", B: "refund please", Same: true}, {A: "how do I get a refund", B: "where is my card", Same: false},
		{A: "花呗怎么还款", B: "花呗还款方式", Same: true}, {A: "花呗怎么还款", B: "借呗额度", Same: false},
	}
	m, err := Fit(context.Background(), pairs, Options{Folds: 2, HashBits: 10})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sub", "matcher.bin")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	probes := append(pairs, Pair{A: "退款多久到账", B: "退款什么时候到"}, Pair{A: "unseen words", B: "全新的词"})
	for _, p := range probes {
		if a, b := m.Score(p.A, p.B), got.Score(p.A, p.B); a != b {
			t.Errorf("Score(%q, %q): fitted %v, loaded %v", p.A, p.B, a, b)
		}
	}
	if got.Threshold() != m.Threshold() {
		t.Errorf("threshold %v, want %v", got.Threshold(), m.Threshold())
	}
	whole, _ := os.ReadFile(path)
	for name, data := range map[string][]byte{"empty": nil, "other": []byte("SBPARA1\n{}"), "cut": whole[:len(whole)/2]} {
		if _, err := Read(bytes.NewReader(data)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err %v, want ErrFormat", name, err)
		}
	}
}
