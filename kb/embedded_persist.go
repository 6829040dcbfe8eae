package kb

import (
	"bufio"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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

// loadSnapshot reads the points persisted under dir and the file's SHA-256; a missing
// file is an empty index.
func loadSnapshot(dir string) ([]Point, string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, "", fmt.Errorf("kb: create index dir: %w", err)
	}
	f, err := os.Open(filepath.Join(dir, snapshotFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("kb: open index: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	r := bufio.NewReaderSize(io.TeeReader(f, h), 1<<20)
	var s snapshot
	if err := gob.NewDecoder(r).Decode(&s); err != nil {
		return nil, "", fmt.Errorf("%w: %s: %w", ErrCorrupt, f.Name(), err)
	}
	if s.Version != snapshotVersion {
		return nil, "", fmt.Errorf("%w: %s: version %d, want %d", ErrCorrupt, f.Name(), s.Version, snapshotVersion)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, "", fmt.Errorf("kb: read index: %w", err)
	}
	return s.Points, hex.EncodeToString(h.Sum(nil)), nil
}

// writeSnapshot writes points to a temporary file, syncs it and renames it over the
// snapshot, so a crash leaves either the old or the new index, never a torn one. It
// returns the file's SHA-256.
func writeSnapshot(dir string, points []Point) (string, error) {
	h := sha256.New()
	err := writeAtomic(dir, snapshotFile, func(w io.Writer) error {
		bw := bufio.NewWriterSize(io.MultiWriter(w, h), 1<<20)
		if err := gob.NewEncoder(bw).Encode(snapshot{Version: snapshotVersion, Points: points}); err != nil {
			return fmt.Errorf("kb: encode index: %w", err)
		}
		return bw.Flush()
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeAtomic writes name under dir through a synced temporary file renamed over it.
func writeAtomic(dir, name string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return fmt.Errorf("kb: write %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return fmt.Errorf("kb: write %s: %w", name, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("kb: sync %s: %w", name, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("kb: close %s: %w", name, err)
	}
	if err = os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("kb: replace %s: %w", name, err)
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
