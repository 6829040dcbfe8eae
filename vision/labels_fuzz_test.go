package vision

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/models"
)

// FuzzParseLabels parses arbitrary label files: one label per line (trailing blank lines
// dropped), none holding a line break; and a file written from clean names (trimmed, one
// line each, no WordNet id) reads back as those names.
func FuzzParseLabels(f *testing.F) {
	f.Add([]byte("n01440764 tench, Tinca tinca\nn01443537 goldfish\n"))
	f.Add([]byte("\ufeffcat\r\ndog\n\n\n"))
	f.Add([]byte("a\x00\x00b\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		labels := ParseLabels(data)
		lines := strings.Split(string(bytes.TrimPrefix(data, []byte("\ufeff"))), "\n")
		for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
			lines = lines[:len(lines)-1]
		}
		if len(labels) != len(lines) {
			t.Fatalf("%d labels from %d lines", len(labels), len(lines))
		}
		for _, l := range labels {
			if strings.Contains(l, "\n") {
				t.Fatalf("label %q holds a line break", l)
			}
		}
		names := strings.Split(string(data), "\x00")
		for i, n := range names {
			if strings.ContainsAny(n, "\n") || n != strings.TrimSpace(n) || wordnetID.MatchString(n) ||
				i == 0 && strings.HasPrefix(n, "\ufeff") {
				return
			}
		}
		want := names
		for len(want) > 0 && want[len(want)-1] == "" {
			want = want[:len(want)-1]
		}
		if got := ParseLabels([]byte(strings.Join(names, "\n"))); !slices.Equal(got, want) {
			t.Fatalf("names %q read back as %q", want, got)
		}
	})
}

// FuzzParseEvalSet parses arbitrary evaluation sets: errors are models.ErrInvalid, and
// every accepted row has two columns and an image inside the version folder.
func FuzzParseEvalSet(f *testing.F) {
	f.Add([]byte("image,label\nphotos/a.jpg,22\nb.png,pelican\n"), "eval/eval.csv")
	f.Add([]byte("/etc/passwd,1\n"), "eval.csv")
	f.Add([]byte("../../jwt-secret,1\n\"a,b\",\"c\"\"d\"\n"), "eval.csv")
	f.Fuzz(func(t *testing.T, data []byte, set string) {
		rows, err := ParseEvalSet(bytes.NewReader(data), set)
		if err != nil {
			if !errors.Is(err, models.ErrInvalid) {
				t.Fatalf("error outside models.ErrInvalid: %v", err)
			}
			return
		}
		if len(rows) == 0 {
			t.Fatal("no rows and no error")
		}
		for _, r := range rows {
			if len(r) != 2 || filepath.IsAbs(r[0]) || !filepath.IsLocal(evalImage(set, r[0])) {
				t.Fatalf("row %q of set %q accepted", r, set)
			}
		}
	})
}
