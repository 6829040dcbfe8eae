package savefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

// TestLoad reads a saved file back, names the path in a reader's error and passes a
// missing file's error through (errors.Is fs.ErrNotExist).
func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.bin")
	if err := Save(path, writerTo{data: "hello"}); err != nil {
		t.Fatal(err)
	}
	read := func(r io.Reader) (string, error) {
		b, err := io.ReadAll(r)
		if string(b) != "hello" {
			return "", errors.New("bad content")
		}
		return string(b), err
	}
	if got, err := Load(path, read); err != nil || got != "hello" {
		t.Fatalf("Load = %q, %v", got, err)
	}
	if err := os.WriteFile(path, []byte("bye"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, read); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a reader's error must name the path: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none"), read); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	var cw CountingWriter
	cw.W = io.Discard
	fmt.Fprint(&cw, "12345")
	if cw.N != 5 {
		t.Errorf("counted %d bytes, want 5", cw.N)
	}
}

// TestGob: what WriteGob writes ReadGob reads back; another magic is ErrMagic.
func TestGob(t *testing.T) {
	type rec struct{ A []int }
	var buf strings.Builder
	n, err := WriteGob(&buf, "TEST0001", rec{A: []int{1, 2}})
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteGob = %d, %v (wrote %d)", n, err, buf.Len())
	}
	var back rec
	if err := ReadGob(strings.NewReader(buf.String()), "TEST0001", &back); err != nil || len(back.A) != 2 || back.A[1] != 2 {
		t.Fatalf("ReadGob = %+v, %v", back, err)
	}
	if err := ReadGob(strings.NewReader(buf.String()), "TEST0002", &back); !errors.Is(err, ErrMagic) {
		t.Errorf("another version: %v", err)
	}
	if err := ReadGob(strings.NewReader("TEST0001 not gob"), "TEST0001", &back); err == nil || errors.Is(err, ErrMagic) {
		t.Errorf("a damaged body: %v", err)
	}
}
