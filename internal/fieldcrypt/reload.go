package fieldcrypt

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// reloadEvery bounds how often an unknown key id makes the ring re-read its file.
const reloadEvery = time.Second

// Reload re-reads the ring's file (see Open) and takes on the keys added there and its
// active key, so a process sees a rotation made by another (`switchboard keys rotate`)
// without a restart. Keys are only ever added; a file whose index key differs, or that
// lacks a key this ring holds, is refused. changed reports whether anything was taken on.
func (k *KeyRing) Reload() (changed bool, err error) {
	if k.path == "" {
		return false, errors.New("fieldcrypt: this key ring was not opened from a file")
	}
	fresh, _, err := load(k.path, k.kek)
	if err != nil {
		return false, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if !bytes.Equal(fresh.indexKey, k.indexKey) {
		return false, fmt.Errorf("%w: %s: the index key changed; blind indexes would no longer match", ErrInvalidKeyRing, k.path)
	}
	for id := range k.raw {
		if _, ok := fresh.raw[id]; !ok {
			return false, fmt.Errorf("%w: %s: key %q is missing; retired keys must stay on the ring", ErrInvalidKeyRing, k.path, id)
		}
	}
	for id, key := range fresh.raw {
		if _, ok := k.raw[id]; !ok {
			if err := k.add(id, key); err != nil {
				return changed, err
			}
			changed = true
		}
	}
	if fresh.active != k.active {
		k.active, changed = fresh.active, true
	}
	return changed, nil
}

// reloadForUnknown reloads the file after a ciphertext named a key this ring lacks (at
// most once per reloadEvery) and reports whether that brought new keys.
func (k *KeyRing) reloadForUnknown() bool {
	if k.path == "" {
		return false
	}
	k.mu.Lock()
	if time.Since(k.lastReload) < reloadEvery {
		k.mu.Unlock()
		return false
	}
	k.lastReload = time.Now()
	k.mu.Unlock()
	changed, err := k.Reload()
	return err == nil && changed
}
