package deploy_test

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the chart's files/config-keys.yaml from docs/configuration.md")

const (
	chartDir = "helm/switchboard"
	docsPath = "../docs/configuration.md"
)

var keyTablePath = filepath.Join(chartDir, "files", "config-keys.yaml")

// docKey is one row of the key table of docs/configuration.md.
type docKey struct {
	Key, Env, Default string
	Secret            bool
}

var (
	codeSpan = regexp.MustCompile("^`([^`]*)`$")
	// secretName is what makes a key secret: connection strings (with their passwords),
	// passwords, secrets, tokens, API keys, the KEK and AES keys; and channels.plugins,
	// whose settings are the plugins' credentials.
	secretName = regexp.MustCompile(`(^|_)(dsn|password|secret|token|api_key|kek|aes_key)$`)
)

// readDocKeys parses the rows of docs/configuration.md whose first cell is a code span.
func readDocKeys(t *testing.T) []docKey {
	t.Helper()
	f, err := os.Open(docsPath)
	if err != nil {
		t.Fatalf("open %s: %v", docsPath, err)
	}
	defer f.Close()
	var keys []docKey
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) != 4 {
			t.Fatalf("%s: want 4 cells, got %d in %q", docsPath, len(cells), line)
		}
		var k docKey
		for i, dst := range []*string{&k.Key, &k.Env, &k.Default} {
			m := codeSpan.FindStringSubmatch(strings.TrimSpace(cells[i]))
			if m == nil {
				t.Fatalf("%s: cell %d of %q is not a single code span", docsPath, i+1, line)
			}
			*dst = m[1]
		}
		if k.Default == `""` {
			k.Default = ""
		}
		last := k.Key[strings.LastIndex(k.Key, ".")+1:]
		k.Secret = secretName.MatchString(last) || k.Key == "channels.plugins"
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(keys) < 100 {
		t.Fatalf("%s: only %d keys found; has the table's format changed?", docsPath, len(keys))
	}
	return keys
}

// keyTable is the chart's files/config-keys.yaml as it should be for keys.
func keyTable(keys []docKey) string {
	var b strings.Builder
	b.WriteString("# The keys of docs/configuration.md: each key's environment variable and whether it\n" +
		"# belongs in the Secret. Generated from the docs, do not edit: in deploy/,\n" +
		"#   go test -run TestChartKeyTable -update\n")
	for _, k := range keys {
		if k.Secret {
			fmt.Fprintf(&b, "%s: {env: %s, secret: true}\n", k.Key, k.Env)
		} else {
			fmt.Fprintf(&b, "%s: {env: %s}\n", k.Key, k.Env)
		}
	}
	return b.String()
}

// TestChartKeyTable fails when the chart's key table and docs/configuration.md disagree
// (a key added, renamed or removed in the docs); -update rewrites the table.
func TestChartKeyTable(t *testing.T) {
	want := keyTable(readDocKeys(t))
	if *update {
		if err := os.WriteFile(keyTablePath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(keyTablePath)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is not the table of %s; run go test -run TestChartKeyTable -update in deploy/", keyTablePath, docsPath)
	}
}
