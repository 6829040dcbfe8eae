package fieldcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"
)

// KeySize is the length in bytes of every key: AES-256 data keys and the HMAC index key.
const KeySize = 32

const (
	formatVersion = 1
	nonceSize     = 12
	tagSize       = 16
	maxKeyIDLen   = 64
)

var (
	// ErrDecrypt is returned for any ciphertext that cannot be opened: tampered,
	// truncated, bound to different additional data, or made with an unknown key.
	ErrDecrypt = errors.New("fieldcrypt: cannot decrypt")
	// ErrInvalidKeyRing is returned for malformed keys, key ids or key ring files.
	ErrInvalidKeyRing = errors.New("fieldcrypt: invalid key ring")
)

// KeyRing encrypts and decrypts fields and computes blind indexes. Build it with New or
// LoadOrCreate; the zero value is not usable. It is safe for concurrent use.
type KeyRing struct {
	mu       sync.RWMutex
	aeads    map[string]cipher.AEAD
	raw      map[string][]byte
	active   string
	indexKey []byte

	// Set by Open: the file the ring was read from and its key-encryption key, for
	// Rotate and Reload.
	path       string
	kek        []byte
	lastReload time.Time
}

// New builds a key ring from data keys by id, the id of the key that encrypts new data,
// and the blind-index key. Every key must be KeySize bytes; ids are 1–64 characters of
// [A-Za-z0-9._-]. The inputs are copied.
func New(keys map[string][]byte, active string, indexKey []byte) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no data keys", ErrInvalidKeyRing)
	}
	if _, ok := keys[active]; !ok {
		return nil, fmt.Errorf("%w: active key %q is not among the data keys", ErrInvalidKeyRing, active)
	}
	if len(indexKey) != KeySize {
		return nil, fmt.Errorf("%w: index key must be %d bytes, got %d", ErrInvalidKeyRing, KeySize, len(indexKey))
	}
	k := &KeyRing{
		aeads:    make(map[string]cipher.AEAD, len(keys)),
		raw:      make(map[string][]byte, len(keys)),
		active:   active,
		indexKey: bytes.Clone(indexKey),
	}
	for id, key := range keys {
		if err := k.add(id, key); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// add validates and installs one data key; the caller holds the lock or owns k.
func (k *KeyRing) add(id string, key []byte) error {
	if err := validKeyID(id); err != nil {
		return err
	}
	if len(key) != KeySize {
		return fmt.Errorf("%w: key %q must be %d bytes, got %d", ErrInvalidKeyRing, id, KeySize, len(key))
	}
	if bytes.Equal(key, k.indexKey) {
		return fmt.Errorf("%w: key %q equals the index key; use separate keys", ErrInvalidKeyRing, id)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("%w: key %q: %w", ErrInvalidKeyRing, id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("%w: key %q: %w", ErrInvalidKeyRing, id, err)
	}
	k.aeads[id] = aead
	k.raw[id] = bytes.Clone(key)
	return nil
}

func validKeyID(id string) error {
	if id == "" || len(id) > maxKeyIDLen {
		return fmt.Errorf("%w: key id %q must be 1–%d characters", ErrInvalidKeyRing, id, maxKeyIDLen)
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("%w: key id %q may hold only letters, digits, '.', '_' and '-'", ErrInvalidKeyRing, id)
		}
	}
	return nil
}

// ActiveKeyID is the id of the key that encrypts new data.
func (k *KeyRing) ActiveKeyID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active
}

// Encrypt seals plaintext with the active key. The result embeds the format version, the
// key id and a fresh random nonce; aad is authenticated but not stored, and the same aad
// must be given to Decrypt.
func (k *KeyRing) Encrypt(plaintext, aad []byte) ([]byte, error) {
	k.mu.RLock()
	id, aead := k.active, k.aeads[k.active]
	k.mu.RUnlock()

	header := makeHeader(id)
	out := make([]byte, len(header)+nonceSize, len(header)+nonceSize+len(plaintext)+tagSize)
	copy(out, header)
	nonce := out[len(header):]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("fieldcrypt: nonce: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, boundAAD(header, aad)), nil
}

// Decrypt opens a ciphertext made by Encrypt with any key still on the ring. Every
// failure wraps ErrDecrypt.
func (k *KeyRing) Decrypt(ciphertext, aad []byte) ([]byte, error) {
	id, header, err := parseHeader(ciphertext)
	if err != nil {
		return nil, err
	}
	k.mu.RLock()
	aead, ok := k.aeads[id]
	k.mu.RUnlock()
	if !ok && k.reloadForUnknown() {
		k.mu.RLock()
		aead, ok = k.aeads[id]
		k.mu.RUnlock()
	}
	if !ok {
		return nil, fmt.Errorf("%w: unknown key id %q", ErrDecrypt, id)
	}
	rest := ciphertext[len(header):]
	if len(rest) < nonceSize+tagSize {
		return nil, fmt.Errorf("%w: truncated ciphertext", ErrDecrypt)
	}
	plain, err := aead.Open(nil, rest[:nonceSize], rest[nonceSize:], boundAAD(header, aad))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrDecrypt)
	}
	return plain, nil
}

// EncryptString is Encrypt for a string plaintext.
func (k *KeyRing) EncryptString(plaintext string, aad []byte) ([]byte, error) {
	return k.Encrypt([]byte(plaintext), aad)
}

// DecryptString is Decrypt returning a string.
func (k *KeyRing) DecryptString(ciphertext, aad []byte) (string, error) {
	plain, err := k.Decrypt(ciphertext, aad)
	return string(plain), err
}

// KeyID reports which key made a ciphertext, so a re-encryption job can find rows still
// sealed with a retired key. It does not authenticate the ciphertext.
func KeyID(ciphertext []byte) (string, error) {
	id, _, err := parseHeader(ciphertext)
	return id, err
}

// makeHeader is version | len(id) | id.
func makeHeader(id string) []byte {
	h := make([]byte, 0, 2+len(id))
	h = append(h, formatVersion, byte(len(id)))
	return append(h, id...)
}

func parseHeader(ct []byte) (id string, header []byte, err error) {
	if len(ct) < 2 || ct[0] != formatVersion {
		return "", nil, fmt.Errorf("%w: not a fieldcrypt ciphertext", ErrDecrypt)
	}
	n := int(ct[1])
	if n == 0 || n > maxKeyIDLen || len(ct) < 2+n {
		return "", nil, fmt.Errorf("%w: malformed key id", ErrDecrypt)
	}
	return string(ct[2 : 2+n]), ct[:2+n], nil
}

// boundAAD authenticates the header together with the caller's aad; the header has a
// self-delimiting length, so the concatenation is unambiguous.
func boundAAD(header, aad []byte) []byte {
	out := make([]byte, 0, len(header)+len(aad))
	return append(append(out, header...), aad...)
}
