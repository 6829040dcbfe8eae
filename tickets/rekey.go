package tickets

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// sealedColumn is one encrypted column: the key columns its AAD is built from, in
// order, and how. A column added later (by any package's migration) that holds
// fieldcrypt ciphertexts gets one entry here, so re-encryption covers it.
type sealedColumn struct {
	Table, Column string
	Keys          []string
	AAD           func(keys []string) []byte
}

var sealedColumns = []sealedColumn{
	{"customers", "email_enc", []string{"id"}, func(k []string) []byte { return []byte("customers.email:" + k[0]) }},
	{"customers", "phone_enc", []string{"id"}, func(k []string) []byte { return []byte("customers.phone:" + k[0]) }},
	{"customers", "display_name_enc", []string{"id"}, func(k []string) []byte { return customerNameAAD(k[0]) }},
	{"tickets", "customer_name_enc", []string{"id"}, func(k []string) []byte { return ticketNameAAD(k[0]) }},
	{"pii_vault", "value_enc", []string{"conversation_id", "message_id", "placeholder"}, func(k []string) []byte {
		id, _ := strconv.ParseInt(k[1], 10, 64)
		return vaultAAD(k[0], id, k[2])
	}},
	{"stashed_media", "data_enc", []string{"channel", "message_id", "part"}, func(k []string) []byte {
		part, _ := strconv.Atoi(k[2])
		return mediaAAD(k[0], k[1], part)
	}},
	{"ticket_attachments", "data_enc", []string{"id", "conversation_id"}, func(k []string) []byte {
		return attachmentAAD(k[0], k[1])
	}},
}

// RekeyProgress reports re-encryption of one column: done of total rows so far.
type RekeyProgress func(table, column string, done, total int64)

// ActiveKeyID names the key new ciphertexts are made with (fieldcrypt.KeyRing).
type ActiveKeyID interface{ ActiveKeyID() string }

// notUnderSQL selects the rows of a column sealed with another key than $1: a
// fieldcrypt ciphertext starts with its version byte, the key id's length and the id.
func notUnderSQL(column string) string {
	return column + ` IS NOT NULL AND substring(` + column + ` FROM 3 FOR get_byte(` + column + `, 1)) <> $1::bytea`
}

// Reencrypt rewrites every encrypted column under the active key: each value sealed with
// another key is opened and sealed again, bound to the same row. It is resumable (a rerun
// finds only the rows still under an old key) and safe next to running servers (a value
// changed meanwhile is left for the next run). It returns how many values it rewrote; a
// value that does not open is counted and reported, never overwritten.
func (s *Vault) Reencrypt(ctx context.Context, progress RekeyProgress) (int64, error) {
	ak, ok := s.crypt.(ActiveKeyID)
	if !ok {
		return 0, errors.New("re-encrypt: the store's FieldCrypter does not name its active key")
	}
	active := []byte(ak.ActiveKeyID())
	var rewritten, failed int64
	for _, col := range sealedColumns {
		n, bad, err := s.reencryptColumn(ctx, col, active, progress)
		rewritten, failed = rewritten+n, failed+bad
		if err != nil {
			return rewritten, err
		}
	}
	if failed > 0 {
		return rewritten, fmt.Errorf("re-encrypt: %d values did not open with the key ring and were left as they are", failed)
	}
	return rewritten, nil
}

func (s *Vault) reencryptColumn(ctx context.Context, col sealedColumn, active []byte, progress RekeyProgress) (done, failed int64, err error) {
	var total int64
	if err := s.primary.QueryRow(ctx, `SELECT count(*) FROM `+col.Table+` WHERE `+notUnderSQL(col.Column), active).Scan(&total); err != nil {
		return 0, 0, mapPgErr(err, "re-encrypt "+col.Table)
	}
	if progress != nil {
		progress(col.Table, col.Column, 0, total)
	}
	after := "(0,0)"
	for {
		batch, last, err := s.rekeyBatch(ctx, col, active, after)
		if err != nil {
			return done, failed, err
		}
		if last == "" {
			return done, failed, nil
		}
		done, failed, after = done+batch.done, failed+batch.failed, last
		if progress != nil {
			progress(col.Table, col.Column, done, total)
		}
	}
}

type rekeyCounts struct{ done, failed int64 }

// rekeyBatch rewrites up to 200 rows after ctid after and returns the last ctid seen
// ("" when there were none).
func (s *Vault) rekeyBatch(ctx context.Context, col sealedColumn, active []byte, after string) (rekeyCounts, string, error) {
	keys := make([]string, len(col.Keys))
	for i, k := range col.Keys {
		keys[i] = k + "::text"
	}
	rows, err := s.primary.Query(ctx, `SELECT ctid::text, `+col.Column+`, `+strings.Join(keys, ", ")+` FROM `+col.Table+`
		WHERE `+notUnderSQL(col.Column)+` AND ctid > $2::tid ORDER BY ctid LIMIT 200`, active, after)
	if err != nil {
		return rekeyCounts{}, "", mapPgErr(err, "re-encrypt "+col.Table)
	}
	type row struct {
		ctid string
		ct   []byte
		keys []string
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		v := row{keys: make([]string, len(col.Keys))}
		dst := []any{&v.ctid, &v.ct}
		for i := range v.keys {
			dst = append(dst, &v.keys[i])
		}
		return v, r.Scan(dst...)
	})
	if err != nil || len(list) == 0 {
		return rekeyCounts{}, "", mapPgErr(err, "re-encrypt "+col.Table)
	}
	var c rekeyCounts
	for _, r := range list {
		aad := col.AAD(r.keys)
		plain, err := s.crypt.Decrypt(r.ct, aad)
		if err != nil {
			c.failed++
			continue
		}
		fresh, err := s.crypt.Encrypt(plain, aad)
		if err != nil {
			return c, "", fmt.Errorf("re-encrypt %s.%s: %w", col.Table, col.Column, err)
		}
		tag, err := s.primary.Exec(ctx, `UPDATE `+col.Table+` SET `+col.Column+` = $1 WHERE ctid = $2::tid AND `+col.Column+` = $3`,
			fresh, r.ctid, r.ct)
		if err != nil {
			return c, "", mapPgErr(err, "re-encrypt "+col.Table)
		}
		c.done += tag.RowsAffected()
	}
	return c, list[len(list)-1].ctid, nil
}
