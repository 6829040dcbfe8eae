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

// sealSecrets encrypts a message's originals for the vault, each bound to
// its conversation, message and placeholder; the columns come back as
// arrays for one INSERT … SELECT FROM unnest (see inboundSQL).
func (s *storeCore) sealSecrets(conversationID string, messageID int64, secrets []Secret) (placeholders, kinds []string, sealed [][]byte, err error) {
	placeholders, kinds, sealed = make([]string, 0, len(secrets)), make([]string, 0, len(secrets)), make([][]byte, 0, len(secrets))
	for _, sec := range secrets {
		enc, err := s.crypt.Encrypt([]byte(sec.Value), vaultAAD(conversationID, messageID, sec.Placeholder))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("vault: %w", err)
		}
		placeholders, kinds, sealed = append(placeholders, sec.Placeholder), append(kinds, sec.Kind), append(sealed, enc)
	}
	return placeholders, kinds, sealed, nil
}

// RevealSecrets decrypts the originals of one message of a conversation.
// Callers authorize and audit (Service.Reveal does both).
func (s *Vault) RevealSecrets(ctx context.Context, conversationID string, messageID int64) ([]Secret, error) {
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
