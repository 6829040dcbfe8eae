package tickets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
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
}

// ErrAuditChain reports a broken audit hash chain.
var ErrAuditChain = fmt.Errorf("audit chain broken: %w", ErrConflict)

// auditLockKey serializes appends so every row links to the one before.
const auditLockKey = 0x5357_4144_4954 // "SWADIT"

func auditHash(prev []byte, e AuditEvent) []byte {
	h := sha256.New()
	h.Write(prev)
	for _, part := range []string{e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Target, string(e.Detail)} {
		h.Write([]byte(strconv.Itoa(len(part))))
		h.Write([]byte{0x1f})
		h.Write([]byte(part))
	}
	return h.Sum(nil)
}

// AppendAudit appends an event through tx (pass nil to use a transaction of
// its own). Detail must not carry raw PII.
func (s *Store) AppendAudit(ctx context.Context, tx pgx.Tx, actor, action, target string, detail any) error {
	if tx == nil {
		return pgx.BeginFunc(ctx, s.primary, func(tx pgx.Tx) error {
			return s.AppendAudit(ctx, tx, actor, action, target, detail)
		})
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("audit detail: %w", err)
	}
	if detail == nil {
		raw = []byte("{}")
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(auditLockKey)); err != nil {
		return mapPgErr(err, "audit lock")
	}
	prev := make([]byte, sha256.Size)
	err = tx.QueryRow(ctx, `SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&prev)
	if err != nil && err != pgx.ErrNoRows {
		return mapPgErr(err, "audit")
	}
	e := AuditEvent{At: time.Now().UTC().Truncate(time.Microsecond), Actor: actor, Action: action, Target: target, Detail: raw}
	_, err = tx.Exec(ctx, `INSERT INTO audit_events (at, actor, action, target, detail, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.At, actor, action, target, string(raw), prev, auditHash(prev, e))
	return mapPgErr(err, "audit")
}

// AuditLog lists events with id > after, oldest first.
func (s *Store) AuditLog(ctx context.Context, after int64, limit int) ([]AuditEvent, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.replica.Query(ctx, `SELECT id, at, actor, action, target, detail::text, prev_hash, hash
		FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, mapPgErr(err, "audit")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEvent, error) {
		var e AuditEvent
		var detail string
		err := r.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Target, &detail, &e.PrevHash, &e.Hash)
		e.Detail = json.RawMessage(detail)
		return e, err
	})
	return out, mapPgErr(err, "audit")
}

// VerifyAudit walks the whole chain and returns how many events it checked,
// or ErrAuditChain naming the first event that does not fit.
func (s *Store) VerifyAudit(ctx context.Context) (int, error) {
	var after int64
	var prev []byte
	n := 0
	for {
		page, err := s.AuditLog(ctx, after, 1000)
		if err != nil {
			return n, err
		}
		if len(page) == 0 {
			return n, nil
		}
		for _, e := range page {
			if prev == nil {
				prev = e.PrevHash // the oldest kept row anchors the chain
			}
			if !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.Hash, auditHash(prev, e)) {
				return n, fmt.Errorf("event %d: %w", e.ID, ErrAuditChain)
			}
			prev = e.Hash
			after = e.ID
			n++
		}
	}
}
