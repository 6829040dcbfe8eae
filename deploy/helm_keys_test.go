package deploy_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/config/configdoc"
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
	// secretName is what makes a key secret: connection strings (with their passwords),
	// passwords, secrets, tokens, API keys, the KEK and AES keys; and channels.plugins,
	// whose settings are the plugins' credentials.
	secretName = regexp.MustCompile(`(^|_)(dsn|password|secret|token|api_key|kek|aes_key)$`)
)

// readDocKeys reads the key table of docs/configuration.md and marks the secret keys.
func readDocKeys(t *testing.T) []docKey {
	t.Helper()
	rows, err := configdoc.Read(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	var keys []docKey
	for _, r := range rows {
		k := docKey{Key: r.Key, Env: r.Env, Default: r.Default}
		last := k.Key[strings.LastIndex(k.Key, ".")+1:]
		k.Secret = secretName.MatchString(last) || k.Key == "channels.plugins"
		keys = append(keys, k)
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
