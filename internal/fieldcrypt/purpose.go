package fieldcrypt

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// PurposeAuditChain is the purpose of the keys that chain the audit log (HMAC-SHA256).
const PurposeAuditChain = "audit-chain"

// PurposeKey derives the key for purpose from data key id (HKDF-SHA256, the purpose in
// the info string), so a purpose never uses a data key directly and two purposes never
// share a key. The derived key follows the data key's id: after a rotation the active
// id gives a new purpose key, and the older ids still give theirs for checking old
// data. An id not on the ring (after one reload from the file, see Reload) wraps
// ErrDecrypt.
func (k *KeyRing) PurposeKey(purpose, id string) ([]byte, error) {
	k.mu.RLock()
	raw, ok := k.raw[id]
	k.mu.RUnlock()
	if !ok && k.reloadForUnknown() {
		k.mu.RLock()
		raw, ok = k.raw[id]
		k.mu.RUnlock()
	}
	if !ok {
		return nil, fmt.Errorf("%w: unknown key id %q", ErrDecrypt, id)
	}
	return derive(raw, purpose)
}

// ActivePurposeKey returns the active key id and the key for purpose derived from it.
func (k *KeyRing) ActivePurposeKey(purpose string) (string, []byte, error) {
	k.mu.RLock()
	id, raw := k.active, k.raw[k.active]
	k.mu.RUnlock()
	key, err := derive(raw, purpose)
	return id, key, err
}

func derive(secret []byte, purpose string) ([]byte, error) {
	key, err := hkdf.Key(sha256.New, secret, nil, "switchboard/fieldcrypt/"+purpose, KeySize)
	if err != nil {
		return nil, fmt.Errorf("fieldcrypt: derive %s key: %w", purpose, err)
	}
	return key, nil
}
