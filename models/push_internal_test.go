package models

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestCopyFileRefusesItself: copying a file onto itself is refused and leaves it whole
// (os.Create used to truncate it before the first byte was read).
func TestCopyFileRefusesItself(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring.json")
	if err := os.WriteFile(path, []byte(`{"keys":["k1"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if _, err := copyFile(root, "keyring.json", in, 1<<20); !errors.Is(err, ErrInvalid) {
		t.Errorf("copy onto itself: %v, want ErrInvalid", err)
	}
	if got, _ := os.ReadFile(path); string(got) != `{"keys":["k1"]}` {
		t.Errorf("the file now holds %q", got)
	}
	if _, err := copyFile(root, "../outside", in, 1<<20); err == nil {
		t.Error("copied outside the destination folder")
	}
}
