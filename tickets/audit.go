package tickets

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditEvent is one entry of the append-only, hash-chained audit log.
type AuditEvent struct {
	ID       int64           `json:"id"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Target   string          `json:"target"`
	Detail   json.RawMessage `json:"detail"`
	PrevHash []byte          `json:"prev_hash"`
	Hash     []byte          `json:"hash"`
	// KeyID names the key ring key whose audit-chain key made Hash (an HMAC); empty
	// for events chained with plain SHA-256 before the switch (AuditReport.LegacyUntil).
	KeyID string `json:"key_id,omitempty"`
}

// ErrAuditChain reports a broken audit hash chain.
var ErrAuditChain = fmt.Errorf("audit chain broken: %w", ErrConflict)

// ChainKeys gives the audit chain its keys: one per key ring key id, for the purpose
// auditKeyPurpose. internal/fieldcrypt.KeyRing implements it.
type ChainKeys interface {
	ActivePurposeKey(purpose string) (id string, key []byte, err error)
	PurposeKey(purpose, id string) ([]byte, error)
}

// auditKeyPurpose is fieldcrypt.PurposeAuditChain.
const auditKeyPurpose = "audit-chain"

// auditTail encodes what an event's hash covers after the previous hash.
func auditTail(e AuditEvent) []byte {
	var b []byte
	parts := []string{e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Target, string(e.Detail)}
	if e.KeyID != "" {
		parts = append(parts, e.KeyID)
	}
	for _, part := range parts {
		b = strconv.AppendInt(b, int64(len(part)), 10)
		b = append(b, 0x1f)
		b = append(b, part...)
	}
	return b
}

// legacyAuditHash is the unkeyed link of events before the switch.
func legacyAuditHash(prev []byte, e AuditEvent) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(auditTail(e))
	return h.Sum(nil)
}

// keyedAuditHash is HMAC-SHA256 under the chain key of e.KeyID.
func keyedAuditHash(key, prev []byte, e AuditEvent) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(prev)
	m.Write(auditTail(e))
	return m.Sum(nil)
}

// AuditEntry is an event to append with another write (see InsertTicket).
type AuditEntry struct {
	Actor, Action string
	Detail        any // must not carry raw PII
}

// auditClock stamps new events (tests move it).
var auditClock = time.Now

// newAuditEvent builds the event to append (not yet linked or keyed).
func newAuditEvent(actor, action, target string, detail any) (AuditEvent, error) {
	raw, err := json.Marshal(detail)
	if err != nil {
		return AuditEvent{}, fmt.Errorf("audit detail: %w", err)
	}
	if detail == nil {
		raw = []byte("{}")
	}
	return AuditEvent{At: auditClock().UTC().Truncate(time.Microsecond), Actor: actor, Action: action, Target: target, Detail: raw}, nil
}

// auditHeadSQL takes the chain lock (held to the end of the transaction, so appends are
// serialized) and reads the hash the next event links to (migration 00016).
const auditHeadSQL = `SELECT head_hash FROM audit_chain_head()`

// linkAudit keys e under the active chain key and links it to prev.
func (s *storeCore) linkAudit(e *AuditEvent, prev []byte) error {
	if s.chain == nil {
		return errors.New("audit: the store has no chain keys (its FieldCrypter does not implement ChainKeys)")
	}
	id, key, err := s.chain.ActivePurposeKey(auditKeyPurpose)
	if err != nil {
		return fmt.Errorf("audit chain key: %w", err)
	}
	e.KeyID, e.PrevHash = id, prev
	e.Hash = keyedAuditHash(key, prev, *e)
	return nil
}

// insertAuditSQL inserts a linked event: at, actor, action, target, detail, prev_hash,
// hash, key_id.
const insertAuditSQL = `INSERT INTO audit_events (at, actor, action, target, detail, prev_hash, hash, key_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

// insertAudit writes a linked event through tx.
func insertAudit(ctx context.Context, tx pgx.Tx, e AuditEvent) error {
	_, err := tx.Exec(ctx, insertAuditSQL, e.At, e.Actor, e.Action, e.Target, string(e.Detail), e.PrevHash, e.Hash, e.KeyID)
	return err
}

// appendAuditTx takes the chain lock, links e and inserts it, all through tx.
func (s *storeCore) appendAuditTx(ctx context.Context, tx pgx.Tx, e AuditEvent) error {
	var prev []byte
	if err := tx.QueryRow(ctx, auditHeadSQL).Scan(&prev); err != nil {
		return err
	}
	if err := s.linkAudit(&e, prev); err != nil {
		return err
	}
	return insertAudit(ctx, tx, e)
}

// AppendAudit appends an event through tx (pass nil to append in a
// transaction of its own). Detail must not carry raw PII. The chain lock is
// held until the transaction ends: append last, just before committing.
func (s *AuditTrail) AppendAudit(ctx context.Context, tx pgx.Tx, actor, action, target string, detail any) error {
	e, err := newAuditEvent(actor, action, target, detail)
	if err != nil {
		return err
	}
	if tx == nil {
		err = pgx.BeginFunc(ctx, s.primary, func(tx pgx.Tx) error { return s.appendAuditTx(ctx, tx, e) })
	} else {
		err = s.appendAuditTx(ctx, tx, e)
	}
	return mapPgErr(err, "audit")
}

// AuditRecord is a change's audit event, appended in the change's transaction.
type AuditRecord struct {
	Actor, Action, Target string
	Detail                any // must not carry raw PII
}

// Audited runs write and appends rec in one transaction: the change and its audit
// event commit together or not at all.
func (s *AuditTrail) Audited(ctx context.Context, rec AuditRecord, write func(tx pgx.Tx) error) error {
	e, err := newAuditEvent(rec.Actor, rec.Action, rec.Target, rec.Detail)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.primary, func(tx pgx.Tx) error {
		if err := write(tx); err != nil {
			return err
		}
		return mapPgErr(s.appendAuditTx(ctx, tx, e), "audit")
	})
}

const auditCols = `id, at, actor, action, target, detail::text, prev_hash, hash, coalesce(key_id, '')`

// AuditLog lists events with id > after, oldest first.
func (s *AuditTrail) AuditLog(ctx context.Context, after int64, limit int) ([]AuditEvent, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return auditPage(ctx, s.reads, after, limit)
}

func auditPage(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, after int64, limit int) ([]AuditEvent, error) {
	rows, err := q.Query(ctx, `SELECT `+auditCols+` FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, mapPgErr(err, "audit")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEvent, error) {
		var e AuditEvent
		var detail string
		err := r.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Target, &detail, &e.PrevHash, &e.Hash, &e.KeyID)
		e.Detail = json.RawMessage(detail)
		return e, err
	})
	return out, mapPgErr(err, "audit")
}

// checkEvent verifies one event's link to prev: plain SHA-256 up to legacyUntil, an
// HMAC under the chain key its key id names after it.
func (s *AuditTrail) checkEvent(e AuditEvent, prev []byte, legacyUntil int64) error {
	if !bytes.Equal(e.PrevHash, prev) {
		return fmt.Errorf("event %d does not link to the event before it: %w", e.ID, ErrAuditChain)
	}
	if e.ID <= legacyUntil {
		if e.KeyID != "" || !bytes.Equal(e.Hash, legacyAuditHash(prev, e)) {
			return fmt.Errorf("event %d: hash does not match: %w", e.ID, ErrAuditChain)
		}
		return nil
	}
	if e.KeyID == "" {
		return fmt.Errorf("event %d is after the switch to the keyed chain (event %d) but unkeyed: %w", e.ID, legacyUntil, ErrAuditChain)
	}
	if s.chain == nil {
		return errors.New("audit: the store has no chain keys to verify with")
	}
	key, err := s.chain.PurposeKey(auditKeyPurpose, e.KeyID)
	if err != nil {
		return fmt.Errorf("event %d: key %q: %w", e.ID, e.KeyID, err)
	}
	if !hmac.Equal(e.Hash, keyedAuditHash(key, prev, e)) {
		return fmt.Errorf("event %d: keyed hash does not match: %w", e.ID, ErrAuditChain)
	}
	return nil
}

// VerifyAudit walks the whole chain and checks it against anchors (see
// VerifyAuditReport) and returns how many events it checked, or ErrAuditChain
// naming the first event or anchor that does not fit.
func (s *AuditTrail) VerifyAudit(ctx context.Context, anchors ...AuditAnchor) (int, error) {
	rep, err := s.VerifyAuditReport(ctx, anchors)
	return rep.Checked, err
}
