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

// auditTail encodes what an event's hash covers after the previous hash.
func auditTail(e AuditEvent) []byte {
	var b []byte
	for _, part := range []string{e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Target, string(e.Detail)} {
		b = strconv.AppendInt(b, int64(len(part)), 10)
		b = append(b, 0x1f)
		b = append(b, part...)
	}
	return b
}

func auditHash(prev []byte, e AuditEvent) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(auditTail(e))
	return h.Sum(nil)
}

// AuditEntry is an event to append with another write (see InsertTicket).
type AuditEntry struct {
	Actor, Action string
	Detail        any // must not carry raw PII
}

// auditAppendSQL appends one event: the chain lock (an advisory lock that
// serializes appends so every row links to the one before), the previous
// hash and the insert in one round trip (audit_append, migration 00008).
// Its arguments come from auditArgs.
const auditAppendSQL = `SELECT audit_append($1, $2, $3, $4, $5, $6)`

func auditArgs(actor, action, target string, detail any) ([]any, error) {
	raw, err := json.Marshal(detail)
	if err != nil {
		return nil, fmt.Errorf("audit detail: %w", err)
	}
	if detail == nil {
		raw = []byte("{}")
	}
	e := AuditEvent{At: time.Now().UTC().Truncate(time.Microsecond), Actor: actor, Action: action, Target: target, Detail: raw}
	return []any{e.At, actor, action, target, string(raw), auditTail(e)}, nil
}

// AppendAudit appends an event through tx (pass nil to append in a
// transaction of its own). Detail must not carry raw PII. The chain lock is
// held until the transaction ends: append last, just before committing.
func (s *Store) AppendAudit(ctx context.Context, tx pgx.Tx, actor, action, target string, detail any) error {
	args, err := auditArgs(actor, action, target, detail)
	if err != nil {
		return err
	}
	if tx == nil {
		_, err = s.primary.Exec(ctx, auditAppendSQL, args...)
	} else {
		_, err = tx.Exec(ctx, auditAppendSQL, args...)
	}
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
