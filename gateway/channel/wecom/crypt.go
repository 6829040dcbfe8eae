package wecom

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/switchboard-cs/switchboard/gateway/channel"
)

// crypt implements WeCom's callback encryption: SHA-1 signatures over
// the sorted (token, timestamp, nonce, ciphertext), and AES-256-CBC with
// IV = key[:16], PKCS#7 padding to 32-byte blocks, over
// random(16) ‖ len(msg) (4 bytes, big-endian) ‖ msg ‖ receive id.
type crypt struct {
	token     string
	key       []byte
	receiveID string // the corp id
}

var errCrypt = errors.New("wecom: bad encrypted message")

func newCrypt(token, encodingAESKey, receiveID string) (*crypt, error) {
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("wecom: EncodingAESKey must be 43 base64 characters (32 bytes)")
	}
	return &crypt{token: token, key: key, receiveID: receiveID}, nil
}

func (w *crypt) signature(timestamp, nonce, encrypted string) string {
	parts := []string{w.token, timestamp, nonce, encrypted}
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

func (w *crypt) verify(sig, timestamp, nonce, encrypted string) error {
	if subtle.ConstantTimeCompare([]byte(w.signature(timestamp, nonce, encrypted)), []byte(sig)) != 1 {
		return fmt.Errorf("%w: msg_signature does not match the WeCom token", channel.ErrUnauthenticated)
	}
	return nil
}

func (w *crypt) decrypt(encrypted string) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, errCrypt
	}
	block, _ := aes.NewCipher(w.key)
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, w.key[:16]).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > 32 || pad > len(pt) || !bytes.Equal(pt[len(pt)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, errCrypt
	}
	pt = pt[:len(pt)-pad]
	if len(pt) < 20 {
		return nil, errCrypt
	}
	n := int(binary.BigEndian.Uint32(pt[16:20]))
	if n > len(pt)-20 {
		return nil, errCrypt
	}
	msg, rid := pt[20:20+n], string(pt[20+n:])
	if w.receiveID != "" && subtle.ConstantTimeCompare([]byte(rid), []byte(w.receiveID)) != 1 {
		return nil, fmt.Errorf("%w: addressed to another corp", errCrypt)
	}
	return msg, nil
}

func (w *crypt) encrypt(msg []byte) (string, error) {
	buf := make([]byte, 20, 20+len(msg)+len(w.receiveID)+32)
	if _, err := rand.Read(buf[:16]); err != nil {
		return "", err
	}
	binary.BigEndian.PutUint32(buf[16:20], uint32(len(msg)))
	buf = append(append(buf, msg...), w.receiveID...)
	pad := 32 - len(buf)%32
	buf = append(buf, bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, _ := aes.NewCipher(w.key)
	cipher.NewCBCEncrypter(block, w.key[:16]).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}
