package tickets

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// appRolePool makes a login role that owns nothing, grants it what the application
// needs on owner's database (GrantApp) and returns a pool connected as it. The role is
// dropped when the test ends.
func appRolePool(t *testing.T, owner *pgxpool.Pool) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	role := "sbt_app_" + hex.EncodeToString(b)
	if _, err := owner.Exec(ctx, `CREATE ROLE `+role+` LOGIN PASSWORD 'app-password-for-tests'`); err != nil {
		t.Fatal(err)
	}
	if err := GrantApp(ctx, owner, role); err != nil {
		t.Fatal(err)
	}
	cfg := owner.Config().ConnConfig.Copy()
	u := url.URL{Scheme: "postgres", User: url.UserPassword(role, "app-password-for-tests"),
		Host: cfg.Host + ":" + strconv.Itoa(int(cfg.Port)), Path: "/" + cfg.Database, RawQuery: "sslmode=disable"}
	app, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		app.Close()
		for _, q := range []string{`DROP OWNED BY ` + role, `DROP ROLE ` + role} {
			if _, err := owner.Exec(context.Background(), q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	return app
}

// TestAppRoleCannotTamperWithTheAuditLog: connected as the application's role (not the
// owner), everything the application does works, and TRUNCATE, DELETE, UPDATE,
// DISABLE TRIGGER, ALTER and DROP on the audit tables all fail.
func TestAppRoleCannotTamperWithTheAuditLog(t *testing.T) {
	owner := migratedPool(t)
	app := appRolePool(t, owner)
	ctx := context.Background()
	s := NewStore(app, nil, testKeyRing(t))
	appendN(t, s, 3, "alice")
	if owns, err := OwnsAudit(ctx, app); err != nil || owns {
		t.Fatalf("OwnsAudit(app) = %v, %v; want false", owns, err)
	}
	if owns, err := OwnsAudit(ctx, owner); err != nil || !owns {
		t.Fatalf("OwnsAudit(owner) = %v, %v; want true", owns, err)
	}
	// The application's own work: partitions, archiving, anchoring, audit retention.
	now := time.Now()
	if _, err := s.EnsurePartitions(ctx, now.AddDate(0, -1, 0), now, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ArchiveMessages(ctx, now.AddDate(-1, 0, 0), 0); err != nil {
		t.Fatal(err)
	}
	a := NewAnchorer(s, AnchorOptions{File: filepath.Join(t.TempDir(), "anchors.jsonl")})
	if _, _, err := a.Anchor(ctx, "manual"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PurgeOlderThan(ctx, 365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`TRUNCATE audit_events`,
		`DELETE FROM audit_events`,
		`UPDATE audit_events SET actor = 'mallory'`,
		`ALTER TABLE audit_events DISABLE TRIGGER audit_events_guard`,
		`ALTER TABLE audit_events DISABLE TRIGGER ALL`,
		`ALTER TABLE audit_events ADD COLUMN x int`,
		`DROP TRIGGER audit_events_no_truncate ON audit_events`,
		`DROP TABLE audit_events`,
		`UPDATE audit_chain SET legacy_until = 0`,
		`TRUNCATE audit_chain`,
		`SELECT audit_purge(1000000)`, // allowed to run, but the guard keeps young events
	} {
		_, err := app.Exec(ctx, q)
		if q == `SELECT audit_purge(1000000)` {
			if err == nil {
				t.Errorf("%s removed events younger than 180 days", q)
			}
			continue
		}
		if err == nil {
			t.Errorf("as the application's role, %s succeeded", q)
		}
	}
	if n, err := s.VerifyAudit(ctx); err != nil || n != 3 {
		t.Fatalf("verify: %d, %v", n, err)
	}
}
