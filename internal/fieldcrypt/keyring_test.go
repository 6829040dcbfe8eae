package fieldcrypt

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fixedKey returns a KeySize key filled with b.
func fixedKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func newTestRing(t *testing.T) *KeyRing {
	t.Helper()
	k, err := New(map[string][]byte{"k1": fixedKey(1)}, "k1", fixedKey(9))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return k
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name     string
		keys     map[string][]byte
		active   string
		indexKey []byte
		want     string // substring of the error; "" for success
	}{
		{"ok", map[string][]byte{"k1": fixedKey(1), "k2": fixedKey(2)}, "k2", fixedKey(9), ""},
		{"no keys", nil, "k1", fixedKey(9), "no data keys"},
		{"active missing", map[string][]byte{"k1": fixedKey(1)}, "k2", fixedKey(9), `active key "k2" is not among`},
		{"short data key", map[string][]byte{"k1": make([]byte, 16)}, "k1", fixedKey(9), "must be 32 bytes, got 16"},
		{"short index key", map[string][]byte{"k1": fixedKey(1)}, "k1", make([]byte, 31), "index key must be 32 bytes, got 31"},
		{"index key reused", map[string][]byte{"k1": fixedKey(1)}, "k1", fixedKey(1), "equals the index key"},
		{"bad id", map[string][]byte{"k/1": fixedKey(1)}, "k/1", fixedKey(9), "may hold only letters"},
		{"long id", map[string][]byte{strings.Repeat("k", 65): fixedKey(1)}, strings.Repeat("k", 65), fixedKey(9), "must be 1–64 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.keys, tt.active, tt.indexKey)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidKeyRing) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want ErrInvalidKeyRing containing %q", err, tt.want)
			}
		})
	}
}

func TestNewCopiesKeys(t *testing.T) {
	key, index := fixedKey(1), fixedKey(9)
	k, err := New(map[string][]byte{"k1": key}, "k1", index)
	if err != nil {
		t.Fatal(err)
	}
	key[0] ^= 0xff // the caller's slices must not alias the ring
	index[0] ^= 0xff
	ct, err := k.Encrypt([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := New(map[string][]byte{"k1": fixedKey(1)}, "k1", fixedKey(9))
	if _, err := orig.Decrypt(ct, nil); err != nil {
		t.Fatalf("ciphertext not made with the original key: %v", err)
	}
	if diff := cmp.Diff(orig.snapshot(), k.snapshot()); diff != "" {
		t.Errorf("ring changed with the caller's slices (-want +got):\n%s", diff)
	}
}

func TestRoundTrip(t *testing.T) {
	k := newTestRing(t)
	for _, plain := range []string{"", "a", "张三 138-1234-5678", strings.Repeat("long field ", 1000)} {
		aad := []byte("tickets.customer_phone:42")
		ct, err := k.EncryptString(plain, aad)
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		if len(plain) > 3 && bytes.Contains(ct, []byte(plain)) {
			t.Fatalf("ciphertext contains the plaintext")
		}
		got, err := k.DecryptString(ct, aad)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if diff := cmp.Diff(plain, got); diff != "" {
			t.Errorf("round trip mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestEncryptUsesFreshNonces(t *testing.T) {
	k := newTestRing(t)
	a, _ := k.Encrypt([]byte("same"), nil)
	b, _ := k.Encrypt([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two encryptions of the same plaintext are identical")
	}
}

// TestTamperDetection flips every bit position class: version, id length, id, nonce,
// body and tag.
func TestTamperDetection(t *testing.T) {
	k := newTestRing(t)
	aad := []byte("row 7")
	ct, err := k.Encrypt([]byte("secret value"), aad)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		if _, err := k.Decrypt(bad, aad); !errors.Is(err, ErrDecrypt) {
			t.Errorf("byte %d flipped: Decrypt error = %v, want ErrDecrypt", i, err)
		}
	}
	for n := range ct {
		if _, err := k.Decrypt(ct[:n], aad); !errors.Is(err, ErrDecrypt) {
			t.Errorf("truncated to %d bytes: Decrypt error = %v, want ErrDecrypt", n, err)
		}
	}
	if _, err := k.Decrypt(append(bytes.Clone(ct), 0), aad); !errors.Is(err, ErrDecrypt) {
		t.Errorf("extended: Decrypt error = %v, want ErrDecrypt", err)
	}
}

func TestWrongAADAndUnknownKey(t *testing.T) {
	k := newTestRing(t)
	ct, err := k.Encrypt([]byte("v"), []byte("tickets.email:1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, aad := range [][]byte{nil, []byte("tickets.email:2"), []byte("tickets.phone:1")} {
		if _, err := k.Decrypt(ct, aad); !errors.Is(err, ErrDecrypt) {
			t.Errorf("aad %q: Decrypt error = %v, want ErrDecrypt", aad, err)
		}
	}
	other, _ := New(map[string][]byte{"k2": fixedKey(2)}, "k2", fixedKey(9))
	_, err = other.Decrypt(ct, []byte("tickets.email:1"))
	if !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), `unknown key id "k1"`) {
		t.Errorf("other ring: Decrypt error = %v, want ErrDecrypt naming k1", err)
	}
	// Same id, different key material: authentication must fail, not return garbage.
	impostor, _ := New(map[string][]byte{"k1": fixedKey(3)}, "k1", fixedKey(9))
	if _, err := impostor.Decrypt(ct, []byte("tickets.email:1")); !errors.Is(err, ErrDecrypt) {
		t.Errorf("impostor key: Decrypt error = %v, want ErrDecrypt", err)
	}
}

func TestKeyID(t *testing.T) {
	k := newTestRing(t)
	ct, _ := k.Encrypt([]byte("v"), nil)
	if id, err := KeyID(ct); err != nil || id != "k1" {
		t.Errorf("KeyID = %q, %v; want k1", id, err)
	}
	if _, err := KeyID([]byte{9, 9}); !errors.Is(err, ErrDecrypt) {
		t.Errorf("KeyID(garbage) error = %v, want ErrDecrypt", err)
	}
}

func TestBlindIndex(t *testing.T) {
	k := newTestRing(t)
	same := []struct {
		kind, a, b string
	}{
		{"email", "Zhang.San@Example.COM", "  zhang.san@example.com\t"},
		{KindPhone, "+86 138-1234-5678", "+8613812345678"},
		{KindPhone, "(138) 1234 5678", "13812345678"},
		{KindPhone, "＋８６ １３８１２３４５６７８", "+8613812345678"},
		{"id_card", "11010519491231002x", "11010519491231002X"},
		{"name", "　Alice　", "alice"},
	}
	for _, tt := range same {
		if !bytes.Equal(k.BlindIndex(tt.kind, tt.a), k.BlindIndex(tt.kind, tt.b)) {
			t.Errorf("BlindIndex(%s, %q) != BlindIndex(%s, %q)", tt.kind, tt.a, tt.kind, tt.b)
		}
	}
	different := []struct {
		kindA, a, kindB, b string
	}{
		{"email", "a@example.com", "email", "b@example.com"},
		{KindPhone, "+8613812345678", KindPhone, "13812345678"}, // a leading + is kept
		{"email", "13812345678", KindPhone, "13812345678"},      // kinds are separate domains
		{"ab", "c", "a", "bc"},                                  // kind and value cannot run together
	}
	for _, tt := range different {
		if bytes.Equal(k.BlindIndex(tt.kindA, tt.a), k.BlindIndex(tt.kindB, tt.b)) {
			t.Errorf("BlindIndex(%s, %q) == BlindIndex(%s, %q)", tt.kindA, tt.a, tt.kindB, tt.b)
		}
	}
	if got := Normalize(KindPhone, "1+3812345678"); got != "13812345678" {
		t.Errorf("Normalize(phone, 1+3812345678) = %q, want digits only", got)
	}
	other, _ := New(map[string][]byte{"k1": fixedKey(1)}, "k1", fixedKey(8))
	if bytes.Equal(k.BlindIndex("email", "a@b.c"), other.BlindIndex("email", "a@b.c")) {
		t.Error("blind index does not depend on the index key")
	}
	if n := len(k.BlindIndex("email", "a@b.c")); n != 32 {
		t.Errorf("blind index length = %d, want 32", n)
	}
}
