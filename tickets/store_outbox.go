package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Outbound is a reply waiting for delivery to a customer's channel.
type Outbound struct {
	ID             int64
	MessageID      int64 // the reply in the conversation log (0 for rows queued before it was kept)
	ConversationID string
	Channel        string
	ReplyTo        json.RawMessage
	Text           string // redacted, as the conversation log and staff see it
	// Sealed is the agent's original text, encrypted; nil when redaction changed
	// nothing (Text is then what the agent wrote). Open it with OpenOriginal.
	Sealed   []byte
	Attempts int
}

// pullChannel: the customer reads the conversation (REST, web chat; "api" for
// tickets staff opened), so nothing is pushed to a channel.
func pullChannel(channel string) bool { return channel == "rest" || channel == "api" }

// outboxAAD binds a sealed original in the outbox to its conversation and message.
func outboxAAD(conversationID string, messageID int64) []byte {
	return fmt.Appendf(nil, "outbox.original_enc:%s:%d", conversationID, messageID)
}

// QueueReplyTx makes an agent's reply m (stored redacted, with its id) reach the
// customer as written, through tx: a push channel gets an outbox row with the
// original sealed; on a pull channel the original is held for the customer's reads
// (see CustomerView). Nothing is sealed when redaction changed nothing.
func (s *Queues) QueueReplyTx(ctx context.Context, tx pgx.Tx, m Message, original string) error {
	var channel string
	var replyTo []byte
	err := tx.QueryRow(ctx, `SELECT channel, reply_to FROM conversations WHERE id = $1`, m.ConversationID).Scan(&channel, &replyTo)
	if err != nil {
		return mapPgErr(err, "conversation "+m.ConversationID)
	}
	if pullChannel(channel) {
		if original == m.Text {
			return nil
		}
		return s.holdOriginalTx(ctx, tx, m, original)
	}
	var sealed []byte
	if original != m.Text {
		if sealed, err = s.crypt.Encrypt([]byte(original), outboxAAD(m.ConversationID, m.ID)); err != nil {
			return fmt.Errorf("seal reply: %w", err)
		}
	}
	_, err = tx.Exec(ctx, `INSERT INTO outbox (conversation_id, channel, reply_to, body, message_id, original_enc)
		VALUES ($1, $2, $3, $4, $5, $6)`, m.ConversationID, channel, replyTo, m.Text, m.ID, sealed)
	return mapPgErr(err, "outbox")
}

// OpenOriginal decrypts the agent's original text of o (o.Text when none was sealed).
func (s *Queues) OpenOriginal(o Outbound) (string, error) {
	if o.Sealed == nil {
		return o.Text, nil
	}
	pt, err := s.crypt.Decrypt(o.Sealed, outboxAAD(o.ConversationID, o.MessageID))
	if err != nil {
		return "", fmt.Errorf("open the sealed reply of outbox row %d: %w", o.ID, err)
	}
	return string(pt), nil
}

// ClaimOutbound leases the oldest undelivered reply that waits behind no older
// pending reply of its conversation nor a turn the customer sent before it and
// not yet answered and delivered; ok is false when none waits. Like
// ClaimTurn, it skips a row abandoned maxAbandoned times.
func (s *Queues) ClaimOutbound(ctx context.Context, lease time.Duration, maxAbandoned int) (Outbound, bool, error) {
	if maxAbandoned <= 0 {
		maxAbandoned = DefaultMaxAbandoned
	}
	var o Outbound
	var replyTo []byte
	err := s.primary.QueryRow(ctx, `WITH RECURSIVE `+pendingConversations("outbox")+`, heads AS (
			-- one conversation's replies go out in order: only its oldest pending reply can go,
			-- and not before a turn of the conversation sent before it was answered and
			-- delivered (the oldest pending turn, the first entry of an index). Never a scan
			-- of the whole outbox, which a channel outage fills.
			SELECT h.id FROM convs CROSS JOIN LATERAL (
				SELECT id, message_id, lease_until, attempts, attempts_settled, abandoned
				FROM outbox WHERE state = 'pending' AND conversation_id = convs.id ORDER BY id LIMIT 1) h
			WHERE (h.lease_until IS NULL OR h.lease_until < now()) AND NOT (h.attempts > h.attempts_settled AND h.abandoned + 1 >= $2)
				AND (h.message_id IS NULL OR h.message_id <= coalesce((SELECT min(c.log_id) FROM channel_messages c
					WHERE c.conversation_id = convs.id AND c.state = 'pending'), h.message_id))
			ORDER BY h.id LIMIT 32
		), next AS (
			-- the oldest of them (each looked up by its key), locked; another worker's pick skipped
			SELECT o1.id FROM outbox o1 WHERE o1.id IN (SELECT id FROM heads)
				AND o1.state = 'pending' AND (o1.lease_until IS NULL OR o1.lease_until < now())
			ORDER BY o1.id LIMIT 1 FOR UPDATE OF o1 SKIP LOCKED)
		UPDATE outbox o SET lease_until = now() + $1 * interval '1 millisecond', attempts = attempts + 1,
			abandoned = abandoned + (attempts > attempts_settled)::int
		FROM next WHERE o.id = next.id
		RETURNING o.id, coalesce(o.message_id, 0), o.conversation_id, o.channel, o.reply_to, o.body, o.original_enc, o.attempts`,
		lease.Milliseconds(), maxAbandoned).
		Scan(&o.ID, &o.MessageID, &o.ConversationID, &o.Channel, &replyTo, &o.Text, &o.Sealed, &o.Attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return Outbound{}, false, nil
	}
	o.ReplyTo = replyTo
	return o, err == nil, mapPgErr(err, "outbox")
}

// FinishOutbound marks a reply sent, deleting its sealed original in the same
// statement, or (cause != nil) records a failed attempt: retried after
// policy's backoff, or, past its retry window or attempt limit, marked failed
// (dead is then true). cause's text is stored; it must not carry secrets.
func (s *Queues) FinishOutbound(ctx context.Context, o Outbound, cause error, policy RetryPolicy) (dead bool, err error) {
	if cause == nil {
		_, err := s.primary.Exec(ctx, `UPDATE outbox SET state = 'sent', lease_until = NULL, original_enc = NULL,
			last_error = NULL, attempts_settled = attempts WHERE id = $1 AND attempts = $2`, o.ID, o.Attempts)
		return false, mapPgErr(err, "outbox")
	}
	policy = policy.WithDefaults()
	err = s.primary.QueryRow(ctx, `UPDATE outbox SET
			state = CASE WHEN ($3 > 0 AND attempts >= $3)
				OR coalesce(retry_since, created_at) + $5 * interval '1 millisecond' <= now() THEN 'failed' ELSE 'pending' END,
			lease_until = least(now() + $6 * interval '1 millisecond', coalesce(retry_since, created_at) + $5 * interval '1 millisecond'),
			last_error = $4, attempts_settled = attempts
		WHERE id = $1 AND attempts = $2 AND state = 'pending'
		RETURNING state = 'failed'`, o.ID, o.Attempts, policy.MaxAttempts, errorText(cause),
		policy.For.Milliseconds(), policy.Delay(o.Attempts).Milliseconds()).Scan(&dead)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // another attempt took the row over
	}
	return dead, mapPgErr(err, "outbox")
}
