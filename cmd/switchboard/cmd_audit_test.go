package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/embedded"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/tickets"
)

// TestServeRefusesPerMachineSecretsWhenReplicated: with a read replica or a Redis
// Cluster, serve does not start on a key ring or JWT secret it would generate per
// machine.
func TestServeRefusesPerMachineSecretsWhenReplicated(t *testing.T) {
	base := config.Default()
	base.DataDir = t.TempDir()
	base.Postgres.DSN = "postgres://127.0.0.1:1/none"
	for name, mutate := range map[string]func(*config.Config){
		"replica, nothing given": func(c *config.Config) { c.Postgres.ReplicaDSN = "postgres://127.0.0.1:1/replica" },
		"cluster, no jwt secret": func(c *config.Config) {
			c.Redis.ClusterAddrs = []string{"127.0.0.1:1"}
			c.Security.KeyRingFile = "/k.json"
		},
		"replica, no key ring set": func(c *config.Config) { c.Postgres.ReplicaDSN = "x"; c.Auth.JWTSecret = strings.Repeat("s", 32) },
	} {
		cfg := base
		mutate(&cfg)
		err := serveWith(context.Background(), cfg, nil)
		if err == nil || !strings.Contains(err.Error(), "security.key_ring_file") || !strings.Contains(err.Error(), "auth.jwt_secret") {
			t.Errorf("%s: %v, want a refusal naming both settings", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(base.DataDir, "keyring.json")); err == nil {
		t.Error("a key ring was generated")
	}
}

// TestAuditKeysAndEraseCommands runs the audit, keys and customers commands on the
// embedded database: anchoring and verifying, a rotation that keeps the chain verifying,
// a tampered tail that verify catches, and a key ring sealed by SWITCHBOARD_KEYRING_KEK.
func TestAuditKeysAndEraseCommands(t *testing.T) {
	needPostgres(t)
	dir := t.TempDir()
	t.Setenv("SWITCHBOARD_DATA_DIR", dir)
	run := func(want string, args ...string) string {
		t.Helper()
		out, err := execCLI(t, "a long passphrase\n", args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		if !strings.Contains(out, want) {
			t.Fatalf("%v printed %q, want %q in it", args, out, want)
		}
		return out
	}
	fails := func(want string, args ...string) {
		t.Helper()
		out, err := execCLI(t, "", args...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%v: %v (%s), want an error saying %q", args, err, out, want)
		}
	}
	run("alice can sign in", "users", "set", "alice", "--role", "agent")
	run("no anchor yet", "audit", "verify")
	run(`"head_id"`, "audit", "anchor")
	run("the latest anchor", "audit", "verify")
	run("is active", "keys", "rotate", "--quiet")
	run("re-encrypted 0 values", "keys", "reencrypt", "--quiet")
	run(`"head_id":2`, "audit", "anchor") // the rotation's event, under the new key
	run("the latest anchor", "audit", "verify")
	fails("--yes", "customers", "erase", "web:nobody")
	fails("not found", "customers", "erase", "web:nobody", "--yes")

	// Remove the last events as the table's owner could; verify catches it.
	pg, err := embedded.StartPostgres(context.Background(), embedded.PostgresOptions{DataDir: filepath.Join(dir, "pg")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.DSN("switchboard"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`ALTER TABLE audit_events DISABLE TRIGGER USER`, `DELETE FROM audit_events WHERE id > 1`, `ALTER TABLE audit_events ENABLE TRIGGER USER`} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(ctx)
	if err := pg.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	fails("missing", "audit", "verify")

	// A key-encryption key seals the ring; without it the ring does not open.
	kek := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	t.Setenv("SWITCHBOARD_KEYRING_KEK", kek)
	run("alice", "users", "list")
	if err := os.Unsetenv("SWITCHBOARD_KEYRING_KEK"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "keyring.json"))
	if !strings.Contains(string(raw), `"wrapped"`) || strings.Contains(string(raw), `"index_key"`) {
		t.Fatalf("key ring not sealed:\n%s", raw)
	}
	fails("SWITCHBOARD_KEYRING_KEK", "keys", "reencrypt")
}

// TestDoctorFlagsAnApplicationRoleThatOwnsTheAuditLog: postgres.dsn as the owner (here
// a superuser) is flagged with a fix; an unmigrated database is not an error.
func TestDoctorFlagsAnApplicationRoleThatOwnsTheAuditLog(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Postgres.DSN = testenv.PG(t)
	if c := checkPostgresRole(context.Background(), cfg); c.Status != "optional" {
		t.Errorf("unmigrated database: %+v", c)
	}
	if err := tickets.MigrateDSN(context.Background(), cfg.Postgres.DSN); err != nil {
		t.Fatal(err)
	}
	c := checkPostgresRole(context.Background(), cfg)
	if c.Status != "insecure" || !strings.Contains(c.Fix, "postgres.owner_dsn") {
		t.Errorf("owning role: %+v", c)
	}
	cfg.Postgres.DSN = ""
	if c := checkPostgresRole(context.Background(), cfg); c.Status != "ok" || !strings.Contains(c.Detail, embedded.AppRole) {
		t.Errorf("embedded: %+v", c)
	}
}

// TestOwnerDSNMigratesAndTheAppRoleOwnsNothing: with postgres.owner_dsn the owner
// migrates and grants, the application's role (postgres.dsn) works and cannot truncate
// the audit log, and no warning is logged; connecting the application as the owner logs
// one.
func TestOwnerDSNMigratesAndTheAppRoleOwnsNothing(t *testing.T) {
	ctx := context.Background()
	ownerDSN := testenv.PG(t)
	role := fmt.Sprintf("sbt_app_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6)
	admin, err := pgx.Connect(ctx, ownerDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	if _, err := admin.Exec(ctx, `CREATE ROLE `+role+` LOGIN PASSWORD 'app-role-password'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, q := range []string{`DROP OWNED BY ` + role, `DROP ROLE ` + role} {
			if _, err := admin.Exec(context.Background(), q); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	u, err := url.Parse(ownerDSN)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, "app-role-password")
	appDSN := u.String()
	open := func(dsn, owner string) (*app, string) {
		t.Helper()
		var logs bytes.Buffer
		cfg := config.Default()
		cfg.DataDir, cfg.Postgres.DSN, cfg.Postgres.OwnerDSN = t.TempDir(), dsn, owner
		a, err := openData(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)), dataUse{command: "test"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.close(ctx) })
		return a, logs.String()
	}
	a, logs := open(appDSN, ownerDSN)
	if strings.Contains(logs, "owner of the audit table") {
		t.Errorf("warned although the application's role owns nothing:\n%s", logs)
	}
	if err := a.openTickets(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.store.AppendAudit(ctx, nil, "test", "test.event", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.primary.Exec(ctx, `TRUNCATE audit_events`); err == nil {
		t.Error("the application's role truncated the audit log")
	}
	if _, logs := open(ownerDSN, ""); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "owner of the audit table") {
		t.Errorf("no warning when the application connects as the owner:\n%s", logs)
	}
}
