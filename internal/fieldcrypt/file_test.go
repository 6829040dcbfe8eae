package fieldcrypt

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadOrCreateCreatesPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "keyring.json")
	k, err := LoadOrCreate(path)
	if err != nil {
		t.Fatalf("LoadOrCreate: %v", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("key ring mode = %o, want 600", perm)
	}
	dst, _ := os.Stat(filepath.Dir(path))
	if perm := dst.Mode().Perm(); perm != 0o700 {
		t.Errorf("key ring directory mode = %o, want 700", perm)
	}
	var rf ringFile
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &rf); err != nil {
		t.Fatalf("file is not JSON: %v", err)
	}
	if rf.Version != 1 || len(rf.Keys) != 1 || rf.Active != k.ActiveKeyID() || rf.IndexKey == "" {
		t.Errorf("unexpected file content %+v", rf)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key ring (temp file left behind?)", len(entries))
	}
}

func TestLoadOrCreateReloadsSameRing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	k1, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := k1.Encrypt([]byte("persisted"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreate(path)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	got, err := k2.Decrypt(ct, []byte("aad"))
	if err != nil || string(got) != "persisted" {
		t.Fatalf("reloaded ring Decrypt = %q, %v", got, err)
	}
	if diff := cmp.Diff(k1.BlindIndex("email", "a@b.c"), k2.BlindIndex("email", "a@b.c")); diff != "" {
		t.Errorf("blind index changed across reload (-first +second):\n%s", diff)
	}
}

func TestLoadOrCreateConcurrentCreatorsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	const n = 8
	rings := make([]*KeyRing, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { rings[i], errs[i] = LoadOrCreate(path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("creator %d: %v", i, errs[i])
		}
		if rings[i].ActiveKeyID() != rings[0].ActiveKeyID() {
			t.Errorf("creator %d has key %s, creator 0 has %s", i, rings[i].ActiveKeyID(), rings[0].ActiveKeyID())
		}
	}
}

func TestLoadOrCreateRejectsBadFiles(t *testing.T) {
	tests := map[string]string{
		"not json":       "{",
		"unknown field":  `{"version":1,"active":"k1","keys":{},"index_key":"","extra":1}`,
		"bad version":    `{"version":2,"active":"k1","keys":{},"index_key":""}`,
		"bad base64":     `{"version":1,"active":"k1","keys":{"k1":"!!"},"index_key":""}`,
		"short key":      `{"version":1,"active":"k1","keys":{"k1":"AAAA"},"index_key":"AAAA"}`,
		"missing active": `{"version":1,"active":"k9","keys":{"k1":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="},"index_key":"CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk="}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keyring.json")
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadOrCreate(path); !errors.Is(err, ErrInvalidKeyRing) {
				t.Fatalf("LoadOrCreate error = %v, want ErrInvalidKeyRing", err)
			}
			if got, _ := os.ReadFile(path); string(got) != body {
				t.Error("a bad key ring file was overwritten")
			}
		})
	}
}

func TestRotate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	k, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	oldID := k.ActiveKeyID()
	oldCT, _ := k.Encrypt([]byte("before"), []byte("r1"))
	index := k.BlindIndex("email", "a@b.c")

	newID, err := k.Rotate(path)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if newID == oldID || k.ActiveKeyID() != newID {
		t.Fatalf("Rotate returned %q, active %q, old %q", newID, k.ActiveKeyID(), oldID)
	}
	newCT, _ := k.Encrypt([]byte("after"), []byte("r2"))
	if id, _ := KeyID(newCT); id != newID {
		t.Errorf("new ciphertext uses key %q, want %q", id, newID)
	}
	// Both the in-memory ring and a fresh load of the file open old and new data.
	reloaded, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, ring := range []*KeyRing{k, reloaded} {
		if got, err := ring.DecryptString(oldCT, []byte("r1")); err != nil || got != "before" {
			t.Errorf("old ciphertext: %q, %v", got, err)
		}
		if got, err := ring.DecryptString(newCT, []byte("r2")); err != nil || got != "after" {
			t.Errorf("new ciphertext: %q, %v", got, err)
		}
		if diff := cmp.Diff(index, ring.BlindIndex("email", "a@b.c")); diff != "" {
			t.Errorf("rotation changed the blind index (-before +after):\n%s", diff)
		}
	}
	if reloaded.ActiveKeyID() != newID {
		t.Errorf("reloaded active = %q, want %q", reloaded.ActiveKeyID(), newID)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode after rotation = %o, want 600", st.Mode().Perm())
	}
}

func TestRotateFailureLeavesRingUnchanged(t *testing.T) {
	k := newTestRing(t)
	bad := filepath.Join(t.TempDir(), "missing-dir", "keyring.json")
	if _, err := k.Rotate(bad); err == nil {
		t.Fatal("Rotate into a missing directory succeeded")
	}
	if k.ActiveKeyID() != "k1" {
		t.Errorf("active key = %q after failed rotation, want k1", k.ActiveKeyID())
	}
	ct, _ := k.Encrypt([]byte("x"), nil)
	if id, _ := KeyID(ct); id != "k1" {
		t.Errorf("encrypting with %q after failed rotation, want k1", id)
	}
}
