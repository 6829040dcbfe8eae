package tickets

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Default hold of agents' originals on pull channels (see HoldOriginals).
const (
	DefaultOriginalReadGrace = 10 * time.Minute
	DefaultOriginalRetention = 7 * 24 * time.Hour
)

// HoldOriginals sets how long an agent's original text stays readable on a
// pull channel (REST, web chat), where "delivered" means read by the customer:
// grace after the customer first reads it (so a reload or a reconnect shows
// the same text), and at most retention while unread. Afterwards the customer
// sees the stored, redacted text like everyone else. Zero values keep the
// defaults (10 minutes, 7 days). Call it before the store is used.
func (s *Conversations) HoldOriginals(grace, retention time.Duration) {
	if grace > 0 {
		s.readGrace = grace
	}
	if retention > 0 {
		s.retention = retention
	}
}

func (s *storeCore) holdPolicy() (grace, retention time.Duration) {
	grace, retention = s.readGrace, s.retention
	if grace <= 0 {
		grace = DefaultOriginalReadGrace
	}
	if retention <= 0 {
		retention = DefaultOriginalRetention
	}
	return grace, retention
}

// heldAAD binds a held original to its conversation and message.
func heldAAD(conversationID string, messageID int64) []byte {
	return fmt.Appendf(nil, "held_originals.body_enc:%s:%d", conversationID, messageID)
}

func (s *storeCore) holdOriginalTx(ctx context.Context, tx pgx.Tx, m Message, original string) error {
	sealed, err := s.crypt.Encrypt([]byte(original), heldAAD(m.ConversationID, m.ID))
	if err != nil {
		return fmt.Errorf("seal reply: %w", err)
	}
	_, retention := s.holdPolicy()
	_, err = tx.Exec(ctx, `INSERT INTO held_originals (message_id, conversation_id, body_enc, expires_at)
		VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')`, m.ID, m.ConversationID, sealed, retention.Milliseconds())
	return mapPgErr(err, "held original")
}

// CustomerView shows msgs, messages of conversationID, as the customer who owns
// it reads them: an agent's reply whose original is still held carries the
// original text. Reading starts the read grace of each one shown. Call it only
// for the owner's own reads; staff see the stored text.
func (s *Conversations) CustomerView(ctx context.Context, conversationID string, msgs []Message) error {
	var ids []int64
	for _, m := range msgs {
		if strings.HasPrefix(m.Author, "agent:") {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	grace, _ := s.holdPolicy()
	rows, err := s.primary.Query(ctx, `UPDATE held_originals SET first_read_at = coalesce(first_read_at, now()),
			expires_at = least(expires_at, coalesce(first_read_at, now()) + $3 * interval '1 millisecond')
		WHERE conversation_id = $1 AND message_id = ANY($2) AND expires_at > now()
		RETURNING message_id, body_enc`, conversationID, ids, grace.Milliseconds())
	if err != nil {
		return mapPgErr(err, "held originals")
	}
	held := map[int64][]byte{}
	var id int64
	var enc []byte
	if _, err := pgx.ForEachRow(rows, []any{&id, &enc}, func() error { held[id] = enc; return nil }); err != nil {
		return mapPgErr(err, "held originals")
	}
	for i := range msgs {
		enc, ok := held[msgs[i].ID]
		if !ok {
			continue
		}
		pt, err := s.crypt.Decrypt(enc, heldAAD(conversationID, msgs[i].ID))
		if err != nil {
			return fmt.Errorf("open the held original of message %d: %w", msgs[i].ID, err)
		}
		msgs[i].Text = string(pt)
	}
	return nil
}

// ReleaseOriginals deletes held originals whose hold ended (read and past the
// grace, or unread past the retention). It returns how many it deleted.
func (s *Conversations) ReleaseOriginals(ctx context.Context) (int64, error) {
	tag, err := s.primary.Exec(ctx, `DELETE FROM held_originals WHERE expires_at <= now()`)
	return tag.RowsAffected(), mapPgErr(err, "release held originals")
}
