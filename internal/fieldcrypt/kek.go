package fieldcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// wrapAAD binds a sealed ring to its role: a sealed blob from elsewhere does not open.
var wrapAAD = []byte("switchboard/keyring/v1")

// ParseKEK decodes a key-encryption key given as 64 hex digits or as base64 (standard or
// URL alphabet, padded or not) of KeySize bytes, e.g. from `openssl rand -base64 32`.
func ParseKEK(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w: the key-encryption key must be %d bytes as 64 hex digits or base64 "+
		"(for example from `openssl rand -base64 32`)", ErrInvalidKeyRing, KeySize)
}

func kekAEAD(kek []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("%w: key-encryption key: %w", ErrInvalidKeyRing, err)
	}
	return cipher.NewGCM(block)
}

// wrapRing seals the JSON of rf with kek: base64(nonce | ciphertext).
func wrapRing(rf ringFile, kek []byte) (string, error) {
	plain, err := json.Marshal(rf)
	if err != nil {
		return "", fmt.Errorf("fieldcrypt: encode key ring: %w", err)
	}
	aead, err := kekAEAD(kek)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, nonceSize, nonceSize+len(plain)+tagSize)
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("fieldcrypt: nonce: %w", err)
	}
	return base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, wrapAAD)), nil
}

// unwrapRing opens what wrapRing sealed.
func unwrapRing(wrapped string, kek []byte) (ringFile, error) {
	raw, err := base64.StdEncoding.DecodeString(wrapped)
	if err != nil {
		return ringFile{}, fmt.Errorf("wrapped ring: %w", err)
	}
	aead, err := kekAEAD(kek)
	if err != nil {
		return ringFile{}, err
	}
	if len(raw) < nonceSize+tagSize {
		return ringFile{}, errors.New("wrapped ring is truncated")
	}
	plain, err := aead.Open(nil, raw[:nonceSize], raw[nonceSize:], wrapAAD)
	if err != nil {
		return ringFile{}, errors.New("the key-encryption key does not open the ring (wrong SWITCHBOARD_KEYRING_KEK?)")
	}
	rf, err := decodeRing(plain)
	if err == nil && rf.Wrapped != "" {
		err = errors.New("a wrapped ring inside a wrapped ring")
	}
	return rf, err
}
