package match

import (
	"github.com/switchboard-cs/switchboard/internal/editdist"

	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnits(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"花呗怎么还款？", []string{"花", "呗", "怎", "么", "还", "款"}},
		{"ＡＢＣ１２３", []string{"abc", "123"}},
		{"借款5000元可以吗", []string{"借", "款", "5000", "元", "可", "以", "吗"}},
		{"How do I reset my PIN?", []string{"how", "do", "i", "reset", "my", "pin"}},
		{"iPhone12用不了", []string{"iphone", "12", "用", "不", "了"}},
		{"  ，。!!  ", nil},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, Units(tc.in)); diff != "" {
			t.Errorf("Units(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestUnitsBounded(t *testing.T) {
	if got := len(Units(strings.Repeat("字", 5000))); got != maxUnits {
		t.Errorf("len(Units(5000 chars)) = %d, want %d", got, maxUnits)
	}
}

func TestEditDistanceAndCommonRuns(t *testing.T) {
	tests := []struct {
		a, b           string
		edit           int
		substr, subseq int
	}{
		{"", "", 0, 0, 0},
		{"花呗", "", 2, 0, 0},
		{"花呗还款", "花呗还款", 0, 4, 4},
		{"花呗还款", "借呗还款", 1, 3, 3},
		{"怎么开通花呗", "花呗怎么开通", 4, 4, 4},
		{"abc", "axbxc", 2, 1, 3},
	}
	for _, tc := range tests {
		a, b := Units(tc.a), Units(tc.b)
		if strings.HasPrefix(tc.a, "abc") {
			a, b = strings.Split(tc.a, ""), strings.Split(tc.b, "")
		}
		substr, subseq := commonRuns(a, b)
		got := []int{editdist.Distance(a, b), substr, subseq}
		if diff := cmp.Diff([]int{tc.edit, tc.substr, tc.subseq}, got); diff != "" {
			t.Errorf("(%q, %q) edit/substr/subseq (-want +got):\n%s", tc.a, tc.b, diff)
		}
		if editdist.Distance(b, a) != tc.edit {
			t.Errorf("editDistance not symmetric for (%q, %q)", tc.a, tc.b)
		}
	}
}

func TestBigrams(t *testing.T) {
	got := bigrams([]string{"花", "呗", "12"})
	if diff := cmp.Diff([]string{"花\x00呗", "呗\x0012"}, got); diff != "" {
		t.Errorf("bigrams (-want +got):\n%s", diff)
	}
	if got := bigrams([]string{"花"}); got != nil {
		t.Errorf("bigrams of one unit = %q, want nil", got)
	}
}
