package models

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Size limits of the files a version folder holds.
const (
	MaxManifestFile = 1 << 20  // manifest.yaml
	MaxLabelsFile   = 16 << 20 // a labels file: a few tens of kilobytes in practice
	MaxModelFile    = 2 << 30  // model.onnx: the protobuf limit of ONNX
)

// localName checks a path a manifest names: relative, and inside the version folder
// (filepath.IsLocal: no "..", no absolute path, not empty).
func localName(field, name string) error {
	if !filepath.IsLocal(name) {
		return fmt.Errorf("%s %q: a manifest may only name files inside its version folder "+
			"(a relative path without \"..\")", field, name)
	}
	return nil
}

// pathErr is the cause of a file error without the path it was given (the caller names
// the file itself).
func pathErr(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// Open opens a file the manifest names (its labels, its eval set, a file the eval set
// lists), relative to the version folder, through an os.Root on that folder: an absolute
// path, "..", or a symbolic link leading outside the folder is refused with ErrInvalid.
func (m *Manifest) Open(name string) (*os.File, error) {
	if err := localName("file", name); err != nil {
		return nil, fmt.Errorf("%w: %s/%s: %v", ErrInvalid, m.Name, m.Version, err)
	}
	root, err := os.OpenRoot(m.Dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %s/%s: %w", ErrInvalid, m.Name, m.Version, err)
	}
	defer root.Close() // files opened through it stay open
	f, err := root.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s/%s: %s: %w", ErrInvalid, m.Name, m.Version, name, pathErr(err))
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s/%s: %s is not a regular file", ErrInvalid, m.Name, m.Version, name)
	}
	return f, nil
}

// ReadFile reads a file the manifest names (see Open); a file over limit bytes is
// refused with ErrInvalid.
func (m *Manifest) ReadFile(name string, limit int64) ([]byte, error) {
	f, err := m.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s/%s: read %s: %w", ErrInvalid, m.Name, m.Version, name, pathErr(err))
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s/%s: %s is over %d bytes", ErrInvalid, m.Name, m.Version, name, limit)
	}
	return data, nil
}
