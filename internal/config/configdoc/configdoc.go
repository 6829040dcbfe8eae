// Package configdoc reads the key table of docs/configuration.md, the one place where
// configuration keys are documented; the config package's tests hold the code to it and
// the Helm chart's tests hold the chart to it.
package configdoc

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Row is one row of the table: a key, its environment variable, its default ("" for
// the table's `""`) and what it means.
type Row struct {
	Key, Env, Default string
	Meaning           string
}

var codeSpan = regexp.MustCompile("^`([^`]*)`$")

// Read parses the table rows of the file at path whose first cell is a code span. A row
// that is not four cells, the first three each a single code span, is an error.
func Read(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []Row
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) != 4 {
			return nil, fmt.Errorf("%s: want 4 cells, got %d in %q", path, len(cells), line)
		}
		row := Row{Meaning: strings.TrimSpace(cells[3])}
		for i, dst := range []*string{&row.Key, &row.Env, &row.Default} {
			m := codeSpan.FindStringSubmatch(strings.TrimSpace(cells[i]))
			if m == nil {
				return nil, fmt.Errorf("%s: cell %d of %q is not a single code span", path, i+1, line)
			}
			*dst = m[1]
		}
		if row.Default == `""` {
			row.Default = ""
		}
		rows = append(rows, row)
	}
	return rows, sc.Err()
}
