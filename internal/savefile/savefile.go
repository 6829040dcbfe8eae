// Package savefile writes model files so that a reader never sees half of one: the
// content goes to a synced temporary file that renameio renames into place.
package savefile

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// Save writes what w writes to path atomically, creating path's directory when needed.
// On failure the file at path, if any, is left as it was.
func Save(path string, w io.WriterTo) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := renameio.NewPendingFile(path)
	if err != nil {
		return err
	}
	defer f.Cleanup()
	if _, err := w.WriteTo(f); err != nil {
		return err
	}
	return f.CloseAtomicallyReplace()
}

// Load opens path and reads it with read; read's error names the path.
func Load[T any](path string, read func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	v, err := read(f)
	if err != nil {
		return v, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// CountingWriter passes writes to W and counts the bytes written, for a WriteTo.
type CountingWriter struct {
	W io.Writer
	N int64
}

func (c *CountingWriter) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += int64(n)
	return n, err
}

// ErrMagic reports a file that does not begin with the magic string of its format (of
// another format, or another version of it).
var ErrMagic = errors.New("savefile: not this format or version")

// WriteGob writes magic and then v gob-encoded to w, and returns the bytes written: the
// body of a model's WriteTo.
func WriteGob(w io.Writer, magic string, v any) (int64, error) {
	cw := &CountingWriter{W: w}
	if _, err := io.WriteString(cw, magic); err != nil {
		return cw.N, err
	}
	err := gob.NewEncoder(cw).Encode(v)
	return cw.N, err
}

// ReadGob reads what WriteGob wrote with magic into v: ErrMagic when the file does not
// begin with magic, the decoder's error when the rest is not v's gob.
func ReadGob(r io.Reader, magic string, v any) error {
	br := bufio.NewReader(r)
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(br, head); err != nil || string(head) != magic {
		return ErrMagic
	}
	return gob.NewDecoder(br).Decode(v)
}
