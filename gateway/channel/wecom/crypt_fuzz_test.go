package wecom

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/switchboard-cs/switchboard/gateway/channel"
)

// The fuzzer's callback settings.
const (
	fuzzWeComToken  = "cb-token"
	fuzzWeComAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	fuzzWeComCorp   = "ww-corp"
)

// FuzzWeComDecrypt: arbitrary ciphertexts (as base64 and as raw strings) and arbitrary
// plaintext blocks under the right key — bad padding, bad lengths, another corp's id —
// are refused with errCrypt and never panic; encrypt → decrypt is the identity, and
// a message sealed for another corp is refused; a signature other than the right one is
// refused with channel.ErrUnauthenticated.
func FuzzWeComDecrypt(f *testing.F) {
	w, err := newCrypt(fuzzWeComToken, fuzzWeComAESKey, fuzzWeComCorp)
	if err != nil {
		f.Fatal(err)
	}
	other, _ := newCrypt(fuzzWeComToken, fuzzWeComAESKey, "ww-other")
	good, _ := w.encrypt([]byte("<xml/>"))
	raw, _ := base64.StdEncoding.DecodeString(good)
	f.Add(raw, []byte("<xml><Content>hi</Content></xml>"), "")
	f.Add(bytes.Repeat([]byte{32}, 64), []byte{}, "0000")
	f.Add([]byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff"), []byte("x"), good)
	f.Fuzz(func(t *testing.T, ct, msg []byte, sig string) {
		for _, enc := range []string{base64.StdEncoding.EncodeToString(ct), string(ct)} {
			if out, err := w.decrypt(enc); err != nil && !errors.Is(err, errCrypt) {
				t.Fatalf("error outside errCrypt: %v", err)
			} else if err == nil && len(out) > len(ct) {
				t.Fatalf("%d bytes of message from %d of ciphertext", len(out), len(ct))
			}
		}
		if blocks := len(ct) / 32 * 32; blocks > 0 { // raw blocks under the right key: padding and lengths as they come
			block, _ := aes.NewCipher(w.key)
			sealed := make([]byte, blocks)
			cipher.NewCBCEncrypter(block, w.key[:16]).CryptBlocks(sealed, ct[:blocks])
			if _, err := w.decrypt(base64.StdEncoding.EncodeToString(sealed)); err != nil && !errors.Is(err, errCrypt) {
				t.Fatalf("error outside errCrypt: %v", err)
			}
		}
		enc, err := w.encrypt(msg)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := w.decrypt(enc); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("round trip of %q: %q, %v", msg, got, err)
		}
		if _, err := other.decrypt(enc); !errors.Is(err, errCrypt) {
			t.Fatalf("a message for %s opened as ww-other's: %v", fuzzWeComCorp, err)
		}
		right := w.signature("1", "n", enc)
		if err := w.verify(right, "1", "n", enc); err != nil {
			t.Fatal(err)
		}
		if sig != right {
			if err := w.verify(sig, "1", "n", enc); !errors.Is(err, channel.ErrUnauthenticated) {
				t.Fatalf("signature %q accepted: %v", sig, err)
			}
		}
	})
}
