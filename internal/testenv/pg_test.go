package testenv

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

func connectPG(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	var exists bool
	err := connectPG(t, PGAdminDSN(t)).QueryRow(context.Background(),
		"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	return exists
}

func currentDatabase(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var name string
	if err := conn.QueryRow(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestPGGivesIsolatedDatabasesDroppedAtCleanup(t *testing.T) {
	var names []string
	t.Run("use", func(t *testing.T) {
		a, b := connectPG(t, PG(t)), connectPG(t, PG(t))
		names = []string{currentDatabase(t, a), currentDatabase(t, b)}
		if names[0] == names[1] {
			t.Fatalf("both tests got database %s", names[0])
		}
		if _, err := a.Exec(context.Background(), "CREATE TABLE only_in_a (id int)"); err != nil {
			t.Fatal(err)
		}
		var n int
		err := b.QueryRow(context.Background(), "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n)
		if err != nil || n != 0 {
			t.Errorf("table leaked into the other database: n=%d err=%v", n, err)
		}
	})
	for _, name := range names {
		if databaseExists(t, name) {
			t.Errorf("database %s still exists after its test ended", name)
		}
	}
}

func TestPGTemplateClonesInitOnce(t *testing.T) {
	var calls atomic.Int32
	init := func(ctx context.Context, dsn string) error {
		calls.Add(1)
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "CREATE TABLE seeded (name text); INSERT INTO seeded VALUES ('from-init')")
		return err
	}
	a := connectPG(t, PGTemplate(t, "seeded schema", init))
	b := connectPG(t, PGTemplate(t, "seeded schema", init))
	if _, err := a.Exec(context.Background(), "INSERT INTO seeded VALUES ('only-a')"); err != nil {
		t.Fatal(err)
	}
	rows, err := b.Query(context.Background(), "SELECT name FROM seeded ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"from-init"}, got); diff != "" {
		t.Errorf("clone rows (-want +got):\n%s", diff)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("init ran %d times, want 1", n)
	}
}

func TestTemplateDBName(t *testing.T) {
	got := templateDBName("Tickets Schema/v2 with a very long name indeed", 4242)
	prefix := "sbtpl_tickets_schema_v2_with_a_4242_"
	if !strings.HasPrefix(got, prefix) || len(got) != len(prefix)+6 || len(got) > 63 {
		t.Errorf("templateDBName = %q, want %s + 6 hex", got, prefix)
	}
	if other := templateDBName("Tickets Schema/v2 with a very long name indeed", 4242); other == got {
		t.Errorf("two template names collide: %s", got)
	}
}

func TestPGAdminDSNIsMaintenanceDatabase(t *testing.T) {
	if os.Getenv(envPGDSN) != "" {
		t.Skip(envPGDSN + " is set: the admin DSN is whatever it names")
	}
	if got := currentDatabase(t, connectPG(t, PGAdminDSN(t))); got != "postgres" {
		t.Errorf("admin database = %q, want postgres", got)
	}
}

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:5432/x1?sslmode=disable"},
		{"postgresql://u:p@h/db", "postgresql://u:p@h/x1"},
		{"postgres://u@h:1", "postgres://u@h:1/x1"},
		{"host=h user=u dbname=db", "host=h user=u dbname=db dbname=x1"},
	} {
		if diff := cmp.Diff(tc.want, withDatabase(tc.dsn, "x1")); diff != "" {
			t.Errorf("withDatabase(%q) (-want +got):\n%s", tc.dsn, diff)
		}
	}
}

func TestResolvePGRejectsUnreachableExplicitDSN(t *testing.T) {
	t.Setenv(envPGDSN, "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable")
	_, err := resolvePG(context.Background())
	if err == nil || !strings.Contains(err.Error(), envPGDSN) {
		t.Fatalf("resolvePG = %v, want an error naming %s", err, envPGDSN)
	}
}

// TestResolvePGStartsPrivateServer forces the path taken when no server answers: a private
// PostgreSQL started from the local installation, stopped (and its files removed) by close.
func TestResolvePGStartsPrivateServer(t *testing.T) {
	t.Setenv(envPGDSN, "")
	saved := defaultPGDSN
	defaultPGDSN = "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable"
	t.Cleanup(func() { defaultPGDSN = saved })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := resolvePG(ctx)
	if err != nil {
		unavailable(t, err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = srv.close(context.Background())
		}
	}()
	if srv.private == nil || srv.adminDSN == saved {
		t.Fatalf("resolvePG did not start a private server (admin DSN %s)", srv.adminDSN)
	}
	t.Run("database", func(t *testing.T) {
		conn := connectPG(t, srv.createDB(t, "template0"))
		if _, err := conn.Exec(ctx, "CREATE TABLE x (id int); INSERT INTO x VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		var fsync string
		if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil || fsync != "off" {
			t.Errorf("fsync = %q, %v; want off for a disposable test server", fsync, err)
		}
	})
	closed = true
	if err := srv.close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := probePG(ctx, srv.adminDSN, time.Second); err == nil {
		t.Errorf("private PostgreSQL still answers after close")
	}
}
