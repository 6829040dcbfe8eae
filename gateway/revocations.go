package gateway

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard-cs/switchboard/tickets"
)

// errRevoked refuses a token revoked with `switchboard token revoke`.
var errRevoked = fmt.Errorf("%w: this token was revoked", errUnauthenticated)

// revocationStore is where revocations are read from (tickets.Store).
type revocationStore interface {
	Revocations(ctx context.Context) ([]tickets.Revocation, error)
}

// revocationList holds the revocations in force, read again at most every recheck:
// checking a token costs no query. It fails closed: when the list cannot be read, no
// token is accepted.
type revocationList struct {
	store   revocationStore // nil: nothing is ever revoked
	recheck time.Duration
	load    sync.Mutex // one reader at a time; the others wait for its result
	mu      sync.RWMutex
	at      time.Time
	jtis    map[string]bool
	// subjects maps a subject to the time up to which its tokens are revoked.
	subjects map[string]time.Time
}

// check refuses cl if its id was revoked, or its subject's tokens issued up to a
// revocation were (a token without an issue time counts as issued before it).
func (rl *revocationList) check(ctx context.Context, cl *Claims) error {
	if rl.store == nil {
		return nil
	}
	if err := rl.refresh(ctx); err != nil {
		return err
	}
	rl.mu.RLock()
	defer rl.mu.RUnlock()
	if cl.ID != "" && rl.jtis[cl.ID] {
		return errRevoked
	}
	if at, ok := rl.subjects[cl.Subject]; ok && (cl.IssuedAt == nil || !cl.IssuedAt.After(at)) {
		return errRevoked
	}
	return nil
}

func (rl *revocationList) fresh() bool {
	rl.mu.RLock()
	defer rl.mu.RUnlock()
	return !rl.at.IsZero() && time.Since(rl.at) < rl.recheck
}

func (rl *revocationList) refresh(ctx context.Context) error {
	if rl.fresh() {
		return nil
	}
	rl.load.Lock()
	defer rl.load.Unlock()
	if rl.fresh() {
		return nil // another request read it meanwhile
	}
	start := time.Now()
	list, err := rl.store.Revocations(ctx)
	if err != nil {
		return fmt.Errorf("%w: cannot read token revocations: %w", errUnavailable, err)
	}
	jtis, subjects := map[string]bool{}, map[string]time.Time{}
	for _, r := range list {
		if r.JTI != "" {
			jtis[r.JTI] = true
		}
		if r.Subject != "" && r.RevokedAt.After(subjects[r.Subject]) {
			subjects[r.Subject] = r.RevokedAt
		}
	}
	rl.mu.Lock()
	rl.jtis, rl.subjects, rl.at = jtis, subjects, start
	rl.mu.Unlock()
	return nil
}
