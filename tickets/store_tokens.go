package tickets

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Revocation refuses bearer tokens: the one whose id (jti) is JTI, or every token of
// Subject issued at or before RevokedAt. Exactly one of JTI and Subject is set.
type Revocation struct {
	JTI       string    `json:"jti,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	RevokedAt time.Time `json:"revoked_at"`
	// KeepUntil is when every token the revocation can match has expired; the row is
	// pruned after it.
	KeepUntil time.Time `json:"keep_until"`
	By        string    `json:"by"`
}

func (r Revocation) check() error {
	if (r.JTI == "") == (r.Subject == "") {
		return fmt.Errorf("revocation: exactly one of jti and subject: %w", ErrInvalid)
	}
	if len(r.JTI) > 200 || len(r.Subject) > 200 || strings.TrimSpace(r.JTI+r.Subject) == "" {
		return fmt.Errorf("revocation: jti or subject of 1 to 200 bytes: %w", ErrInvalid)
	}
	if r.By == "" || !r.KeepUntil.After(time.Now()) {
		return fmt.Errorf("revocation: who revokes, and a keep-until time in the future: %w", ErrInvalid)
	}
	return nil
}

// RevokeTokens records r and its audit row (token.revoke) in one transaction and returns
// it with the time it took effect.
func (s *Accounts) RevokeTokens(ctx context.Context, r Revocation) (Revocation, error) {
	if err := r.check(); err != nil {
		return Revocation{}, err
	}
	err := pgx.BeginFunc(ctx, s.primary, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO token_revocations (jti, subject, keep_until, revoked_by)
			VALUES ($1, $2, $3, $4) RETURNING revoked_at`, nullIfEmpty(r.JTI), nullIfEmpty(r.Subject), r.KeepUntil, r.By).
			Scan(&r.RevokedAt)
		if err != nil {
			return err
		}
		target := "token:" + r.JTI
		if r.Subject != "" {
			target = "subject:" + r.Subject
		}
		return s.audit.AppendAudit(ctx, tx, r.By, "token.revoke", target, map[string]any{"keep_until": r.KeepUntil.UTC()})
	})
	return r, mapPgErr(err, "token revocation")
}

// Revocations returns the revocations in force, and prunes those whose tokens have
// all expired.
func (s *Accounts) Revocations(ctx context.Context) ([]Revocation, error) {
	rows, err := s.primary.Query(ctx, `WITH pruned AS (DELETE FROM token_revocations WHERE keep_until <= now())
		SELECT coalesce(jti, ''), coalesce(subject, ''), revoked_at, keep_until, revoked_by
		FROM token_revocations WHERE keep_until > now() ORDER BY id`)
	if err != nil {
		return nil, mapPgErr(err, "token revocations")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Revocation, error) {
		var v Revocation
		return v, r.Scan(&v.JTI, &v.Subject, &v.RevokedAt, &v.KeepUntil, &v.By)
	})
	return out, mapPgErr(err, "token revocations")
}
