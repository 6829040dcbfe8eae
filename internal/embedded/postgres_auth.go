package embedded

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// AppRole is the login role the application uses on the embedded PostgreSQL: it owns
// nothing, so it cannot alter, disable the triggers of, or truncate the tables the
// superuser (the migrations' role) owns.
const AppRole = "switchboard_app"

// Login is a role and its password.
type Login struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// Credentials are the generated passwords of the embedded PostgreSQL: the superuser
// (which runs migrations and owns the tables) and the application's role. They are kept
// in CredentialsFile (mode 0600), and the server accepts TCP connections only with them
// (scram-sha-256; no trust).
type Credentials struct {
	Superuser Login `json:"superuser"`
	App       Login `json:"app"`
}

// OwnerDSN is the superuser's URL of database on 127.0.0.1:port.
func (c Credentials) OwnerDSN(port int, database string) string {
	return dsnFor(c.Superuser, port, database)
}

// AppDSN is the application role's URL of database on 127.0.0.1:port.
func (c Credentials) AppDSN(port int, database string) string { return dsnFor(c.App, port, database) }

func dsnFor(l Login, port int, database string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(l.User, l.Password),
		Host: fmt.Sprintf("127.0.0.1:%d", port), Path: "/" + database, RawQuery: "sslmode=disable"}
	return u.String()
}

// CredentialsFile is where the credentials of the cluster in dataDir are kept: next to
// it, as <dataDir>.credentials.json (outside the cluster, which the postgres OS user owns).
func CredentialsFile(dataDir string) string {
	return filepath.Join(filepath.Dir(dataDir), filepath.Base(dataDir)+".credentials.json")
}

// LoadCredentials reads the credentials of the embedded cluster in dataDir (for a
// command that connects to the PostgreSQL a running server started).
func LoadCredentials(dataDir string) (Credentials, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return Credentials{}, err
	}
	data, err := os.ReadFile(CredentialsFile(abs))
	if err != nil {
		return Credentials{}, fmt.Errorf("embedded: PostgreSQL credentials: %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(data, &c); err != nil || c.Superuser.Password == "" || c.App.Password == "" {
		return Credentials{}, fmt.Errorf("embedded: %s is not a credentials file (%v)", CredentialsFile(abs), err)
	}
	return c, nil
}

// loadOrCreateCredentials reads the credentials of dataDir, or generates and saves new
// ones; fresh reports the latter.
func loadOrCreateCredentials(dataDir string) (c Credentials, fresh bool, err error) {
	c, err = LoadCredentials(dataDir)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return c, false, err
	}
	c = Credentials{Superuser: Login{User: "postgres", Password: randomPassword()}, App: Login{User: AppRole, Password: randomPassword()}}
	data, _ := json.MarshalIndent(c, "", "  ")
	if err := writePrivate(CredentialsFile(dataDir), append(data, '\n'), nil); err != nil {
		return Credentials{}, false, fmt.Errorf("embedded: save PostgreSQL credentials: %w", err)
	}
	return c, true, nil
}

func randomPassword() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails (crypto/rand panics on an unusable source)
	return hex.EncodeToString(b)
}

// writePrivate writes data to path (mode 0600, parent 0700 when created) through a
// temporary file and a rename, fsynced, owned by u when u is set.
func writePrivate(path string, data []byte, u *osUser) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		_, err = tmp.Write(data)
		if err == nil {
			err = tmp.Sync()
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && u != nil {
		err = os.Chown(tmp.Name(), int(u.uid), int(u.gid))
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// hbaConf admits password (SCRAM) logins on 127.0.0.1 only; the unix socket is off.
const hbaConf = `# Written by switchboard: TCP on 127.0.0.1 with passwords (scram-sha-256) only, never trust.
# The passwords are in the credentials file next to this cluster.
host all all 127.0.0.1/32 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
`

// trustConf is used for one start only, when the credentials are new but the cluster is
// not (a cluster from before passwords, or a lost credentials file): ensureAuth sets the
// passwords and puts hbaConf back before anything else connects.
const trustConf = `# Written by switchboard for one start while it sets the passwords; replaced at once.
host all all 127.0.0.1/32 trust
`

// writeHBA replaces pg_hba.conf in dataDir with content unless it already holds it, and
// reports whether it changed.
func writeHBA(dataDir, content string, owner *osUser) (bool, error) {
	path := filepath.Join(dataDir, "pg_hba.conf")
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, []byte(content)) {
		return false, nil
	}
	if err := writePrivate(path, []byte(content), owner); err != nil {
		return false, fmt.Errorf("embedded: write pg_hba.conf: %w", err)
	}
	return true, nil
}

// ensureAuth gives the superuser and the application's role their passwords (creating
// the role, which may log in and owns nothing), then admits only password logins. A
// standby (read-only, in recovery) is left as it is: it has its primary's roles.
func (p *Postgres) ensureAuth(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.creds.OwnerDSN(p.Port(), "postgres"))
	if err != nil {
		return fmt.Errorf("embedded: connect as the superuser (is %s the credentials file of this cluster?): %w",
			CredentialsFile(p.dataDir), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var standby bool
	if err := conn.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&standby); err != nil {
		return fmt.Errorf("embedded: is the server a standby: %w", err)
	}
	if standby { // a copy of a primary (pg_basebackup): its roles, passwords and pg_hba.conf are the primary's
		return nil
	}
	stmts := []string{
		`SET password_encryption = 'scram-sha-256'`,
		`ALTER ROLE postgres WITH PASSWORD ` + quoteLiteral(p.creds.Superuser.Password),
		`DO $$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ` + quoteLiteral(AppRole) + `) THEN
				CREATE ROLE ` + pgx.Identifier{AppRole}.Sanitize() + ` LOGIN;
			END IF;
		END $$`,
		`ALTER ROLE ` + pgx.Identifier{AppRole}.Sanitize() + ` WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
			PASSWORD ` + quoteLiteral(p.creds.App.Password),
	}
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("embedded: set up roles: %w", err)
		}
	}
	changed, err := writeHBA(p.dataDir, hbaConf, p.owner)
	if err != nil || !changed {
		return err
	}
	if _, err := conn.Exec(ctx, `SELECT pg_reload_conf()`); err != nil {
		return fmt.Errorf("embedded: reload pg_hba.conf: %w", err)
	}
	p.logger.Info("embedded: PostgreSQL now admits only password logins", "credentials", CredentialsFile(p.dataDir))
	return nil
}

// quoteLiteral quotes s as an SQL string literal (passwords here are hex).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
