package tickets

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Display names (customers.display_name, tickets.customer_name) are personal data: they
// are stored encrypted, bound to their row, with a blind index of kind nameIndexKind for
// exact, case-insensitive search (migration 00017). Rows from before keep their plaintext
// until SealNames moves it.
const nameIndexKind = "display_name"

func customerNameAAD(id string) []byte { return []byte("customers.display_name:" + id) }
func ticketNameAAD(id string) []byte   { return []byte("tickets.customer_name:" + id) }

// sealName encrypts a name bound to aad and returns its blind index; an empty name
// gives nils.
func (s *storeCore) sealName(name string, aad []byte) (enc, bidx []byte, err error) {
	if name == "" {
		return nil, nil, nil
	}
	if enc, err = s.crypt.Encrypt([]byte(name), aad); err != nil {
		return nil, nil, fmt.Errorf("seal name: %w", err)
	}
	return enc, s.nameIndex(name), nil
}

// nameIndex is the blind index a name is searched and compared by.
func (s *storeCore) nameIndex(name string) []byte { return s.crypt.BlindIndex(nameIndexKind, name) }

// openName returns the name sealed in enc, or plain for a row not sealed yet.
func (s *storeCore) openName(plain string, enc, aad []byte) (string, error) {
	if enc == nil {
		return plain, nil
	}
	name, err := s.crypt.Decrypt(enc, aad)
	if err != nil {
		return "", fmt.Errorf("open name: %w", err)
	}
	return string(name), nil
}

// cachedNamePrefix marks a name sealed for the Redis ticket cache.
const cachedNamePrefix = "sealed:"

func cacheNameAAD(ticketID string) []byte { return []byte("ticket-cache.customer_name:" + ticketID) }

// sealCachedName returns t with its customer name sealed, for the ticket cache: Redis
// holds no names in the clear.
func (s *Vault) sealCachedName(t Ticket) (Ticket, error) {
	if t.CustomerName == "" {
		return t, nil
	}
	enc, err := s.crypt.Encrypt([]byte(t.CustomerName), cacheNameAAD(t.ID))
	if err != nil {
		return t, fmt.Errorf("seal cached name: %w", err)
	}
	t.CustomerName = cachedNamePrefix + base64.RawStdEncoding.EncodeToString(enc)
	return t, nil
}

// openCachedName reverses sealCachedName.
func (s *Vault) openCachedName(t *Ticket) error {
	sealed, ok := strings.CutPrefix(t.CustomerName, cachedNamePrefix)
	if !ok {
		return nil
	}
	enc, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil {
		return fmt.Errorf("open cached name: %w", err)
	}
	name, err := s.crypt.Decrypt(enc, cacheNameAAD(t.ID))
	if err != nil {
		return fmt.Errorf("open cached name: %w", err)
	}
	t.CustomerName = string(name)
	return nil
}

// SealNames encrypts the display names still stored in plaintext (rows written before
// migration 00017) and empties the plaintext columns, in batches. It returns how many
// rows it sealed; run it until it returns 0 (serve does at start).
func (s *Vault) SealNames(ctx context.Context) (int64, error) {
	var total int64
	for _, t := range []struct{ table, plain, enc, bidx, what string }{
		{"customers", "display_name", "display_name_enc", "display_name_bidx", "customer"},
		{"tickets", "customer_name", "customer_name_enc", "customer_name_bidx", "ticket"},
	} {
		for {
			n, err := s.sealNameBatch(ctx, t.table, t.plain, t.enc, t.bidx, t.what)
			total += n
			if err != nil {
				return total, err
			}
			if n == 0 {
				break
			}
		}
	}
	return total, nil
}

func (s *Vault) sealNameBatch(ctx context.Context, table, plain, enc, bidx, what string) (int64, error) {
	rows, err := s.primary.Query(ctx, `SELECT id::text, `+plain+` FROM `+table+` WHERE `+plain+` <> '' LIMIT 500`)
	if err != nil {
		return 0, mapPgErr(err, "seal names")
	}
	type row struct{ ID, Name string }
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		return 0, mapPgErr(err, "seal names")
	}
	var n int64
	for _, r := range list {
		aad := customerNameAAD(r.ID)
		if what == "ticket" {
			aad = ticketNameAAD(r.ID)
		}
		e, b, err := s.sealName(r.Name, aad)
		if err != nil {
			return n, err
		}
		tag, err := s.primary.Exec(ctx, `UPDATE `+table+` SET `+enc+` = $2, `+bidx+` = $3, `+plain+` = ''
			WHERE id = $1 AND `+plain+` = $4`, r.ID, e, b, r.Name)
		if err != nil {
			return n, mapPgErr(err, "seal names")
		}
		n += tag.RowsAffected()
	}
	return n, nil
}
