package fieldcrypt

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ringFile is the JSON form of a key ring; keys are standard base64.
type ringFile struct {
	Version  int               `json:"version"`
	Active   string            `json:"active"`
	Keys     map[string]string `json:"keys"`
	IndexKey string            `json:"index_key"`
}

// LoadOrCreate reads the key ring at path, or creates a fresh one (one data key and an
// index key, file mode 0600, parent directories 0700) when the file is absent. Processes
// racing to create the same file all end up with the ring that was written first.
func LoadOrCreate(path string) (*KeyRing, error) {
	k, err := load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	k, err = generate()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("fieldcrypt: create key ring directory: %w", err)
	}
	err = writeRing(path, k.snapshot(), false)
	if errors.Is(err, fs.ErrExist) {
		return load(path) // another process created it first
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}

// Rotate adds a fresh data key, makes it active, and saves the whole ring to path. Older
// keys stay on the ring so existing ciphertexts still decrypt. When saving fails the ring
// is unchanged.
func (k *KeyRing) Rotate(path string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	id, err := newKeyID(k.raw)
	if err != nil {
		return "", err
	}
	key, err := randomKey()
	if err != nil {
		return "", err
	}
	rf := k.snapshotLocked()
	rf.Keys[id] = base64.StdEncoding.EncodeToString(key)
	rf.Active = id
	if err := writeRing(path, rf, true); err != nil {
		return "", err
	}
	if err := k.add(id, key); err != nil {
		return "", err
	}
	k.active = id
	return id, nil
}

func (k *KeyRing) snapshot() ringFile {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.snapshotLocked()
}

func (k *KeyRing) snapshotLocked() ringFile {
	rf := ringFile{
		Version:  formatVersion,
		Active:   k.active,
		Keys:     make(map[string]string, len(k.raw)+1),
		IndexKey: base64.StdEncoding.EncodeToString(k.indexKey),
	}
	for id, key := range k.raw {
		rf.Keys[id] = base64.StdEncoding.EncodeToString(key)
	}
	return rf
}

// load reads and validates a key ring file; a missing file yields fs.ErrNotExist.
func load(path string) (*KeyRing, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fieldcrypt: read key ring: %w", err)
	}
	var rf ringFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rf); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidKeyRing, path, err)
	}
	if rf.Version != formatVersion {
		return nil, fmt.Errorf("%w: %s: unsupported version %d", ErrInvalidKeyRing, path, rf.Version)
	}
	keys := make(map[string][]byte, len(rf.Keys))
	for id, b64 := range rf.Keys {
		if keys[id], err = base64.StdEncoding.DecodeString(b64); err != nil {
			return nil, fmt.Errorf("%w: %s: key %q: %w", ErrInvalidKeyRing, path, id, err)
		}
	}
	indexKey, err := base64.StdEncoding.DecodeString(rf.IndexKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: index key: %w", ErrInvalidKeyRing, path, err)
	}
	k, err := New(keys, rf.Active, indexKey)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// generate makes a ring with one random data key and a random index key.
func generate() (*KeyRing, error) {
	id, err := newKeyID(nil)
	if err != nil {
		return nil, err
	}
	key, err := randomKey()
	if err != nil {
		return nil, err
	}
	indexKey, err := randomKey()
	if err != nil {
		return nil, err
	}
	return New(map[string][]byte{id: key}, id, indexKey)
}

// writeRing writes rf to path with mode 0600 through a temporary file in the same
// directory, so readers never see a partial ring. With replace false an existing file is
// left alone and the error wraps fs.ErrExist.
func writeRing(path string, rf ringFile, replace bool) error {
	data, err := json.MarshalIndent(rf, "", "  ")
	if err != nil {
		return fmt.Errorf("fieldcrypt: encode key ring: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keyring-*.tmp")
	if err != nil {
		return fmt.Errorf("fieldcrypt: write key ring: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a rename or link the name is gone or redundant
	if err := writeSynced(tmp, append(data, '\n')); err != nil {
		return fmt.Errorf("fieldcrypt: write key ring: %w", err)
	}
	if replace {
		err = os.Rename(tmp.Name(), path)
	} else {
		err = os.Link(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("fieldcrypt: install key ring: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func writeSynced(f *os.File, data []byte) error {
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fieldcrypt: sync key ring directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fieldcrypt: sync key ring directory: %w", err)
	}
	return nil
}

func randomKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("fieldcrypt: generate key: %w", err)
	}
	return key, nil
}

// newKeyID returns a random id of the form "k" + 8 hex digits not already in taken.
func newKeyID(taken map[string][]byte) (string, error) {
	for {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("fieldcrypt: generate key id: %w", err)
		}
		id := "k" + hex.EncodeToString(b[:])
		if _, dup := taken[id]; !dup {
			return id, nil
		}
	}
}
