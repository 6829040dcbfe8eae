package embedded

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// refused reports whether dsn is refused a connection.
func refused(dsn string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		conn.Close(ctx)
	}
	return err != nil
}

// assertPasswordsOnly checks that pg admits its generated passwords and nothing else.
func assertPasswordsOnly(t *testing.T, pg *Postgres, dir string) {
	t.Helper()
	noPassword := "postgres://postgres@127.0.0.1:" + strconv.Itoa(pg.Port()) + "/postgres?sslmode=disable"
	wrong := "postgres://postgres:wrong@127.0.0.1:" + strconv.Itoa(pg.Port()) + "/postgres?sslmode=disable"
	// pg_reload_conf signals the postmaster; give it a moment to read the new pg_hba.conf.
	deadline := time.Now().Add(5 * time.Second)
	for !refused(noPassword) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !refused(noPassword) || !refused(wrong) {
		t.Fatal("the superuser got in without its password")
	}
	exec1(t, pg.DSN("postgres"), "SELECT 1")
	var super bool
	if err := connect(t, pg.AppDSN("postgres")).QueryRow(context.Background(),
		"SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
		t.Fatal(err)
	}
	if super {
		t.Error("the application's role may create roles or databases, or is a superuser")
	}
	st, err := os.Stat(CredentialsFile(dir))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	hba, _ := os.ReadFile(filepath.Join(dir, "pg_hba.conf"))
	for _, line := range strings.Split(string(hba), "\n") {
		if !strings.HasPrefix(line, "#") && strings.Contains(line, "trust") {
			t.Errorf("pg_hba.conf still trusts: %s", line)
		}
	}
	creds, err := LoadCredentials(dir)
	if err != nil || creds != pg.Credentials() {
		t.Errorf("LoadCredentials = %+v, %v", creds, err)
	}
}

// TestEmbeddedPostgresAdmitsOnlyPasswords: a new cluster has generated passwords for the
// superuser and the application's role, kept 0600, and no trust on TCP.
func TestEmbeddedPostgresAdmitsOnlyPasswords(t *testing.T) {
	requirePostgres(t)
	dir := filepath.Join(t.TempDir(), "pg")
	pg := startPG(t, dir)
	assertPasswordsOnly(t, pg, dir)
	// A restart keeps the passwords.
	if err := pg.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertPasswordsOnly(t, startPG(t, dir), dir)
}

// TestTrustClusterGetsPasswords: a cluster made before passwords (trust on 127.0.0.1, no
// credentials file) gets them on its next start, and trust goes away.
func TestTrustClusterGetsPasswords(t *testing.T) {
	requirePostgres(t)
	dir := filepath.Join(t.TempDir(), "pg")
	pg := startPG(t, dir)
	if err := pg.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	old := pg.Credentials()
	if err := os.Remove(CredentialsFile(dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pg_hba.conf"), []byte("local all all trust\nhost all all 127.0.0.1/32 trust\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := pg.owner.chownTree(dir); err != nil {
		t.Fatal(err)
	}
	pg2 := startPG(t, dir)
	if pg2.Credentials() == old {
		t.Fatal("the credentials were not renewed")
	}
	assertPasswordsOnly(t, pg2, dir)
}
