package vision_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/vision"
)

// TestParseEvalSet: rows after an optional header; an image outside the version folder
// (absolute, or ".." past the folder) is refused with models.ErrInvalid.
func TestParseEvalSet(t *testing.T) {
	for _, tc := range []struct {
		set, csv string
		want     [][]string // nil: refused
	}{
		{"eval.csv", "image,label\na.jpg,1\nsub/b.png,cat\n", [][]string{{"a.jpg", "1"}, {"sub/b.png", "cat"}}},
		{"eval/eval.csv", "../a.jpg,1\n", [][]string{{"../a.jpg", "1"}}}, // still inside the folder
		{"eval.csv", "/etc/passwd,1\n", nil},
		{"eval.csv", "../../jwt-secret,1\n", nil},
		{"eval/eval.csv", "../../a.jpg,1\n", nil},
		{"eval.csv", "image,label\n", nil},
		{"eval.csv", "a.jpg,1,extra\n", nil},
	} {
		rows, err := vision.ParseEvalSet(strings.NewReader(tc.csv), tc.set)
		if tc.want == nil {
			if !errors.Is(err, models.ErrInvalid) {
				t.Errorf("%s %q: %v %v, want ErrInvalid", tc.set, tc.csv, rows, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %q: %v", tc.set, tc.csv, err)
		} else if d := cmp.Diff(tc.want, rows); d != "" {
			t.Errorf("%s %q (-want +got):\n%s", tc.set, tc.csv, d)
		}
	}
}
