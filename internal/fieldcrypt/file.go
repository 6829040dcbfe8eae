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

// ringFile is the JSON form of a key ring; keys are standard base64. A ring sealed with a
// key-encryption key is stored as {"version": 1, "wrapped": "<base64>"}, the wrapped
// value being the AES-256-GCM sealed JSON of the plain form.
type ringFile struct {
	Version  int               `json:"version"`
	Active   string            `json:"active,omitempty"`
	Keys     map[string]string `json:"keys,omitempty"`
	IndexKey string            `json:"index_key,omitempty"`
	Wrapped  string            `json:"wrapped,omitempty"`
}

// Options configure Open.
type Options struct {
	// KEK is the key-encryption key (KeySize bytes, see ParseKEK) the ring file is
	// sealed with. A ring file still in plaintext is sealed when opened with a KEK;
	// a sealed file cannot be opened without it.
	KEK []byte
	// Create makes a fresh ring when the file is absent; without it a missing file is
	// an error (replicas must share one ring, never make their own).
	Create bool
}

// LoadOrCreate is Open with Create and no key-encryption key.
func LoadOrCreate(path string) (*KeyRing, error) { return Open(path, Options{Create: true}) }

// Open reads the key ring at path, or with opts.Create creates a fresh one (one data key
// and an index key, file mode 0600, parent directories 0700) when the file is absent.
// Processes racing to create the same file all end up with the ring that was written
// first. The ring remembers path and opts.KEK for Rotate and Reload.
func Open(path string, opts Options) (*KeyRing, error) {
	if opts.KEK != nil && len(opts.KEK) != KeySize {
		return nil, fmt.Errorf("%w: the key-encryption key must be %d bytes, got %d", ErrInvalidKeyRing, KeySize, len(opts.KEK))
	}
	k, sealed, err := load(path, opts.KEK)
	switch {
	case err == nil && opts.KEK != nil && !sealed:
		// Seal a plaintext ring now that a key-encryption key is given.
		if err := writeRing(path, k.snapshot(), true, opts.KEK); err != nil {
			return nil, err
		}
	case errors.Is(err, fs.ErrNotExist) && opts.Create:
		if k, err = create(path, opts.KEK); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	}
	k.path, k.kek = path, bytes.Clone(opts.KEK)
	return k, nil
}

func create(path string, kek []byte) (*KeyRing, error) {
	k, err := generate()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("fieldcrypt: create key ring directory: %w", err)
	}
	err = writeRing(path, k.snapshot(), false, kek)
	if errors.Is(err, fs.ErrExist) {
		k, _, err = load(path, kek) // another process created it first
		return k, err
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
	if err := writeRing(path, rf, true, k.kek); err != nil {
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

// load reads and validates a key ring file, unsealing it with kek when it is sealed; a
// missing file yields fs.ErrNotExist.
func load(path string, kek []byte) (*KeyRing, bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false, fmt.Errorf("fieldcrypt: read key ring: %w", err)
	}
	rf, err := decodeRing(data)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %s: %w", ErrInvalidKeyRing, path, err)
	}
	sealed := rf.Wrapped != ""
	if sealed {
		if kek == nil {
			return nil, true, fmt.Errorf("%w: %s is sealed with a key-encryption key; set SWITCHBOARD_KEYRING_KEK", ErrInvalidKeyRing, path)
		}
		if rf, err = unwrapRing(rf.Wrapped, kek); err != nil {
			return nil, true, fmt.Errorf("%w: %s: %w", ErrInvalidKeyRing, path, err)
		}
	}
	k, err := fromFile(rf)
	if err != nil {
		return nil, sealed, fmt.Errorf("%s: %w", path, err)
	}
	return k, sealed, nil
}

// decodeRing decodes the JSON of a ring file strictly.
func decodeRing(data []byte) (ringFile, error) {
	var rf ringFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rf); err != nil {
		return rf, err
	}
	if rf.Version != formatVersion {
		return rf, fmt.Errorf("unsupported version %d", rf.Version)
	}
	if rf.Wrapped != "" && (rf.Active != "" || rf.Keys != nil || rf.IndexKey != "") {
		return rf, errors.New("a sealed ring holds nothing but its wrapped form")
	}
	return rf, nil
}

// fromFile builds a ring from the plain form of its file.
func fromFile(rf ringFile) (*KeyRing, error) {
	keys := make(map[string][]byte, len(rf.Keys))
	for id, b64 := range rf.Keys {
		var err error
		if keys[id], err = base64.StdEncoding.DecodeString(b64); err != nil {
			return nil, fmt.Errorf("%w: key %q: %w", ErrInvalidKeyRing, id, err)
		}
	}
	indexKey, err := base64.StdEncoding.DecodeString(rf.IndexKey)
	if err != nil {
		return nil, fmt.Errorf("%w: index key: %w", ErrInvalidKeyRing, err)
	}
	return New(keys, rf.Active, indexKey)
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
// directory, so readers never see a partial ring; with kek the file holds rf sealed. With
// replace false an existing file is left alone and the error wraps fs.ErrExist.
func writeRing(path string, rf ringFile, replace bool, kek []byte) error {
	if kek != nil {
		wrapped, err := wrapRing(rf, kek)
		if err != nil {
			return err
		}
		rf = ringFile{Version: formatVersion, Wrapped: wrapped}
	}
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
