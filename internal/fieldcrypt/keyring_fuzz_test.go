package fieldcrypt

import (
	"bytes"
	"errors"
	"testing"
)

func fuzzRing(f *testing.F) *KeyRing {
	f.Helper()
	k, err := New(map[string][]byte{"k1": bytes.Repeat([]byte{1}, KeySize), "k2": bytes.Repeat([]byte{2}, KeySize)},
		"k2", bytes.Repeat([]byte{3}, KeySize))
	if err != nil {
		f.Fatal(err)
	}
	return k
}

// FuzzDecrypt opens arbitrary ciphertexts: every failure is ErrDecrypt; a sealed value opens with its own additional data
// only, names the active key, and any changed byte or cut makes it unopenable.
func FuzzDecrypt(f *testing.F) {
	k := fuzzRing(f)
	sealed, _ := k.Encrypt([]byte("13812345678"), []byte("pii_vault:1:[PHONE_1]"))
	f.Add(sealed, []byte("pii_vault:1:[PHONE_1]"), []byte("13812345678"), uint16(3))
	f.Add([]byte("\x01\x02k1"), []byte{}, []byte{}, uint16(0))
	f.Add([]byte("\x01\x40"), []byte("x"), []byte("y"), uint16(1))
	f.Fuzz(func(t *testing.T, ct, aad, plain []byte, at uint16) {
		if _, err := k.Decrypt(ct, aad); err != nil && !errors.Is(err, ErrDecrypt) {
			t.Fatalf("error outside ErrDecrypt: %v", err)
		}
		if _, err := KeyID(ct); err != nil && !errors.Is(err, ErrDecrypt) {
			t.Fatalf("KeyID error outside ErrDecrypt: %v", err)
		}
		sealed, err := k.Encrypt(plain, aad)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := k.Decrypt(sealed, aad); err != nil || !bytes.Equal(out, plain) {
			t.Fatalf("round trip: %q %v", out, err)
		}
		if id, err := KeyID(sealed); err != nil || id != "k2" {
			t.Fatalf("key id %q %v", id, err)
		}
		if _, err := k.Decrypt(sealed, append(bytes.Clone(aad), 0)); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("opened with other additional data: %v", err)
		}
		i := int(at) % len(sealed)
		changed := bytes.Clone(sealed)
		changed[i] ^= 1 + byte(at>>8)%255
		if _, err := k.Decrypt(changed, aad); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("opened with byte %d changed: %v", i, err)
		}
		if _, err := k.Decrypt(sealed[:i], aad); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("opened cut to %d bytes: %v", i, err)
		}
	})
}

// FuzzParseHeader: a header parsed from arbitrary bytes is the header makeHeader writes
// for its key id, and a key id round-trips through makeHeader.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte("\x01\x02k1rest"), "k1")
	f.Add([]byte("\x01\x00"), "")
	f.Add([]byte("\x02\x01a"), "a-very-long-key-id-that-is-longer-than-sixty-four-characters-for-sure")
	f.Fuzz(func(t *testing.T, ct []byte, id string) {
		got, header, err := parseHeader(ct)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("error outside ErrDecrypt: %v", err)
			}
		} else if !bytes.Equal(header, makeHeader(got)) || !bytes.HasPrefix(ct, header) {
			t.Fatalf("header %q for id %q of %q", header, got, ct)
		}
		if validKeyID(id) != nil {
			return
		}
		back, header, err := parseHeader(append(makeHeader(id), "body"...))
		if err != nil || back != id || !bytes.Equal(header, makeHeader(id)) {
			t.Fatalf("id %q read back as %q %v", id, back, err)
		}
	})
}
