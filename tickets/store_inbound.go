package tickets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Inbound is a customer message from a channel, already redacted.
type Inbound struct {
	Channel          string
	ChannelMessageID string // idempotency key; empty = a new id is made up
	ConversationID   string // empty = continue Thread's conversation, or open a new one
	CustomerRef      string // pseudonymous id
	// Thread is the channel's conversation thread (a chat, a Slack thread …). Without a
	// ConversationID, a message continues the customer's latest conversation on the
	// same channel and thread while that has an open ticket or its last message is
	// younger than ThreadIdle (default 24 h).
	Thread       string
	ThreadIdle   time.Duration
	CustomerName string
	Text         string // redacted text only
	// ReplyTo is the channel's address for answers (chat id, thread …); it
	// is kept on the conversation for the bot's and the agents' replies.
	ReplyTo json.RawMessage
	// Lease > 0 means the caller processes the turn itself right away: the
	// queue's workers leave it alone for that long (then take it over).
	Lease time.Duration
	// Secrets are the originals behind Text's placeholders, kept encrypted
	// in the token vault.
	Secrets []Secret
	// DeferFlush lets the message's commit return before its WAL is flushed.
	// Only for a caller that acknowledges the message after a synchronous
	// commit of its own that follows this one, as the REST channel does: it
	// records its reply (RecordReply) before it answers. That commit flushes
	// the WAL up to itself, this message included, so the message is still
	// durable before it is acknowledged, at one flush per turn instead of
	// two. (A redelivery is reported only after a flush, so it cannot
	// acknowledge an unflushed first delivery either.)
	DeferFlush bool
	// Facts are the media facts later steps need (a queue worker reads them back).
	Facts TurnFacts
}

// InboundResult says where the message went, or that it was seen before.
type InboundResult struct {
	ConversationID string
	CustomerID     string
	MessageID      int64
	Duplicate      bool
	Outcome        json.RawMessage // stored outcome of the first delivery (may be null)
	// NewConversation: this message opened its conversation, so no ticket
	// can belong to that conversation yet.
	NewConversation bool
}

// RecordInbound stores a customer message once per channel message id,
// in one transaction with its conversation-log entry. A second delivery of
// the same id changes nothing and returns Duplicate with the first outcome.
//
// The common case (a known customer, a new message) is one statement and so
// one round trip and one commit: the turn's latency is mostly round trips.
func (s *Conversations) RecordInbound(ctx context.Context, in Inbound) (InboundResult, error) {
	if in.Channel == "" || in.CustomerRef == "" {
		return InboundResult{}, fmt.Errorf("channel and customer are required: %w", ErrInvalid)
	}
	if in.ChannelMessageID == "" {
		in.ChannelMessageID = uuid.NewString()
	}
	if in.ConversationID != "" && uuid.Validate(in.ConversationID) != nil {
		return InboundResult{}, fmt.Errorf("conversation %q: %w", in.ConversationID, ErrNotFound)
	}
	if in.ConversationID == "" && in.Thread != "" {
		conv, err := s.threadConversation(ctx, in)
		if err != nil {
			return InboundResult{}, err
		}
		in.ConversationID = conv
	}
	w := inboundWrite{Inbound: in, newConversation: uuid.NewString(), checkName: in.CustomerName != ""}
	for range 3 {
		write := s.writeInbound
		if len(in.Secrets) > 0 {
			write = s.writeInboundWithID
		}
		r, err := write(ctx, w)
		if err != nil {
			return InboundResult{}, mapPgErr(err, "inbound message")
		}
		switch {
		case r.foreign:
			return InboundResult{}, errForeignMessageID(in.Channel)
		case r.seen != nil:
			return s.durableDuplicate(ctx, *r.seen)
		case r.stored != nil:
			s.AnnounceMessage(ctx, r.stored.ConversationID, r.stored.MessageID, "customer")
			return *r.stored, nil
		case in.ConversationID != "" && r.customerID != nil && r.owner == nil:
			return InboundResult{}, fmt.Errorf("conversation %s: %w", in.ConversationID, ErrNotFound)
		case in.ConversationID != "" && r.customerID != nil && *r.owner != *r.customerID:
			return InboundResult{}, fmt.Errorf("conversation %s belongs to another customer: %w", in.ConversationID, ErrForbidden)
		case r.customerID == nil || (w.checkName && !bytes.Equal(r.customerName, s.nameIndex(in.CustomerName))):
			// First contact, or a new display name: create or update the
			// customer, then store the message.
			if _, err := s.UpsertCustomer(ctx, Customer{PseudonymousID: in.CustomerRef, DisplayName: in.CustomerName}, false); err != nil {
				return InboundResult{}, err
			}
			w.checkName = false
		default:
			// A concurrent delivery of the same message id won.
			dup, err := s.seenInbound(ctx, in)
			if err != nil {
				return InboundResult{}, err
			}
			return s.durableDuplicate(ctx, dup)
		}
	}
	return InboundResult{}, fmt.Errorf("inbound message: customer %s keeps changing: %w", in.CustomerRef, ErrConflict)
}

// threadConversation is the conversation a threaded message continues ("" for none).
func (s *Conversations) threadConversation(ctx context.Context, in Inbound) (string, error) {
	idle := in.ThreadIdle
	if idle <= 0 {
		idle = 24 * time.Hour
	}
	var id string
	err := s.primary.QueryRow(ctx, `SELECT c.id FROM conversations c JOIN customers cu ON cu.id = c.customer_id
		WHERE cu.pseudonymous_id = $1 AND c.channel = $2 AND c.thread = $3
			AND (c.last_message_at > now() - $4 * interval '1 millisecond'
				OR EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = c.id AND t.status NOT IN ('resolved', 'closed')))
		ORDER BY c.last_message_at DESC NULLS LAST LIMIT 1`, in.CustomerRef, in.Channel, in.Thread, idle.Milliseconds()).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, mapPgErr(err, "conversation thread")
}

// inboundWrite is one attempt of RecordInbound.
type inboundWrite struct {
	Inbound
	newConversation string // the id of the conversation to open when none is named
	messageID       int64  // 0: the statement takes one
	checkName       bool   // store only if the customer's display name is CustomerName
}

// inboundOutcome says what writeInbound did: seen or stored is set, or
// neither, and then the customer and the conversation's owner tell why
// (nil: no such row).
type inboundOutcome struct {
	seen, stored      *InboundResult
	customerID, owner *string
	customerName      []byte // the blind index of the customer's display name
	foreign           bool   // the message id was used by another customer
}

// inboundSQL stores a message of a known customer in one statement: the
// channel message row (the idempotency key and the queue entry) gates every
// other write, so a duplicate or a refused attempt writes nothing. Foreign
// keys are checked at the end of the statement, after the conversation row
// of a new conversation exists.
const inboundSQL = `WITH async AS (
		SELECT set_config('synchronous_commit', 'off', true) WHERE $15::boolean
	), cust AS (
		SELECT id, display_name_bidx FROM customers WHERE pseudonymous_id = $3
	), seen AS (
		-- another customer's message under this id is seen too (nothing is written), but
		-- none of its data is returned: the caller gets a conflict
		SELECT coalesce(m.customer_id = c.id, false) AS mine, CASE WHEN m.customer_id = c.id THEN m.conversation_id END AS conversation_id,
			CASE WHEN m.customer_id = c.id THEN m.customer_id END AS customer_id,
			CASE WHEN m.customer_id = c.id THEN m.log_id END AS log_id, CASE WHEN m.customer_id = c.id THEN m.outcome END AS outcome
		FROM channel_messages m LEFT JOIN cust c ON true WHERE m.channel = $1 AND m.message_id = $2
	), owner AS (
		-- the conversation's row lock, held to the commit, before the message takes its
		-- id: within a conversation, ids follow the commits (see lockConversation)
		SELECT customer_id FROM conversations WHERE id = $4::uuid FOR NO KEY UPDATE
	), ok AS (
		SELECT cust.id AS customer_id, coalesce($4::uuid, $5::uuid) AS conversation_id FROM cust
		WHERE NOT EXISTS (SELECT 1 FROM seen) AND (NOT $6::boolean OR cust.display_name_bidx = $7::bytea)
			AND ($4::uuid IS NULL OR cust.id = (SELECT customer_id FROM owner))
	), cm AS (
		INSERT INTO channel_messages (channel, message_id, conversation_id, customer_id, log_id, lease_until, attempts, facts)
		SELECT $1, $2, conversation_id, customer_id, coalesce($8::bigint, nextval('messages_id_seq')),
			now() + $9::bigint * interval '1 millisecond', CASE WHEN $9::bigint IS NULL THEN 0 ELSE 1 END, $17::jsonb
		FROM ok
		ON CONFLICT DO NOTHING
		RETURNING conversation_id, customer_id, log_id
	), conv AS (
		INSERT INTO conversations (id, customer_id, channel, reply_to, thread, last_message_at)
		SELECT conversation_id, customer_id, $1, $10::jsonb, $16::text, CASE WHEN $16::text IS NOT NULL THEN now() END
		FROM cm WHERE $4::uuid IS NULL
	), reply_to AS (
		UPDATE conversations c SET reply_to = coalesce($10::jsonb, c.reply_to),
			last_message_at = CASE WHEN $16::text IS NOT NULL THEN now() ELSE c.last_message_at END
		FROM cm
		WHERE $4::uuid IS NOT NULL AND ($10::jsonb IS NOT NULL OR $16::text IS NOT NULL) AND c.id = cm.conversation_id
	), msg AS (
		INSERT INTO messages (id, conversation_id, author, body) SELECT log_id, conversation_id, 'customer', $11::text FROM cm
	), vault AS (
		INSERT INTO pii_vault (conversation_id, message_id, placeholder, kind, value_enc)
		SELECT cm.conversation_id, cm.log_id, v.placeholder, v.kind, v.value_enc
		FROM cm, unnest($12::text[], $13::text[], $14::bytea[]) AS v (placeholder, kind, value_enc)
		ON CONFLICT DO NOTHING
	)
	SELECT (SELECT id FROM cust), (SELECT display_name_bidx FROM cust), (SELECT customer_id FROM owner),
		s.mine, s.conversation_id, s.customer_id, s.log_id, s.outcome, w.conversation_id, w.customer_id, w.log_id
	FROM (VALUES (1)) AS one LEFT JOIN async ON true LEFT JOIN seen s ON true LEFT JOIN cm w ON true`

// writeInboundWithID is writeInbound for a message with secrets: the vault binds each
// ciphertext to the message's id, so the id is taken first, in a transaction that holds
// the conversation's row lock until the message commits (see lockConversation).
func (s *Conversations) writeInboundWithID(ctx context.Context, w inboundWrite) (out inboundOutcome, err error) {
	err = pgx.BeginFunc(ctx, s.primary, func(tx pgx.Tx) error {
		if w.ConversationID != "" {
			if _, err := tx.Exec(ctx, `SELECT 1 FROM conversations WHERE id = $1 FOR NO KEY UPDATE`, w.ConversationID); err != nil {
				return err
			}
		}
		if err := tx.QueryRow(ctx, `SELECT nextval('messages_id_seq')`).Scan(&w.messageID); err != nil {
			return err
		}
		out, err = s.writeInboundOn(ctx, tx, w)
		return err
	})
	return out, err
}

func (s *Conversations) writeInbound(ctx context.Context, w inboundWrite) (inboundOutcome, error) {
	return s.writeInboundOn(ctx, s.primary, w)
}

// writeInboundOn runs inboundSQL through q (the pool, or the transaction of
// writeInboundWithID).
func (s *Conversations) writeInboundOn(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, w inboundWrite) (inboundOutcome, error) {
	var conv any
	if w.ConversationID != "" {
		conv = w.ConversationID
	}
	var msgID, lease any
	if w.messageID != 0 {
		msgID = w.messageID
	}
	if w.Lease > 0 {
		lease = w.Lease.Milliseconds() // on the database's clock, as ExtendLease and ClaimTurn
	}
	target := w.newConversation
	if w.ConversationID != "" {
		target = w.ConversationID
	}
	placeholders, kinds, sealed, err := s.sealSecrets(target, w.messageID, w.Secrets)
	if err != nil {
		return inboundOutcome{}, err
	}
	var out inboundOutcome
	var mine *bool
	var seenConv, seenCust, storedConv, storedCust *string
	var seenLog, storedLog *int64
	var outcome []byte
	var nameIndex []byte
	if w.checkName {
		nameIndex = s.nameIndex(w.CustomerName)
	}
	facts, err := w.Facts.value()
	if err != nil {
		return inboundOutcome{}, err
	}
	err = q.QueryRow(ctx, inboundSQL, w.Channel, w.ChannelMessageID, w.CustomerRef, conv, w.newConversation,
		w.checkName, nameIndex, msgID, lease, nullJSON(w.ReplyTo), w.Text, placeholders, kinds, sealed, w.DeferFlush, nullIfEmpty(w.Thread), facts).
		Scan(&out.customerID, &out.customerName, &out.owner, &mine, &seenConv, &seenCust, &seenLog, &outcome, &storedConv, &storedCust, &storedLog)
	if err != nil {
		return inboundOutcome{}, err
	}
	out.foreign = mine != nil && !*mine
	if seenConv != nil {
		out.seen = &InboundResult{ConversationID: *seenConv, CustomerID: *seenCust, MessageID: *seenLog, Duplicate: true, Outcome: outcome}
	}
	if storedConv != nil {
		out.stored = &InboundResult{ConversationID: *storedConv, CustomerID: *storedCust, MessageID: *storedLog,
			NewConversation: w.ConversationID == ""}
	}
	return out, nil
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}

// durableDuplicate returns a redelivery's result once the first delivery is
// durable: that one may have committed without waiting for the flush
// (DeferFlush), and a redelivery must not be acknowledged before. Assigning
// a transaction id makes the statement's commit write a record of its own,
// after the first delivery's, and wait for the flush up to it.
func (s *Conversations) durableDuplicate(ctx context.Context, dup InboundResult) (InboundResult, error) {
	if _, err := s.primary.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
		return InboundResult{}, mapPgErr(err, "inbound message")
	}
	return dup, nil
}

func (s *Conversations) seenInbound(ctx context.Context, in Inbound) (InboundResult, error) {
	res := InboundResult{Duplicate: true}
	var outcome []byte
	var sender string
	err := s.primary.QueryRow(ctx, `SELECT m.conversation_id, m.customer_id, m.log_id, m.outcome, c.pseudonymous_id
		FROM channel_messages m JOIN customers c ON c.id = m.customer_id
		WHERE m.channel = $1 AND m.message_id = $2`, in.Channel, in.ChannelMessageID).
		Scan(&res.ConversationID, &res.CustomerID, &res.MessageID, &outcome, &sender)
	if err != nil {
		return InboundResult{}, mapPgErr(err, "channel message")
	}
	if sender != in.CustomerRef {
		return InboundResult{}, errForeignMessageID(in.Channel)
	}
	res.Outcome = outcome
	return res, nil
}

// errForeignMessageID refuses a message whose channel message id another customer's
// message already has: a duplicate is recognized only from the same customer, and never
// answered with another customer's outcome or conversation.
func errForeignMessageID(channel string) error {
	return fmt.Errorf("message_id is already taken by another sender on channel %s (ids must be unique per channel): %w", channel, ErrConflict)
}

// SaveOutcome stores what processing a channel message produced (the
// reply, escalation …) so a redelivery is answered the same way.
func (s *Conversations) SaveOutcome(ctx context.Context, channel, channelMessageID string, outcome any) error {
	b, err := json.Marshal(outcome)
	if err != nil {
		return err
	}
	_, err = s.primary.Exec(ctx, `UPDATE channel_messages SET outcome = $3 WHERE channel = $1 AND message_id = $2`,
		channel, channelMessageID, b)
	return mapPgErr(err, "channel message outcome")
}
