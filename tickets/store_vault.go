package tickets

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Secret is one original value behind a placeholder of a redacted message.
type Secret struct {
	Placeholder string `json:"placeholder"`
	Kind        string `json:"kind"`
	Value       string `json:"value"`
}

func vaultAAD(conversationID string, messageID int64, placeholder string) []byte {
	return []byte("pii_vault:" + conversationID + ":" + strconv.FormatInt(messageID, 10) + ":" + placeholder)
}

// vaultSecrets stores a message's originals, encrypted, through tx.
func (s *Store) vaultSecrets(ctx context.Context, tx pgx.Tx, conversationID string, messageID int64, secrets []Secret) error {
	for _, sec := range secrets {
		enc, err := s.crypt.Encrypt([]byte(sec.Value), vaultAAD(conversationID, messageID, sec.Placeholder))
		if err != nil {
			return fmt.Errorf("vault: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO pii_vault (conversation_id, message_id, placeholder, kind, value_enc)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, conversationID, messageID, sec.Placeholder, sec.Kind, enc); err != nil {
			return err
		}
	}
	return nil
}

// RevealSecrets decrypts the originals of one message of a conversation.
// Callers authorize and audit (Service.Reveal does both).
func (s *Store) RevealSecrets(ctx context.Context, conversationID string, messageID int64) ([]Secret, error) {
	rows, err := s.primary.Query(ctx, `SELECT placeholder, kind, value_enc FROM pii_vault
		WHERE conversation_id = $1 AND message_id = $2 ORDER BY placeholder`, conversationID, messageID)
	if err != nil {
		return nil, mapPgErr(err, "vault")
	}
	type row struct {
		Placeholder, Kind string
		Enc               []byte
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		return nil, mapPgErr(err, "vault")
	}
	out := make([]Secret, 0, len(list))
	for _, r := range list {
		pt, err := s.crypt.Decrypt(r.Enc, vaultAAD(conversationID, messageID, r.Placeholder))
		if err != nil {
			return nil, fmt.Errorf("vault %s: %w", r.Placeholder, err)
		}
		out = append(out, Secret{Placeholder: r.Placeholder, Kind: r.Kind, Value: string(pt)})
	}
	return out, nil
}
