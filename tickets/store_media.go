package tickets

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Media is one stashed medium of a channel message (a voice note left to the queue).
type Media struct {
	Part int
	MIME string
	Data []byte
}

func mediaAAD(channel, messageID string, part int) []byte {
	return []byte("stashed_media:" + channel + ":" + messageID + ":" + strconv.Itoa(part))
}

// StashMedia keeps a channel message's media, encrypted, for a queue worker; call it
// before RecordInbound so an acknowledged turn never lacks them. A message already
// recorded (a redelivery) stashes nothing again, and neither does a second stash of the
// same parts.
func (s *Conversations) StashMedia(ctx context.Context, channel, messageID string, media []Media) error {
	if len(media) == 0 {
		return nil
	}
	parts, mimes, sealed := make([]int32, len(media)), make([]string, len(media)), make([][]byte, len(media))
	for i, m := range media {
		enc, err := s.crypt.Encrypt(m.Data, mediaAAD(channel, messageID, m.Part))
		if err != nil {
			return fmt.Errorf("stash media: %w", err)
		}
		parts[i], mimes[i], sealed[i] = int32(m.Part), m.MIME, enc
	}
	_, err := s.primary.Exec(ctx, `INSERT INTO stashed_media (channel, message_id, part, mime, data_enc)
		SELECT $1, $2, p, m, d FROM unnest($3::int[], $4::text[], $5::bytea[]) AS u(p, m, d)
		WHERE NOT EXISTS (SELECT 1 FROM channel_messages WHERE channel = $1 AND message_id = $2)
		ON CONFLICT DO NOTHING`, channel, messageID, parts, mimes, sealed)
	return mapPgErr(err, "stash media")
}

// StashedMedia returns a channel message's stashed media, decrypted, in part order.
func (s *Conversations) StashedMedia(ctx context.Context, channel, messageID string) ([]Media, error) {
	rows, err := s.primary.Query(ctx, `SELECT part, mime, data_enc FROM stashed_media
		WHERE channel = $1 AND message_id = $2 ORDER BY part`, channel, messageID)
	if err != nil {
		return nil, mapPgErr(err, "stashed media")
	}
	var out []Media
	var part int
	var mime string
	var enc []byte
	_, err = pgx.ForEachRow(rows, []any{&part, &mime, &enc}, func() error {
		data, err := s.crypt.Decrypt(enc, mediaAAD(channel, messageID, part))
		if err != nil {
			return fmt.Errorf("stashed media %s/%s#%d: %w", channel, messageID, part, err)
		}
		out = append(out, Media{Part: part, MIME: mime, Data: data})
		return nil
	})
	return out, mapPgErr(err, "stashed media")
}

// ResolveMedia replaces the text of a stored turn's message with text (a redacted
// transcript in place of the stashed media), adds the secrets behind its new
// placeholders to the vault, drops the stash and clears the turn's VoicePending fact, in
// one transaction. attempt fences it as
// in RecordReply: a turn taken over by another worker is left alone (ErrConflict).
func (s *Conversations) ResolveMedia(ctx context.Context, p PendingTurn, text string, secrets []Secret) error {
	placeholders, kinds, sealed, err := s.sealSecrets(p.ConversationID, p.MessageID, secrets)
	if err != nil {
		return err
	}
	return mapPgErr(pgx.BeginFunc(ctx, s.primary, func(tx pgx.Tx) error {
		var ok bool
		err := tx.QueryRow(ctx, `WITH turn AS (
				UPDATE channel_messages SET facts = nullif(facts - 'voice_pending', '{}'::jsonb)
				WHERE channel = $1 AND message_id = $2 AND attempts = $3 AND state = 'pending' RETURNING 1)
			SELECT EXISTS (SELECT 1 FROM turn)`,
			p.Channel, p.ChannelMessageID, p.Attempts).Scan(&ok)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("turn %s/%s attempt %d was taken over: %w", p.Channel, p.ChannelMessageID, p.Attempts, ErrConflict)
		}
		if _, err := tx.Exec(ctx, `UPDATE messages SET body = $3 WHERE id = $1 AND conversation_id = $2`,
			p.MessageID, p.ConversationID, text); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO pii_vault (conversation_id, message_id, placeholder, kind, value_enc)
			SELECT $1, $2, ph, k, v FROM unnest($3::text[], $4::text[], $5::bytea[]) AS u(ph, k, v)
			ON CONFLICT (message_id, placeholder) DO NOTHING`, p.ConversationID, p.MessageID, placeholders, kinds, sealed); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM stashed_media WHERE channel = $1 AND message_id = $2`, p.Channel, p.ChannelMessageID)
		return err
	}), "resolve media")
}

// dropOrphanMedia removes stashes older than age whose turn was never recorded (the
// channel gave up redelivering it).
func (s *Conversations) dropOrphanMedia(ctx context.Context, age time.Duration) (int64, error) {
	tag, err := s.primary.Exec(ctx, `DELETE FROM stashed_media sm WHERE created_at < now() - $1 * interval '1 second'
		AND NOT EXISTS (SELECT 1 FROM channel_messages cm WHERE cm.channel = sm.channel AND cm.message_id = sm.message_id)`,
		age.Seconds())
	return tag.RowsAffected(), mapPgErr(err, "drop orphan media")
}
