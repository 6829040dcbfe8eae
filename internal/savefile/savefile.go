// Package savefile writes model files so that a reader never sees half of one: the
// content goes to a synced temporary file that renameio renames into place.
package savefile

import (
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
