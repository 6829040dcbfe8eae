package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// Pushed describes a version Push added; it is what the audit log records.
type Pushed struct {
	Model   string `json:"model"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"` // of model.onnx
}

// PushAudit records a push before it is published; an error cancels the push.
type PushAudit func(ctx context.Context, p Pushed) error

// EvalFiler is an Evaluator whose evaluation sets list further files (the images of an
// image-classification set); Push copies them with the set. Names are relative to the
// version folder.
type EvalFiler interface {
	EvalFiles(m *Manifest) ([]string, error)
}

// Push copies a model file and its manifest, and the files the manifest names (labels,
// eval set and the files the set lists) from the manifest's folder, into a new version
// folder of name, and returns the version. Every file the manifest names is read through
// an os.Root on the manifest's folder and written through one on the new version folder:
// a path leading outside either is refused with ErrInvalid. audit (when not nil) runs
// before the version is published; its error cancels the push. Under the latest policy
// the next Refresh serves the version once it validates.
func (r *Registry) Push(ctx context.Context, name, modelPath, manifestPath string, audit PushAudit) (Pushed, error) {
	if !ValidName(name) {
		return Pushed{}, fmt.Errorf("%w: model name %q (lower-case letters, digits, . _ -)", ErrBadInput, name)
	}
	r.opMu.Lock()
	defer r.opMu.Unlock()
	modelDir := filepath.Join(r.opts.Dir, name)
	if err := os.MkdirAll(modelDir, 0o755); err != nil {
		return Pushed{}, err
	}
	tmp, err := os.MkdirTemp(modelDir, ".push-")
	if err != nil {
		return Pushed{}, err
	}
	defer os.RemoveAll(tmp)
	dst, err := os.OpenRoot(tmp)
	if err != nil {
		return Pushed{}, err
	}
	defer dst.Close()
	sum, err := r.pushFiles(dst, name, modelPath, manifestPath)
	if err != nil {
		return Pushed{}, err
	}
	p := Pushed{Model: name, Version: r.nextVersion(name), SHA256: sum}
	if audit != nil {
		if err := audit(ctx, p); err != nil {
			return Pushed{}, fmt.Errorf("models: push of %s/%s cancelled: audit: %w", name, p.Version, err)
		}
	}
	if err := os.Rename(tmp, filepath.Join(modelDir, p.Version)); err != nil {
		return Pushed{}, fmt.Errorf("models: push: %w", err)
	}
	return p, nil
}

// pushFiles fills dst with the version's files and returns the model's SHA-256.
func (r *Registry) pushFiles(dst *os.Root, name, modelPath, manifestPath string) (string, error) {
	sum, err := copyPath(dst, ModelFile, modelPath, MaxModelFile)
	if err != nil {
		return "", err
	}
	if _, err := copyPath(dst, ManifestFile, manifestPath, MaxManifestFile); err != nil {
		return "", err
	}
	data, err := dst.ReadFile(ManifestFile)
	if err != nil {
		return "", err
	}
	man := &Manifest{Dir: filepath.Dir(manifestPath), Name: name, Version: "upload"}
	if err := man.decode(data); err != nil {
		return "", err
	}
	names, err := r.pushedNames(man)
	if err != nil {
		return "", err
	}
	for _, rel := range names {
		if err := copyNamed(dst, man, rel); err != nil {
			return "", err
		}
	}
	return sum, nil
}

// pushedNames are the files the manifest names and those its eval set lists, once each.
func (r *Registry) pushedNames(man *Manifest) ([]string, error) {
	names := man.files()
	if ef, ok := r.opts.Evaluators[man.Task].(EvalFiler); ok && man.Eval != nil {
		more, err := ef.EvalFiles(man)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: eval set: %w", ErrInvalid, man.id(), err)
		}
		names = append(names, more...)
	}
	for i, n := range names {
		names[i] = filepath.Clean(n)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// nextVersion is one above the highest version on disk.
func (r *Registry) nextVersion(name string) string {
	next := 1
	if vers := r.versionsOnDisk(name); len(vers) > 0 {
		last, _ := strconv.Atoi(vers[len(vers)-1])
		next = last + 1
	}
	return strconv.Itoa(next)
}

// copyPath copies the file at src (a path the caller chose: the model or the manifest)
// to name in dst, and returns its SHA-256.
func copyPath(dst *os.Root, name, src string, limit int64) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	defer in.Close()
	return copyFile(dst, name, in, limit)
}

// copyNamed copies a file the manifest names from its folder (through an os.Root on it)
// to the same name in dst.
func copyNamed(dst *os.Root, man *Manifest, rel string) error {
	in, err := man.Open(rel)
	if err != nil {
		return err
	}
	defer in.Close()
	_, err = copyFile(dst, rel, in, MaxModelFile)
	return err
}

// copyFile writes in to a new file name in dst. It refuses when the destination exists
// (it never truncates a file), in particular when it is in itself, and when in is over
// limit bytes.
func copyFile(dst *os.Root, name string, in *os.File, limit int64) (string, error) {
	src, err := in.Stat()
	if err != nil {
		return "", fmt.Errorf("models: %w", err)
	}
	if !src.Mode().IsRegular() {
		return "", fmt.Errorf("%w: %s is not a regular file", ErrInvalid, name)
	}
	if fi, err := dst.Stat(name); err == nil {
		if os.SameFile(fi, src) {
			return "", fmt.Errorf("%w: %s: source and destination are the same file", ErrInvalid, name)
		}
		return "", fmt.Errorf("%w: %s is named twice", ErrInvalid, name)
	}
	if dir := filepath.Dir(name); dir != "." {
		if err := dst.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("%w: %s: %w", ErrInvalid, name, pathErr(err))
		}
	}
	out, err := dst.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrInvalid, name, pathErr(err))
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(in, limit+1))
	if err == nil && n > limit {
		err = fmt.Errorf("%w: %s is over %d bytes", ErrInvalid, name, limit)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
