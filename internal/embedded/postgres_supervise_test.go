package embedded

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSuperviseRestartsAfterKill9: a supervised server killed with SIGKILL comes back on
// the same port with its data, and stays healthy.
func TestSuperviseRestartsAfterKill9(t *testing.T) {
	requirePostgres(t)
	dir := filepath.Join(t.TempDir(), "pg")
	pg := startPG(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); pg.Supervise(ctx) }()
	defer func() { cancel(); <-done }()
	exec1(t, pg.DSN("postgres"), "CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) VALUES ('kept')")
	port, old := pg.Port(), postmasterPID(t, dir)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for servesDir(context.Background(), pg.DSN("postgres")) != pg.dataDir || postmasterPIDOrZero(dir) == old {
		if time.Now().After(deadline) {
			t.Fatal("the server did not come back within 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pg.Port() != port {
		t.Errorf("port %d after the restart, want %d", pg.Port(), port)
	}
	if diff := cmp.Diff([]string{"kept"}, notes(t, pg.DSN("postgres"))); diff != "" {
		t.Errorf("rows after the restart (-want +got):\n%s", diff)
	}
	if err := pg.Healthy(ctx); err != nil {
		t.Errorf("Healthy after a successful restart: %v", err)
	}
}

// TestSuperviseGivesUp: when the server cannot be started again, the supervisor gives up
// after its attempts and Healthy says so (the liveness probe then fails).
func TestSuperviseGivesUp(t *testing.T) {
	requirePostgres(t)
	attempts, backoff := restartAttempts, restartBackoff
	restartAttempts, restartBackoff = 2, 10*time.Millisecond
	defer func() { restartAttempts, restartBackoff = attempts, backoff }()
	dir := filepath.Join(t.TempDir(), "pg")
	pg := startPG(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); pg.Supervise(ctx) }()
	defer func() { cancel(); <-done }()
	// A running server does not mind; a starting one refuses a directory without it.
	if err := os.Rename(filepath.Join(dir, "PG_VERSION"), filepath.Join(dir, "PG_VERSION.away")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(postmasterPID(t, dir), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the supervisor did not give up")
	}
	if err := pg.Healthy(ctx); err == nil || !strings.Contains(err.Error(), "could not be restarted") {
		t.Fatalf("Healthy = %v, want an error", err)
	}
}

// TestStopEndsSupervision: Stop is not a crash; the supervisor returns without a restart.
func TestStopEndsSupervision(t *testing.T) {
	requirePostgres(t)
	dir := filepath.Join(t.TempDir(), "pg")
	pg := startPG(t, dir)
	done := make(chan struct{})
	go func() { defer close(done); pg.Supervise(context.Background()) }()
	if err := pg.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Supervise still running after Stop")
	}
	if pid := postmasterPIDOrZero(dir); pid != 0 && processAlive(pid) {
		t.Errorf("a server (pid %d) runs after Stop", pid)
	}
}

// TestAttachPostgres: a second handle on a running server reaches it without owning it:
// its Stop leaves the server running; a wrong port or directory is refused.
func TestAttachPostgres(t *testing.T) {
	requirePostgres(t)
	dir := filepath.Join(t.TempDir(), "pg")
	pg := startPG(t, dir)
	ctx := context.Background()
	att, err := AttachPostgres(ctx, PostgresOptions{DataDir: dir, Port: pg.Port()})
	if err != nil {
		t.Fatal(err)
	}
	if err := att.CreateDatabase(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	att.Supervise(ctx) // returns at once: not ours to restart
	if err := att.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	exec1(t, pg.DSN("app"), "SELECT 1")
	if _, err := AttachPostgres(ctx, PostgresOptions{DataDir: t.TempDir(), Port: pg.Port()}); err == nil {
		t.Error("attached to a server of another data directory")
	}
}

func postmasterPIDOrZero(dir string) int {
	raw, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	var pid int
	for _, r := range strings.TrimSpace(first) {
		pid = pid*10 + int(r-'0')
	}
	return pid
}
