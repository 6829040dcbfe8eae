package tickets

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Queue names of the two durable queues, as metrics and dead letters name them.
const (
	QueueTurns  = "turns"  // channel_messages: customer turns waiting for an answer
	QueueOutbox = "outbox" // agents' replies waiting for delivery to a push channel
)

// QueueCount is how many rows of one queue and channel are in one state.
type QueueCount struct {
	Queue, Channel, State string
	N                     int
}

// abandonedError is the last_error of a row given up after abandoned attempts.
const abandonedError = `given up after %s abandoned attempts: each stopped without reporting back ` +
	`(the worker crashed, was killed or hung past its lease); fix the cause, then re-queue it with switchboard outbox retry`

// GiveUpAbandoned marks failed every pending row (turn or reply) whose
// attempts were abandoned maxAbandoned times and whose last lease ran out, so
// a turn that crashes the worker cannot do so forever. It returns what it gave
// up, per queue and channel.
func (s *Queues) GiveUpAbandoned(ctx context.Context, maxAbandoned int) ([]QueueCount, error) {
	if maxAbandoned <= 0 {
		maxAbandoned = DefaultMaxAbandoned
	}
	rows, err := s.primary.Query(ctx, `WITH t AS (
			UPDATE channel_messages SET state = 'failed', lease_until = NULL, attempts_settled = attempts,
				abandoned = abandoned + 1, last_error = format($2, abandoned + 1)
			WHERE state = 'pending' AND lease_until < now() AND attempts > attempts_settled AND abandoned + 1 >= $1
			RETURNING channel
		), o AS (
			UPDATE outbox SET state = 'failed', lease_until = NULL, attempts_settled = attempts,
				abandoned = abandoned + 1, last_error = format($2, abandoned + 1)
			WHERE state = 'pending' AND lease_until < now() AND attempts > attempts_settled AND abandoned + 1 >= $1
			RETURNING channel
		)
		SELECT 'turns', channel, count(*) FROM t GROUP BY channel
		UNION ALL SELECT 'outbox', channel, count(*) FROM o GROUP BY channel`, maxAbandoned, abandonedError)
	if err != nil {
		return nil, mapPgErr(err, "give up abandoned")
	}
	return collectCounts(rows, "failed")
}

func collectCounts(rows pgx.Rows, state string) ([]QueueCount, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (QueueCount, error) {
		c := QueueCount{State: state}
		if state == "" {
			return c, r.Scan(&c.Queue, &c.Channel, &c.State, &c.N)
		}
		return c, r.Scan(&c.Queue, &c.Channel, &c.N)
	})
	return out, mapPgErr(err, "queue counts")
}

// QueueCounts counts the pending and failed rows of both queues per channel.
func (s *Queues) QueueCounts(ctx context.Context) ([]QueueCount, error) {
	rows, err := s.reads.Query(ctx, `
		SELECT 'outbox', channel, state, count(*) FROM outbox WHERE state = 'pending' GROUP BY channel, state
		UNION ALL SELECT 'outbox', channel, state, count(*) FROM outbox WHERE state = 'failed' GROUP BY channel, state
		UNION ALL SELECT 'turns', channel, state, count(*) FROM channel_messages WHERE state = 'pending' GROUP BY channel, state
		UNION ALL SELECT 'turns', channel, state, count(*) FROM channel_messages WHERE state = 'failed' GROUP BY channel, state`)
	if err != nil {
		return nil, mapPgErr(err, "queue counts")
	}
	return collectCounts(rows, "")
}

// Delivery is how an agent's reply to a push channel fares.
type Delivery struct {
	State    string `json:"state"` // pending, sent or failed (a dead letter)
	Attempts int    `json:"attempts"`
	Error    string `json:"error,omitempty"` // the last failure, free of secrets
}

// Deliveries returns the delivery of each agent reply of a conversation that
// went out through the outbox, by message id.
func (s *Queues) Deliveries(ctx context.Context, conversationID string) (map[int64]Delivery, error) {
	rows, err := s.reads.Query(ctx, `SELECT message_id, state, attempts, coalesce(last_error, '') FROM outbox
		WHERE conversation_id = $1 AND message_id IS NOT NULL`, conversationID)
	if err != nil {
		return nil, mapPgErr(err, "deliveries")
	}
	out := map[int64]Delivery{}
	var id int64
	var d Delivery
	_, err = pgx.ForEachRow(rows, []any{&id, &d.State, &d.Attempts, &d.Error}, func() error { out[id] = d; return nil })
	return out, mapPgErr(err, "deliveries")
}

// Requeue selects dead letters to send again: replies in the outbox, or, with
// Turns, customer turns. Zero fields select everything.
type Requeue struct {
	Turns   bool
	Channel string
	ID      int64 // one outbox row (not with Turns)
}

// RequeueFailed puts the selected dead letters back in their queue with a fresh
// retry window, audited in the same transaction as actor's outbox.retry. It
// returns how many rows it re-queued.
func (s *Queues) RequeueFailed(ctx context.Context, actor string, r Requeue) (int64, error) {
	if r.Turns && r.ID != 0 {
		return 0, fmt.Errorf("an id selects an outbox row, not a turn (select turns by channel): %w", ErrInvalid)
	}
	q := `UPDATE outbox SET state = 'pending', retry_since = now(), lease_until = NULL, attempts_settled = attempts, abandoned = 0
		WHERE state = 'failed' AND ($1 = '' OR channel = $1) AND ($2 = 0 OR id = $2)`
	target := "outbox"
	if r.Turns {
		q = `UPDATE channel_messages SET state = 'pending', retry_since = now(), lease_until = NULL, attempts_settled = attempts, abandoned = 0
		WHERE state = 'failed' AND ($1 = '' OR channel = $1) AND $2 = 0`
		target = "turns"
	}
	var n int64
	err := pgx.BeginFunc(ctx, s.primary, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, q, r.Channel, r.ID)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		return s.audit.AppendAudit(ctx, tx, actor, "outbox.retry", target,
			map[string]any{"channel": r.Channel, "id": r.ID, "rows": n})
	})
	return n, mapPgErr(err, "re-queue "+target)
}

// attachDeliveries sets the delivery of each agent reply in msgs that went out
// through the outbox.
func (s *Service) attachDeliveries(ctx context.Context, conversationID string, msgs []Message) error {
	ds, err := s.store.Deliveries(ctx, conversationID)
	if err != nil || len(ds) == 0 {
		return err
	}
	for i := range msgs {
		if d, ok := ds[msgs[i].ID]; ok {
			msgs[i].Delivery = &d
		}
	}
	return nil
}
