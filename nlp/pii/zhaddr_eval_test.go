package pii

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// TestEvaluateChineseAddresses scores PERSON and ADDRESS on the test split of the
// Chinese address parsing corpus. Measured: ADDRESS TP=2401 FP=8 FN=816 (P 0.997,
// R 0.746); PERSON TP=0 FP=0 FN=208, because the corpus's "person" label holds shop and
// company names, not people; SSN FP=5 on "112-10-1037"-style building-unit-room numbers.
// The bounds sit just around those figures.
func TestEvaluateChineseAddresses(t *testing.T) {
	dir := testenv.SharedData(t, "zh_address_parsing")
	scores, err := EvaluateChineseAddresses(context.Background(), NewRedactor(), dir)
	if err != nil {
		t.Fatal(err)
	}
	logScores(t, scores)
	addr, person := scores[TypeAddress], scores[TypePerson]
	if got := addr.TP + addr.FN; got != 3217 {
		t.Errorf("gold ADDRESS spans = %d, want 3217; the label mapping changed", got)
	}
	if got := person.TP + person.FN; got != 208 {
		t.Errorf("gold PERSON spans = %d, want 208; the label mapping changed", got)
	}
	if addr.Precision < 0.99 || addr.Recall < 0.73 {
		t.Errorf("ADDRESS precision %.3f recall %.3f, want ≥ 0.99 and ≥ 0.73", addr.Precision, addr.Recall)
	}
	if person.FP > 3 {
		t.Errorf("PERSON false positives = %d, want ≤ 3", person.FP)
	}
	other := 0
	for typ, s := range scores {
		if typ != TypeAddress && typ != TypePerson {
			other += s.FP
		}
	}
	if other > 10 {
		t.Errorf("false positives of other types = %d, want ≤ 10", other)
	}
}

// TestReadZhAddrQueries checks the text rebuilt from tokens and the gold spans: element
// runs bridged over inner redundant/assist tokens, edges trimmed, person spans apart.
func TestReadZhAddrQueries(t *testing.T) {
	conll := "浙 B-prov\n江 I-prov\n省 I-prov\n- B-redundant\n杭 B-city\n州 I-city\n市 I-city\n" +
		"12 B-roomno\n客 B-person\n服 I-person\n部 I-person\n" +
		"\n" +
		"- B-redundant\n文 B-road\n三 I-road\n路 I-road\n对 B-assist\n面 I-assist\n" +
		"A B-poi\n座 I-poi\n门 B-assist\n口 I-assist\n" +
		"\n" +
		"电 B-otherinfo\n联 I-otherinfo\n"
	path := filepath.Join(t.TempDir(), "test.txt")
	if err := os.WriteFile(path, []byte(conll), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readZhAddrQueries(path)
	if err != nil {
		t.Fatal(err)
	}
	type q struct {
		Text string
		Gold []string
	}
	var view []q
	for _, g := range got {
		v := q{Text: g.text}
		for _, s := range g.gold {
			v.Gold = append(v.Gold, s.typ+":"+g.text[s.start:s.end])
		}
		view = append(view, v)
	}
	want := []q{
		{"浙江省-杭州市12客服部", []string{"ADDRESS:浙江省-杭州市12", "PERSON:客服部"}},
		{"-文三路对面A座门口", []string{"ADDRESS:文三路对面A座"}},
		{"电联", nil},
	}
	if diff := cmp.Diff(want, view); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
}

func TestReadZhAddrQueriesRejectsBadLines(t *testing.T) {
	for name, body := range map[string]string{
		"no tag":  "浙\n",
		"bad tag": "浙 prov\n",
		"empty":   "\n\n",
		"missing": "",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "test.txt")
			if name != "missing" {
				if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := readZhAddrQueries(path); !errors.Is(err, ErrBadData) {
				t.Errorf("error = %v, want ErrBadData", err)
			}
		})
	}
}

// TestChineseAddressShapes covers the hyphenated room numbers and town chains that
// bare address queries use, and sentences that must stay unredacted.
func TestChineseAddressShapes(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"杭州江干区九堡镇东方公寓7-9-1161", []string{"杭州江干区九堡镇东方公寓7-9-1161"}},
		{"寄到浙江省湖州市德清县武康镇", []string{"浙江省湖州市德清县武康镇"}},
		{"杭州市余杭区乔司镇朝阳村", []string{"杭州市余杭区乔司镇朝阳村"}},
		{"北京市朝阳区天气怎么样", nil},
		{"这个镇上有什么好吃的", nil},
		{"订单号 2023-11-23 发货", nil},
	}
	r := NewRedactor()
	for _, tt := range tests {
		res, err := r.Redact(context.Background(), tt.text)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range res.Spans {
			if s.Type == TypeAddress {
				got = append(got, tt.text[s.Start:s.End])
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: addresses (-want +got):\n%s", tt.text, diff)
		}
	}
}
