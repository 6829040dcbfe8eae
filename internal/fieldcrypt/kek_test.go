package fieldcrypt

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseKEK(t *testing.T) {
	raw := fixedKey(7)
	for name, in := range map[string]string{
		"hex":            hex.EncodeToString(raw),
		"base64":         base64.StdEncoding.EncodeToString(raw),
		"base64 raw url": base64.RawURLEncoding.EncodeToString(raw),
		"with newline":   base64.StdEncoding.EncodeToString(raw) + "\n",
	} {
		got, err := ParseKEK(in)
		if err != nil || string(got) != string(raw) {
			t.Errorf("%s: ParseKEK = %x, %v", name, got, err)
		}
	}
	for _, bad := range []string{"", "short", base64.StdEncoding.EncodeToString(fixedKey(1)[:16]), strings.Repeat("z", 64)} {
		if _, err := ParseKEK(bad); !errors.Is(err, ErrInvalidKeyRing) {
			t.Errorf("ParseKEK(%q) = %v, want ErrInvalidKeyRing", bad, err)
		}
	}
}

// TestKEKSealsTheRingFile: with a key-encryption key the file holds no key in the clear,
// a plaintext ring is sealed when opened with one, rotation keeps it sealed, and the file
// opens neither without the KEK nor with another.
func TestKEKSealsTheRingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	plain, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := plain.Encrypt([]byte("secret"), []byte("aad"))
	kek := fixedKey(5)
	sealed, err := Open(path, Options{KEK: kek})
	if err != nil {
		t.Fatalf("open with a KEK: %v", err)
	}
	if got, err := sealed.DecryptString(ct, []byte("aad")); err != nil || got != "secret" {
		t.Fatalf("sealed ring Decrypt = %q, %v", got, err)
	}
	assertSealed(t, path, plain)
	if _, err := sealed.Rotate(path); err != nil {
		t.Fatal(err)
	}
	assertSealed(t, path, sealed)
	if _, err := LoadOrCreate(path); !errors.Is(err, ErrInvalidKeyRing) || !strings.Contains(err.Error(), "SWITCHBOARD_KEYRING_KEK") {
		t.Errorf("open without the KEK: %v, want ErrInvalidKeyRing naming SWITCHBOARD_KEYRING_KEK", err)
	}
	if _, err := Open(path, Options{KEK: fixedKey(6)}); !errors.Is(err, ErrInvalidKeyRing) {
		t.Errorf("open with another KEK: %v, want ErrInvalidKeyRing", err)
	}
	again, err := Open(path, Options{KEK: kek})
	if err != nil || again.ActiveKeyID() != sealed.ActiveKeyID() {
		t.Fatalf("reopen: %v (active %q, want %q)", err, again.ActiveKeyID(), sealed.ActiveKeyID())
	}
	fresh := filepath.Join(t.TempDir(), "new.json")
	if _, err := Open(fresh, Options{KEK: kek, Create: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "absent.json"), Options{KEK: kek}); err == nil {
		t.Error("Open without Create made a ring for a missing file")
	}
}

// assertSealed fails when the file at path shows any of ring's keys in base64.
func assertSealed(t *testing.T, path string, ring *KeyRing) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rf := ring.snapshot()
	for id, key := range rf.Keys {
		if strings.Contains(string(data), key) || strings.Contains(string(data), `"`+id+`"`) {
			t.Errorf("key %s is readable in the sealed file", id)
		}
	}
	if strings.Contains(string(data), rf.IndexKey) || !strings.Contains(string(data), `"wrapped"`) {
		t.Errorf("file is not sealed: %s", data)
	}
}

// TestReloadTakesOnAnotherProcessRotation: a ring that meets a ciphertext of a key it
// does not know yet re-reads its file, and Reload switches to the new active key.
func TestReloadTakesOnAnotherProcessRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	server, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	newID, err := cli.Rotate(path)
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := cli.Encrypt([]byte("rotated"), nil)
	if got, err := server.DecryptString(ct, nil); err != nil || got != "rotated" {
		t.Fatalf("server Decrypt after another process rotated = %q, %v", got, err)
	}
	if server.ActiveKeyID() != newID {
		t.Errorf("server active = %q after reload, want %q", server.ActiveKeyID(), newID)
	}
	if _, err := server.PurposeKey(PurposeAuditChain, newID); err != nil {
		t.Error(err)
	}
	// A file that drops a key this ring holds is refused.
	other := filepath.Join(t.TempDir(), "other.json")
	if _, err := LoadOrCreate(other); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(other)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	server.lastReload = time.Time{}
	if _, err := server.Reload(); !errors.Is(err, ErrInvalidKeyRing) {
		t.Errorf("Reload of a foreign ring: %v, want ErrInvalidKeyRing", err)
	}
}
