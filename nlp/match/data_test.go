package match

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadersParseFormats(t *testing.T) {
	want := []Pair{{A: "花呗怎么还", B: "如何还花呗", Same: true}, {A: "a,b", B: "c", Same: false}}
	tests := []struct {
		name  string
		load  func(string) ([]Pair, []Pair, error)
		files map[string]string
	}{
		{"bq", LoadBQ, map[string]string{
			"dev.csv":  "\ufeffsentence1,sentence2,label\n花呗怎么还,如何还花呗,1\n\"a,b\",c,0\n",
			"test.csv": "sentence1,sentence2,label\n花呗怎么还,如何还花呗,1\n\"a,b\",c,0\n",
		}},
		{"lcqmc", LoadLCQMC, map[string]string{
			"dev.txt":  "花呗怎么还\t如何还花呗\t1\na,b\tc\t0\n",
			"test.txt": "花呗怎么还\t如何还花呗\t1\r\na,b\tc\t0\r\n",
		}},
		{"atec", LoadATEC, map[string]string{
			"dev.csv":  "text_1\ttext_2\tlabel\n花呗怎么还\t如何还花呗\t1\na,b\tc\t0\n",
			"test.csv": "text_1\ttext_2\tlabel\n花呗怎么还\t如何还花呗\t1\na,b\tc\t0\n",
		}},
	}
	for _, tc := range tests {
		dev, test, err := tc.load(writeFiles(t, tc.files))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(want, dev); diff != "" {
			t.Errorf("%s dev (-want +got):\n%s", tc.name, diff)
		}
		if diff := cmp.Diff(want, test); diff != "" {
			t.Errorf("%s test (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestLoadersRejectBadFiles(t *testing.T) {
	tests := []struct {
		name  string
		load  func(string) ([]Pair, []Pair, error)
		files map[string]string
	}{
		{"bad label", LoadLCQMC, map[string]string{"dev.txt": "a\tb\tyes\n", "test.txt": ""}},
		{"field count", LoadATEC, map[string]string{"dev.csv": "h\n1\ta\tb\t0\n", "test.csv": ""}},
		{"csv fields", LoadBQ, map[string]string{"dev.csv": "s1,s2,label\na,b\n", "test.csv": ""}},
	}
	for _, tc := range tests {
		if _, _, err := tc.load(writeFiles(t, tc.files)); !errors.Is(err, ErrBadData) {
			t.Errorf("%s: error %v, want ErrBadData", tc.name, err)
		}
	}
	if _, _, err := LoadBQ(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing files: error %v, want os.ErrNotExist", err)
	}
}

func TestLoadSharedSets(t *testing.T) {
	tests := []struct {
		dir             string
		load            func(string) ([]Pair, []Pair, error)
		devLen, testLen int
	}{
		{"bq_corpus", LoadBQ, 10000, 10000},
		{"lcqmc", LoadLCQMC, 8802, 12500},
		{"atec_ccks", LoadATEC, 10000, 10000},
	}
	for _, tc := range tests {
		dev, test, err := tc.load(testenv.SharedData(t, tc.dir))
		if err != nil {
			t.Fatalf("%s: %v", tc.dir, err)
		}
		if len(dev) != tc.devLen || len(test) != tc.testLen {
			t.Errorf("%s: %d dev / %d test pairs, want %d / %d", tc.dir, len(dev), len(test), tc.devLen, tc.testLen)
		}
	}
}

func TestLoadAll(t *testing.T) {
	data := t.TempDir()
	for dir, files := range map[string]map[string]string{
		"bq_corpus": {"dev.csv": "sentence1,sentence2,label\n花呗怎么还,如何还花呗,1\n", "test.csv": "sentence1,sentence2,label\na,b,0\n"},
		"afqmc":     {"dev.json": `{"sentence1": "借呗", "sentence2": "借呗额度", "label": "0"}` + "\n"},
	} {
		for name, body := range files {
			os.MkdirAll(filepath.Join(data, dir), 0o755)
			if err := os.WriteFile(filepath.Join(data, dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	pairs, names, err := LoadAll(data)
	if err != nil || len(pairs) != 3 || !slices.Equal(names, []string{"bq", "afqmc"}) {
		t.Fatalf("LoadAll: %d pairs from %v, %v", len(pairs), names, err)
	}
	if pairs, names, err = LoadAll(data, "bq"); err != nil || len(pairs) != 1 || !slices.Equal(names, []string{"afqmc"}) {
		t.Fatalf("LoadAll without bq: %d pairs from %v, %v", len(pairs), names, err)
	}
	os.WriteFile(filepath.Join(data, "bq_corpus", "dev.csv"), []byte("sentence1,sentence2,label\na,b,maybe\n"), 0o644)
	if _, _, err := LoadAll(data); err == nil {
		t.Error("a malformed file was not an error")
	}
}
