package embedded

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// requirePostgres skips (or, with CI=true, fails) when no PostgreSQL is installed.
func requirePostgres(t *testing.T) {
	t.Helper()
	if _, err := FindPostgres(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// testWriter sends log lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func startPG(t *testing.T, dir string) *Postgres {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	pg, err := StartPostgres(ctx, PostgresOptions{DataDir: dir, Logger: logger})
	if err != nil {
		t.Fatalf("StartPostgres: %v", err)
	}
	t.Cleanup(func() {
		if err := pg.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return pg
}

func connect(t *testing.T, dsn string) *pgx.Conn {
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

func notes(t *testing.T, dsn string) []string {
	t.Helper()
	conn := connect(t, dsn)
	rows, err := conn.Query(context.Background(), "SELECT body FROM notes ORDER BY id")
	if err != nil {
		t.Fatalf("select: %v", err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	return got
}

func exec1(t *testing.T, dsn, sql string) {
	t.Helper()
	if _, err := connect(t, dsn).Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestFindPostgresLocatesBinaries(t *testing.T) {
	requirePostgres(t)
	dir, err := FindPostgres()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range postgresBinaries {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s missing in %s: %v", name, dir, err)
		}
	}
}

func TestFindPostgresMissingSaysWhatToInstall(t *testing.T) {
	_, err := findPostgres([]string{"", t.TempDir()})
	if !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("err = %v, want ErrNotInstalled", err)
	}
	if !strings.Contains(err.Error(), "apt-get install -y postgresql") {
		t.Errorf("error does not say what to install: %v", err)
	}
}

func TestVersionOrderNewestFirst(t *testing.T) {
	dirs := []string{"/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"}
	got := make([]float64, len(dirs))
	for i, d := range dirs {
		got[i] = versionOf(d)
	}
	if diff := cmp.Diff([]float64{9.6, 16, 15}, got); diff != "" {
		t.Errorf("versionOf (-want +got):\n%s", diff)
	}
}

func TestRestartKeepsData(t *testing.T) {
	requirePostgres(t)
	dir := filepath.Join(t.TempDir(), "pg")
	pg := startPG(t, dir)
	if pg.Port() == 0 {
		t.Fatal("Port() = 0")
	}
	if err := pg.CreateDatabase(context.Background(), "app"); err != nil {
		t.Fatal(err)
	}
	if err := pg.CreateDatabase(context.Background(), "app"); err != nil {
		t.Fatalf("CreateDatabase is not idempotent: %v", err)
	}
	exec1(t, pg.DSN("app"), "CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) VALUES ('kept')")
	if err := pg.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := pg.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	pg2 := startPG(t, dir)
	if diff := cmp.Diff([]string{"kept"}, notes(t, pg2.DSN("app"))); diff != "" {
		t.Errorf("rows after restart (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(pg2.LogPath()); err != nil {
		t.Errorf("server log: %v", err)
	}
}

func TestStartAfterKill9(t *testing.T) {
	requirePostgres(t)
	dir := filepath.Join(t.TempDir(), "pg")
	pg := startPG(t, dir)
	exec1(t, pg.DSN("postgres"), "CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) VALUES ('committed')")
	pid := postmasterPID(t, dir)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	pg2 := startPG(t, dir)
	if diff := cmp.Diff([]string{"committed"}, notes(t, pg2.DSN("postgres"))); diff != "" {
		t.Errorf("rows after kill -9 (-want +got):\n%s", diff)
	}
}

func TestStartStopsServerLeftRunning(t *testing.T) {
	requirePostgres(t)
	dir := filepath.Join(t.TempDir(), "pg")
	abandoned := startPG(t, dir)
	oldPID := postmasterPID(t, dir)
	pg := startPG(t, dir)
	if processAlive(oldPID) {
		t.Errorf("old postmaster %d still running", oldPID)
	}
	if pg.Port() == abandoned.Port() {
		t.Errorf("both servers claim port %d", pg.Port())
	}
	exec1(t, pg.DSN("postgres"), "SELECT 1")
}

func TestStartIgnoresPidFileOfUnrelatedProcess(t *testing.T) {
	requirePostgres(t)
	dir := filepath.Join(t.TempDir(), "pg")
	pg := startPG(t, dir)
	if err := pg.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	pidFile := filepath.Join(dir, "postmaster.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(sleeper.Process.Pid)+"\n"+dir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	exec1(t, startPG(t, dir).DSN("postgres"), "SELECT 1")
}

func TestStartRefusesForeignDirectory(t *testing.T) {
	requirePostgres(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := StartPostgres(context.Background(), PostgresOptions{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "precious.txt")); err != nil {
		t.Errorf("foreign file touched: %v", err)
	}
}

func TestStartOnFixedPortAndEphemeral(t *testing.T) {
	requirePostgres(t)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	pg, err := StartPostgres(context.Background(), PostgresOptions{
		DataDir: filepath.Join(t.TempDir(), "pg"), Port: port, Ephemeral: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop(context.Background())
	want := "postgres://postgres:" + pg.Credentials().Superuser.Password + "@127.0.0.1:" + strconv.Itoa(port) + "/app?sslmode=disable"
	if got := pg.DSN("app"); got != want {
		t.Errorf("DSN = %q, want %q", got, want)
	}
	var fsync string
	if err := connect(t, pg.DSN("postgres")).QueryRow(context.Background(), "SHOW fsync").Scan(&fsync); err != nil {
		t.Fatal(err)
	}
	if fsync != "off" {
		t.Errorf("fsync = %q in an ephemeral cluster, want off", fsync)
	}
}

func TestFindRedisServer(t *testing.T) {
	p, err := FindRedisServer()
	if errors.Is(err, ErrNotInstalled) {
		if !strings.Contains(err.Error(), "apt-get install -y redis-server") {
			t.Errorf("error does not say what to install: %v", err)
		}
		t.Skip(err)
	}
	if err != nil || filepath.Base(p) != "redis-server" {
		t.Fatalf("FindRedisServer = %q, %v", p, err)
	}
}

func TestStartMiniredis(t *testing.T) {
	mr, err := StartMiniredis()
	if err != nil {
		t.Fatal(err)
	}
	defer mr.Close()
	if err := mr.Set("k", "v"); err != nil {
		t.Fatal(err)
	}
	if got, _ := mr.Get("k"); got != "v" {
		t.Errorf("Get = %q", got)
	}
}

func postmasterPID(t *testing.T, dir string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
