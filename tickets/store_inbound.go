package tickets

import (
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
	ConversationID   string // empty = open a new conversation
	CustomerRef      string // pseudonymous id
	CustomerName     string
	Text             string // redacted text only
	// ReplyTo is the channel's address for answers (chat id, thread …); it
	// is kept on the conversation for the bot's and the agents' replies.
	ReplyTo json.RawMessage
	// Lease > 0 means the caller processes the turn itself right away: the
	// queue's workers leave it alone for that long (then take it over).
	Lease time.Duration
	// Secrets are the originals behind Text's placeholders, kept encrypted
	// in the token vault.
	Secrets []Secret
}

// InboundResult says where the message went, or that it was seen before.
type InboundResult struct {
	ConversationID string
	CustomerID     string
	MessageID      int64
	Duplicate      bool
	Outcome        json.RawMessage // stored outcome of the first delivery (may be null)
}

// RecordInbound stores a customer message once per channel message id,
// in one transaction with its conversation-log entry. A second delivery of
// the same id changes nothing and returns Duplicate with the first outcome.
func (s *Store) RecordInbound(ctx context.Context, in Inbound) (InboundResult, error) {
	if in.Channel == "" || in.CustomerRef == "" {
		return InboundResult{}, fmt.Errorf("channel and customer are required: %w", ErrInvalid)
	}
	if in.ChannelMessageID == "" {
		in.ChannelMessageID = uuid.NewString()
	}
	if dup, err := s.seenInbound(ctx, in); err == nil || !errors.Is(err, ErrNotFound) {
		return dup, err
	}
	cust, err := s.UpsertCustomer(ctx, Customer{PseudonymousID: in.CustomerRef, DisplayName: in.CustomerName}, false)
	if err != nil {
		return InboundResult{}, err
	}
	res := InboundResult{ConversationID: in.ConversationID, CustomerID: cust.ID}
	err = pgx.BeginFunc(ctx, s.primary, func(tx pgx.Tx) error {
		replyTo := nullJSON(in.ReplyTo)
		if res.ConversationID == "" {
			res.ConversationID = uuid.NewString()
			if _, err := tx.Exec(ctx, `INSERT INTO conversations (id, customer_id, channel, reply_to) VALUES ($1, $2, $3, $4)`,
				res.ConversationID, cust.ID, in.Channel, replyTo); err != nil {
				return err
			}
		} else if err := checkOwner(ctx, tx, res.ConversationID, cust.ID); err != nil {
			return err
		} else if replyTo != nil {
			if _, err := tx.Exec(ctx, `UPDATE conversations SET reply_to = $2 WHERE id = $1`, res.ConversationID, replyTo); err != nil {
				return err
			}
		}
		if err := tx.QueryRow(ctx, `INSERT INTO messages (conversation_id, author, body) VALUES ($1, 'customer', $2) RETURNING id`,
			res.ConversationID, in.Text).Scan(&res.MessageID); err != nil {
			return err
		}
		if err := s.vaultSecrets(ctx, tx, res.ConversationID, res.MessageID, in.Secrets); err != nil {
			return err
		}
		var lease any
		if in.Lease > 0 {
			lease = time.Now().Add(in.Lease)
		}
		tag, err := tx.Exec(ctx, `INSERT INTO channel_messages (channel, message_id, conversation_id, customer_id, log_id, lease_until, attempts)
			VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $6::timestamptz IS NULL THEN 0 ELSE 1 END) ON CONFLICT DO NOTHING`,
			in.Channel, in.ChannelMessageID, res.ConversationID, cust.ID, res.MessageID, lease)
		if err == nil && tag.RowsAffected() == 0 {
			return errDuplicate // a concurrent delivery won; roll back our copy
		}
		return err
	})
	if errors.Is(err, errDuplicate) {
		return s.seenInbound(ctx, in)
	}
	if err == nil {
		s.AnnounceMessage(ctx, res.ConversationID, res.MessageID, "customer")
	}
	return res, mapPgErr(err, "inbound message")
}

var errDuplicate = errors.New("duplicate delivery")

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}

func checkOwner(ctx context.Context, tx pgx.Tx, conversationID, customerID string) error {
	if uuid.Validate(conversationID) != nil {
		return fmt.Errorf("conversation %q: %w", conversationID, ErrNotFound)
	}
	var owner string
	if err := tx.QueryRow(ctx, `SELECT customer_id FROM conversations WHERE id = $1`, conversationID).Scan(&owner); err != nil {
		return mapPgErr(err, "conversation "+conversationID)
	}
	if owner != customerID {
		return fmt.Errorf("conversation %s belongs to another customer: %w", conversationID, ErrForbidden)
	}
	return nil
}

func (s *Store) seenInbound(ctx context.Context, in Inbound) (InboundResult, error) {
	res := InboundResult{Duplicate: true}
	var outcome []byte
	err := s.primary.QueryRow(ctx, `SELECT conversation_id, customer_id, log_id, outcome FROM channel_messages
		WHERE channel = $1 AND message_id = $2`, in.Channel, in.ChannelMessageID).
		Scan(&res.ConversationID, &res.CustomerID, &res.MessageID, &outcome)
	res.Outcome = outcome
	return res, mapPgErr(err, "channel message")
}

// SaveOutcome stores what processing a channel message produced (the
// reply, escalation …) so a redelivery is answered the same way.
func (s *Store) SaveOutcome(ctx context.Context, channel, channelMessageID string, outcome any) error {
	b, err := json.Marshal(outcome)
	if err != nil {
		return err
	}
	_, err = s.primary.Exec(ctx, `UPDATE channel_messages SET outcome = $3 WHERE channel = $1 AND message_id = $2`,
		channel, channelMessageID, b)
	return mapPgErr(err, "channel message outcome")
}
