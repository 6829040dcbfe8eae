package tickets

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// appendOnlyTables may be read and appended to by the application, never changed:
// the audit log (its retention runs through audit_purge) and its switch point.
var appendOnlyTables = []string{"audit_events", "audit_chain"}

// ownerFunctions run with the owner's rights for the application (migration 00016).
var ownerFunctions = []string{"audit_purge(bigint)", "messages_ensure_partition(date)",
	"messages_drop_partitions_before(timestamptz)"}

// GrantApp gives role, through owner (a connection of the role that ran the
// migrations), what the application needs on the current schema and nothing more: it
// reads and writes the tables, uses the sequences and the owner's functions, but may
// only read and append to the audit tables, and as it owns nothing it cannot alter them,
// switch their triggers off or truncate them. Run it after every migration: it also
// covers tables added since.
func GrantApp(ctx context.Context, owner *pgxpool.Pool, role string) error {
	r := pgx.Identifier{role}.Sanitize()
	stmts := []string{
		`DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO ` + r + `', current_schema()); END $$`,
		`DO $$ BEGIN EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO ` + r + `', current_schema()); END $$`,
		`DO $$ BEGIN EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO ` + r + `', current_schema()); END $$`,
		`REVOKE ALL ON goose_db_version FROM ` + r,
		`GRANT SELECT ON goose_db_version TO ` + r,
	}
	for _, t := range appendOnlyTables {
		stmts = append(stmts, `REVOKE ALL ON `+t+` FROM `+r, `GRANT SELECT ON `+t+` TO `+r)
	}
	stmts = append(stmts, `GRANT INSERT ON audit_events TO `+r)
	for _, f := range ownerFunctions {
		stmts = append(stmts, `GRANT EXECUTE ON FUNCTION `+f+` TO `+r)
	}
	err := pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error {
		for _, q := range stmts {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
	return mapPgErr(err, "grant the application's role "+role)
}

// CurrentRole is the role pool connects as.
func CurrentRole(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	var role string
	err := pool.QueryRow(ctx, `SELECT current_user`).Scan(&role)
	return role, mapPgErr(err, "current role")
}

// OwnsAudit reports whether pool's role could tamper with the audit table beyond
// appending: it owns it (or is a member of its owner) or is a superuser. The
// application should connect as another role (see GrantApp). ErrNotFound: no audit
// table yet.
func OwnsAudit(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var owns bool
	err := pool.QueryRow(ctx, `SELECT pg_has_role(current_user, c.relowner, 'MEMBER')
			OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
		FROM pg_class c WHERE c.oid = to_regclass('audit_events')`).Scan(&owns)
	return owns, mapPgErr(err, "audit table owner")
}
