// Package savefile writes model files so that a reader never sees half of one: the
// content goes to a synced temporary file that renameio renames into place.
package savefile

import (
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
