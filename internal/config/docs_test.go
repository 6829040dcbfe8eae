package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/internal/config/configdoc"
)

// docsPath is docs/configuration.md relative to this package.
var docsPath = filepath.Join("..", "..", "docs", "configuration.md")

// readDocRows reads the key table of docs/configuration.md.
func readDocRows(t *testing.T) []configdoc.Row {
	t.Helper()
	rows, err := configdoc.Read(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestDocsListEveryKey fails when a key or variable is in the code but not in the table,
// or the other way round.
func TestDocsListEveryKey(t *testing.T) {
	rows := readDocRows(t)
	cfg := Default()
	var codeKeys, docKeys []string
	for _, l := range leaves(&cfg) {
		codeKeys = append(codeKeys, l.Key+" "+l.Env)
	}
	for _, r := range rows {
		docKeys = append(docKeys, r.Key+" "+r.Env)
		if r.Meaning == "" {
			t.Errorf("%s: key %s has no meaning", docsPath, r.Key)
		}
	}
	if diff := cmp.Diff(codeKeys, docKeys); diff != "" {
		t.Errorf("%s and the Config struct disagree (-code +docs):\n%s", docsPath, diff)
	}
}

// TestDocsDefaults feeds each documented default through its environment variable and
// expects the result to equal Default(), so the Default column cannot drift.
func TestDocsDefaults(t *testing.T) {
	for _, r := range readDocRows(t) {
		got, err := Load("", []string{r.Env + "=" + r.Default})
		if err != nil {
			t.Errorf("%s: documented default %q does not load: %v", r.Key, r.Default, err)
			continue
		}
		if diff := cmp.Diff(Default(), got); diff != "" {
			t.Errorf("%s: documented default %q differs from Default() (-code +docs):\n%s", r.Key, r.Default, diff)
		}
	}
}

// TestEnvNamesAreUnique guards against two fields sharing a variable.
func TestEnvNamesAreUnique(t *testing.T) {
	cfg := Default()
	seen := map[string]string{}
	for _, l := range leaves(&cfg) {
		if !strings.HasPrefix(l.Env, "SWITCHBOARD_") {
			t.Errorf("%s: env %q lacks the SWITCHBOARD_ prefix", l.Key, l.Env)
		}
		if prev, dup := seen[l.Env]; dup {
			t.Errorf("%s and %s share %s", prev, l.Key, l.Env)
		}
		seen[l.Env] = l.Key
	}
}
