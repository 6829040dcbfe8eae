package savefile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

type writerTo struct {
	data string
	err  error
}

func (w writerTo) WriteTo(out io.Writer) (int64, error) {
	n, _ := io.WriteString(out, w.data)
	return int64(n), w.err
}

// TestSave: a save creates the directory and replaces the file whole; a failed one
// leaves the old file and no temporary file behind.
func TestSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "model.bin")
	if err := Save(path, writerTo{data: "first"}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := Save(path, writerTo{data: "half of the sec", err: boom}); !errors.Is(err, boom) {
		t.Fatalf("failed save: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Fatalf("after a failed save the file holds %q", b)
	}
	if err := Save(path, writerTo{data: "second"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "second" {
		t.Fatalf("file holds %q", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("%d files beside the model, want none: %v", len(entries)-1, entries)
	}
}
