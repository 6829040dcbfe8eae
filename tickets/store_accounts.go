package tickets

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// StaffAccount is a console sign-in: a subject (the agent id for agents), its role and
// its password hash (bcrypt; the store never sees a password).
type StaffAccount struct {
	Subject      string
	Role         string
	PasswordHash string
	// Epoch is drawn from one sequence for all accounts at every change (and at
	// creation); the tokens a sign-in issues carry it and are refused once it moves on.
	// A deleted and re-created account never gets an epoch back.
	Epoch int64
	// Disabled accounts cannot sign in (an administrator's PUT /v1/staff/:id/disabled).
	Disabled  bool
	UpdatedAt time.Time
}

// PutStaffAccount creates or replaces a sign-in; a replaced one is enabled again.
func (s *Accounts) PutStaffAccount(ctx context.Context, a StaffAccount) error {
	if a.Subject == "" || a.Role == "" || a.PasswordHash == "" {
		return fmt.Errorf("staff account: subject, role and password hash are required: %w", ErrInvalid)
	}
	_, err := s.primary.Exec(ctx, `INSERT INTO staff_accounts (subject, role, password_hash) VALUES ($1, $2, $3)
		ON CONFLICT (subject) DO UPDATE SET role = $2, password_hash = $3, disabled_at = NULL,
			epoch = nextval('staff_account_epoch_seq'), updated_at = now()`, a.Subject, a.Role, a.PasswordHash)
	return mapPgErr(err, "staff account")
}

// GetStaffAccount returns a subject's sign-in (ErrNotFound without one).
func (s *Accounts) GetStaffAccount(ctx context.Context, subject string) (StaffAccount, error) {
	a := StaffAccount{Subject: subject}
	err := s.primary.QueryRow(ctx, `SELECT role, password_hash, epoch, disabled_at IS NOT NULL, updated_at FROM staff_accounts WHERE subject = $1`,
		subject).Scan(&a.Role, &a.PasswordHash, &a.Epoch, &a.Disabled, &a.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return StaffAccount{}, fmt.Errorf("staff account %s: %w", subject, ErrNotFound)
	}
	return a, mapPgErr(err, "staff account")
}

// CountStaffAccounts is how many sign-ins exist (serve warns when there are none).
func (s *Accounts) CountStaffAccounts(ctx context.Context) (int, error) {
	var n int
	err := s.primary.QueryRow(ctx, `SELECT count(*) FROM staff_accounts`).Scan(&n)
	return n, mapPgErr(err, "staff account")
}

// ListStaffAccounts lists the sign-ins (without their hashes and epochs), by subject.
func (s *Accounts) ListStaffAccounts(ctx context.Context) ([]StaffAccount, error) {
	rows, err := s.primary.Query(ctx, `SELECT subject, role, disabled_at IS NOT NULL, updated_at FROM staff_accounts ORDER BY subject`)
	if err != nil {
		return nil, mapPgErr(err, "staff accounts")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StaffAccount, error) {
		var a StaffAccount
		return a, r.Scan(&a.Subject, &a.Role, &a.Disabled, &a.UpdatedAt)
	})
	return out, mapPgErr(err, "staff accounts")
}

// DeleteStaffAccount removes a sign-in (ErrNotFound without one); the gateway then
// refuses the tokens it gave out.
func (s *Accounts) DeleteStaffAccount(ctx context.Context, subject string) error {
	tag, err := s.primary.Exec(ctx, `DELETE FROM staff_accounts WHERE subject = $1`, subject)
	if err != nil {
		return mapPgErr(err, "staff account")
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("staff account %s: %w", subject, ErrNotFound)
	}
	return nil
}
