package sentiment

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/nlp/lang"
)

// TestReadCorpusSizes: the real sets read whole (the counts SOURCE.md gives, less empty
// texts), with both labels.
func TestReadCorpusSizes(t *testing.T) {
	c := realCorpus(t)
	want := map[string]int{"waimai_10k": 11987, "online_shopping_10_cats": 62773, "amazon": 1000, "imdb": 1000, "yelp": 1000}
	got := map[string]int{}
	for _, sets := range c.Sets {
		for _, s := range sets {
			got[s.Name] = len(s.Examples)
			neg := 0
			for _, e := range s.Examples {
				if e.Negative {
					neg++
				}
			}
			if neg == 0 || neg == len(s.Examples) {
				t.Errorf("%s: %d of %d negative", s.Name, neg, len(s.Examples))
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("examples per set (-want +got):\n%s", diff)
	}
	if ood := c.OutOfDomain[lang.Chinese]; len(ood) != 1 || len(ood[0].Examples) != 610 {
		t.Errorf("out-of-domain: %d sets, want EPRSTMT's 610 reviews", len(ood))
	}
}

// TestReadCorpusErrors: a missing folder is ErrNoData, a malformed file ErrBadData.
func TestReadCorpusErrors(t *testing.T) {
	write := func(dir, name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	badLabel := t.TempDir()
	write(badLabel, "zh_reviews_chinesenlpcorpus/waimai_10k.csv", "label,review\n2,好\n")
	badHeader := t.TempDir()
	write(badHeader, "zh_reviews_chinesenlpcorpus/waimai_10k.csv", "text,label\n好,1\n")
	badJSON := t.TempDir()
	for _, s := range englishSets {
		write(badJSON, s+".json", `{"text": "not an array"}`)
	}
	badClass := t.TempDir()
	for _, s := range englishSets {
		write(badClass, s+".json", `[{"text": "fine", "class": 3}]`)
	}
	tests := []struct {
		name     string
		data, en string
		want     error
	}{
		{"no zh data", t.TempDir(), "", ErrNoData},
		{"no en data", "", t.TempDir(), ErrNoData},
		{"bad label", badLabel, "", ErrBadData},
		{"bad header", badHeader, "", ErrBadData},
		{"en not an array", "", badJSON, ErrBadData},
		{"en class 3", "", badClass, ErrBadData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ReadCorpus(tt.data, tt.en); !errors.Is(err, tt.want) {
				t.Errorf("ReadCorpus = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestReadFixture: entries without text or class (the npm files end with one) are left
// out; class 0 is negative.
func TestReadFixture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(path, []byte(`[{"text":"Great.","class":1},{"text":"Awful.","class":0},{"text":"","class":null},{"text":"no class"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := readFixture(path, "x")
	if err != nil {
		t.Fatal(err)
	}
	want := Set{Name: "x", Examples: []Example{{Text: "Great."}, {Text: "Awful.", Negative: true}}}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
