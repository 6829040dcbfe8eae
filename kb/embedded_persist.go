package kb

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// snapshotFile is the name of the index snapshot under the index directory.
const snapshotFile = "index.gob"

// snapshotVersion is bumped whenever the snapshot layout changes.
const snapshotVersion = 1

// snapshot is the on-disk form of the embedded index: the live points only; postings and
// document frequencies are rebuilt on load.
type snapshot struct {
	Version int
	Points  []Point
}

// loadSnapshot reads the points persisted under dir; a missing file is an empty index.
func loadSnapshot(dir string) ([]Point, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("kb: create index dir: %w", err)
	}
	f, err := os.Open(filepath.Join(dir, snapshotFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kb: open index: %w", err)
	}
	defer f.Close()
	var s snapshot
	if err := gob.NewDecoder(bufio.NewReaderSize(f, 1<<20)).Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, f.Name(), err)
	}
	if s.Version != snapshotVersion {
		return nil, fmt.Errorf("%w: %s: version %d, want %d", ErrCorrupt, f.Name(), s.Version, snapshotVersion)
	}
	return s.Points, nil
}

// writeSnapshot writes points to a temporary file, syncs it and renames it over the
// snapshot, so a crash leaves either the old or the new index, never a torn one.
func writeSnapshot(dir string, points []Point) (err error) {
	tmp, err := os.CreateTemp(dir, snapshotFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("kb: write index: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err = gob.NewEncoder(w).Encode(snapshot{Version: snapshotVersion, Points: points}); err != nil {
		return fmt.Errorf("kb: encode index: %w", err)
	}
	if err = w.Flush(); err != nil {
		return fmt.Errorf("kb: write index: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("kb: sync index: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("kb: close index: %w", err)
	}
	if err = os.Rename(tmp.Name(), filepath.Join(dir, snapshotFile)); err != nil {
		return fmt.Errorf("kb: replace index: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes the rename durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("kb: sync index dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("kb: sync index dir: %w", err)
	}
	return nil
}
