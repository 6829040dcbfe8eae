package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Outbound is a reply waiting for delivery to a customer's channel.
type Outbound struct {
	ID       int64
	Channel  string
	ReplyTo  json.RawMessage
	Text     string
	Attempts int
}

// enqueueOutboundTx queues text for the conversation's channel through tx,
// unless the channel is read by the customer directly (REST, web chat).
func enqueueOutboundTx(ctx context.Context, tx pgx.Tx, conversationID, text string) error {
	_, err := tx.Exec(ctx, `INSERT INTO outbox (conversation_id, channel, reply_to, body)
		SELECT id, channel, reply_to, $2 FROM conversations WHERE id = $1 AND channel NOT IN ('rest', 'api')`, conversationID, text)
	return mapPgErr(err, "outbox")
}

// ClaimOutbound leases the oldest undelivered reply; ok is false when none waits.
func (s *Store) ClaimOutbound(ctx context.Context, lease time.Duration) (Outbound, bool, error) {
	var o Outbound
	var replyTo []byte
	err := s.primary.QueryRow(ctx, `WITH next AS (
			SELECT id FROM outbox o1 WHERE state = 'pending' AND (lease_until IS NULL OR lease_until < now())
				-- one conversation's replies go out in order: never overtake an older one
				AND NOT EXISTS (SELECT 1 FROM outbox o2 WHERE o2.conversation_id = o1.conversation_id
					AND o2.state = 'pending' AND o2.id < o1.id)
			ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
		UPDATE outbox o SET lease_until = now() + $1 * interval '1 millisecond', attempts = attempts + 1
		FROM next WHERE o.id = next.id RETURNING o.id, o.channel, o.reply_to, o.body, o.attempts`, lease.Milliseconds()).
		Scan(&o.ID, &o.Channel, &replyTo, &o.Text, &o.Attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return Outbound{}, false, nil
	}
	o.ReplyTo = replyTo
	return o, err == nil, mapPgErr(err, "outbox")
}

// FinishOutbound marks a reply sent, or (cause != nil) schedules a retry
// with a growing delay until maxAttempts, then marks it failed.
func (s *Store) FinishOutbound(ctx context.Context, o Outbound, cause error, maxAttempts int) error {
	if cause == nil {
		_, err := s.primary.Exec(ctx, `UPDATE outbox SET state = 'sent', lease_until = NULL WHERE id = $1 AND attempts = $2`, o.ID, o.Attempts)
		return mapPgErr(err, "outbox")
	}
	msg := cause.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	_, err := s.primary.Exec(ctx, `UPDATE outbox SET state = CASE WHEN attempts >= $3 THEN 'failed' ELSE 'pending' END,
		lease_until = now() + least(attempts * attempts, 300) * interval '1 second', last_error = $4
		WHERE id = $1 AND attempts = $2`, o.ID, o.Attempts, maxAttempts, msg)
	return mapPgErr(err, "outbox")
}
