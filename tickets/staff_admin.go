package tickets

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
)

// staffSubjectRe is a sign-in's name: what staff type to sign in (an agent's is their
// agent id), letters, digits, '.', '_', '-' and '@'.
var staffSubjectRe = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}_.@-]{0,127}$`)

// CreateStaffAccount creates a sign-in that does not exist yet (ErrConflict when it
// does) by an administrator, audited as staff.create by actor in the same transaction.
func (s *Accounts) CreateStaffAccount(ctx context.Context, actor string, a StaffAccount) (StaffAccount, error) {
	if !staffSubjectRe.MatchString(a.Subject) {
		return StaffAccount{}, fmt.Errorf("user name %q: 1 to 128 letters, digits, '.', '_', '-' and '@': %w", a.Subject, ErrInvalid)
	}
	if a.Role == "" || a.PasswordHash == "" {
		return StaffAccount{}, fmt.Errorf("staff account: role and password are required: %w", ErrInvalid)
	}
	rec := AuditRecord{Actor: actor, Action: "staff.create", Target: "staff:" + a.Subject, Detail: map[string]string{"role": a.Role}}
	err := s.audit.Audited(ctx, rec, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO staff_accounts (subject, role, password_hash) VALUES ($1, $2, $3)
			RETURNING epoch, updated_at`, a.Subject, a.Role, a.PasswordHash).Scan(&a.Epoch, &a.UpdatedAt)
		return mapPgErr(err, "staff account "+a.Subject)
	})
	if err != nil {
		return StaffAccount{}, err
	}
	a.PasswordHash = ""
	return a, nil
}

// StaffChange is one change of a sign-in by an administrator: exactly one of its fields
// is set.
type StaffChange struct {
	Role         string // the new role
	PasswordHash string // the new password's hash
	Disabled     *bool  // disable (true) or enable (false) the sign-in
}

// action names the change in the audit log; what it detail records of it (never a
// password or its hash).
func (ch StaffChange) action() (action string, detail map[string]any, err error) {
	set := 0
	if ch.Role != "" {
		set, action, detail = set+1, "staff.role", map[string]any{"role": ch.Role}
	}
	if ch.PasswordHash != "" {
		set, action = set+1, "staff.password"
	}
	if ch.Disabled != nil {
		set, action = set+1, "staff.enable"
		if *ch.Disabled {
			action = "staff.disable"
		}
	}
	if set != 1 {
		return "", nil, fmt.Errorf("staff account: change one of role, password or disabled at a time: %w", ErrInvalid)
	}
	return action, detail, nil
}

// ChangeStaffAccount changes subject's sign-in (ErrNotFound without one): its role, its
// password or whether it is disabled, audited by actor in the same transaction. The
// account's epoch moves on, so the tokens it gave out are refused from then on.
func (s *Accounts) ChangeStaffAccount(ctx context.Context, actor, subject string, ch StaffChange) (StaffAccount, error) {
	action, detail, err := ch.action()
	if err != nil {
		return StaffAccount{}, err
	}
	out := StaffAccount{Subject: subject}
	rec := AuditRecord{Actor: actor, Action: action, Target: "staff:" + subject, Detail: detail}
	err = s.audit.Audited(ctx, rec, func(tx pgx.Tx) error {
		var disabledAt *time.Time
		err := tx.QueryRow(ctx, `UPDATE staff_accounts SET role = coalesce(nullif($2, ''), role),
				password_hash = coalesce(nullif($3, ''), password_hash),
				disabled_at = CASE WHEN $4::boolean IS NULL THEN disabled_at WHEN $4 THEN coalesce(disabled_at, now()) END,
				epoch = nextval('staff_account_epoch_seq'), updated_at = now()
			WHERE subject = $1 RETURNING role, epoch, disabled_at, updated_at`,
			subject, ch.Role, ch.PasswordHash, ch.Disabled).Scan(&out.Role, &out.Epoch, &disabledAt, &out.UpdatedAt)
		out.Disabled = disabledAt != nil
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("staff account %s: %w", subject, ErrNotFound)
		}
		return mapPgErr(err, "staff account")
	})
	if err != nil {
		return StaffAccount{}, err
	}
	return out, nil
}
