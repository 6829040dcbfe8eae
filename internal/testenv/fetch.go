package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Fetched returns what find finds (a folder of data a script under scripts/ fetches),
// running that script first when find fails; when it still fails, the test skips, or
// fails with CI=true, saying why.
func Fetched(t testing.TB, script string, find func() (string, error)) string {
	t.Helper()
	if p, err := find(); err == nil {
		return p
	}
	root, err := repoRoot()
	if err != nil {
		missing(t, err.Error())
		return ""
	}
	path := filepath.Join(root, "scripts", script)
	out, runErr := exec.Command(path).CombinedOutput()
	p, err := find()
	if err != nil {
		missing(t, fmt.Sprintf("%v, and %s failed (%v):\n%s", err, path, runErr, out))
		return ""
	}
	return p
}

// repoRoot is the nearest folder at or above the working directory holding go.mod.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}
