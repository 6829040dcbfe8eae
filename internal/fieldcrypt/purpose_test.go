package fieldcrypt

import (
	"bytes"
	"errors"
	"testing"
)

func TestPurposeKeysFollowKeyIDsAndPurposes(t *testing.T) {
	k, err := New(map[string][]byte{"k1": fixedKey(1), "k2": fixedKey(2)}, "k2", fixedKey(9))
	if err != nil {
		t.Fatal(err)
	}
	id, active, err := k.ActivePurposeKey(PurposeAuditChain)
	if err != nil || id != "k2" {
		t.Fatalf("ActivePurposeKey = %q, %v; want k2", id, err)
	}
	k2, _ := k.PurposeKey(PurposeAuditChain, "k2")
	k1, _ := k.PurposeKey(PurposeAuditChain, "k1")
	other, _ := k.PurposeKey("other", "k2")
	switch {
	case !bytes.Equal(active, k2):
		t.Error("the active purpose key differs from the key derived from the active id")
	case bytes.Equal(k1, k2):
		t.Error("two key ids give the same purpose key")
	case bytes.Equal(other, k2):
		t.Error("two purposes share a key")
	case bytes.Equal(k2, fixedKey(2)) || len(k2) != KeySize:
		t.Error("the purpose key is the data key itself, or of the wrong size")
	}
	if _, err := k.PurposeKey(PurposeAuditChain, "k9"); !errors.Is(err, ErrDecrypt) {
		t.Errorf("unknown id: %v, want ErrDecrypt", err)
	}
}
