package match

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrBadData means a data file did not have the expected format.
var ErrBadData = errors.New("match: bad data file")

// LoadBQ reads the BQ corpus dev.csv and test.csv (comma-separated with a header
// sentence1,sentence2,label) from dir.
func LoadBQ(dir string) (dev, test []Pair, err error) {
	return loadSplits(dir, "dev.csv", "test.csv", readCommaCSV)
}

// LoadLCQMC reads LCQMC dev.txt and test.txt (tab-separated question1, question2, label;
// no header) from dir.
func LoadLCQMC(dir string) (dev, test []Pair, err error) {
	return loadSplits(dir, "dev.txt", "test.txt", readTabbed(0))
}

// LoadATEC reads the ATEC+CCKS dev.csv and test.csv (tab-separated with a header
// text_1, text_2, label) from dir.
func LoadATEC(dir string) (dev, test []Pair, err error) {
	return loadSplits(dir, "dev.csv", "test.csv", readTabbed(1))
}

// loadSplits reads two files of dir with read.
func loadSplits(dir, devName, testName string, read func(io.Reader) ([]Pair, error)) (dev, test []Pair, err error) {
	if dev, err = readFile(filepath.Join(dir, devName), read); err != nil {
		return nil, nil, err
	}
	if test, err = readFile(filepath.Join(dir, testName), read); err != nil {
		return nil, nil, err
	}
	return dev, test, nil
}

func readFile(path string, read func(io.Reader) ([]Pair, error)) ([]Pair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("match: %w", err)
	}
	defer f.Close()
	pairs, err := read(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pairs, nil
}

// parseLabel reads a "0"/"1" label.
func parseLabel(s string) (bool, error) {
	switch strings.TrimSpace(strings.TrimPrefix(s, "\ufeff")) {
	case "1":
		return true, nil
	case "0":
		return false, nil
	}
	return false, fmt.Errorf("%w: label %q", ErrBadData, s)
}

// readCommaCSV reads comma-separated records after a header line.
func readCommaCSV(r io.Reader) ([]Pair, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 3
	cr.LazyQuotes = true
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadData, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadData)
	}
	return recordsToPairs(recs[1:])
}

// readTabbed returns a reader of tab-separated lines text, text, label that skips the
// first header lines; a line holding a UTF-8 byte-order mark keeps working.
func readTabbed(header int) func(io.Reader) ([]Pair, error) {
	return func(r io.Reader) ([]Pair, error) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		var recs [][]string
		for n := 0; sc.Scan(); n++ {
			line := bytes.TrimRight(sc.Bytes(), "\r")
			if n < header || len(line) == 0 {
				continue
			}
			f := strings.Split(string(line), "\t")
			if len(f) != 3 {
				return nil, fmt.Errorf("%w: line %d has %d fields", ErrBadData, n+1, len(f))
			}
			recs = append(recs, f)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadData, err)
		}
		return recordsToPairs(recs)
	}
}

func recordsToPairs(recs [][]string) ([]Pair, error) {
	pairs := make([]Pair, 0, len(recs))
	for i, r := range recs {
		same, err := parseLabel(r[2])
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i+1, err)
		}
		pairs = append(pairs, Pair{A: strings.TrimPrefix(r[0], "\ufeff"), B: r[1], Same: same})
	}
	return pairs, nil
}

// LoadAFQMC reads AFQMC's dev.json (JSON lines with sentence1, sentence2 and a "0"/"1"
// label) from dir; AFQMC's public release labels no other split.
func LoadAFQMC(dir string) (dev []Pair, err error) {
	return readFile(filepath.Join(dir, "dev.json"), readJSONLines)
}

func readJSONLines(r io.Reader) ([]Pair, error) {
	dec := json.NewDecoder(r)
	var out []Pair
	for line := 1; ; line++ {
		var rec struct {
			A     string `json:"sentence1"`
			B     string `json:"sentence2"`
			Label string `json:"label"`
		}
		if err := dec.Decode(&rec); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("%w: record %d: %v", ErrBadData, line, err)
		}
		same, err := parseLabel(rec.Label)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", line, err)
		}
		out = append(out, Pair{A: rec.A, B: rec.B, Same: same})
	}
}

// The question-matching sets LoadAll reads, by name.
var sets = []struct {
	name, dir string
	load      func(dir string) (dev, test []Pair, err error)
}{
	{"atec", "atec_ccks", LoadATEC},
	{"bq", "bq_corpus", LoadBQ},
	{"lcqmc", "lcqmc", LoadLCQMC},
	{"afqmc", "afqmc", func(dir string) (dev, test []Pair, err error) {
		dev, err = LoadAFQMC(dir)
		return dev, nil, err
	}},
}

// LoadAll reads the labelled pairs of every split of the question-matching sets found
// under the shared data directory (atec, bq, lcqmc, afqmc), except the sets named in
// without, and returns them with the names of the sets read. A set whose files are
// missing is skipped; a malformed file is an error.
func LoadAll(data string, without ...string) ([]Pair, []string, error) {
	var pairs []Pair
	var names []string
	for _, s := range sets {
		if slices.Contains(without, s.name) {
			continue
		}
		dev, test, err := s.load(filepath.Join(data, s.dir))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, nil, err
		}
		pairs = append(append(pairs, dev...), test...)
		names = append(names, s.name)
	}
	return pairs, names, nil
}
