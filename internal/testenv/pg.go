package testenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-cs/switchboard/internal/embedded"
)

const envPGDSN = "SWITCHBOARD_TEST_PG_DSN"

// defaultPGDSN is the local server tried when SWITCHBOARD_TEST_PG_DSN is unset (a variable
// so tests can force the private-server path).
var defaultPGDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

const (
	// probeTimeout bounds the check of a local default service.
	probeTimeout = time.Second
	// explicitProbeTimeout bounds the check of a service named by an environment variable.
	explicitProbeTimeout = 5 * time.Second
	// setupTimeout bounds starting a private server or building a template.
	setupTimeout = 5 * time.Minute
)

// pgServer is the PostgreSQL server the tests of this process use.
type pgServer struct {
	adminDSN string
	admin    *pgxpool.Pool
	private  func(context.Context) error // stops a private server; nil for an external one

	mu        sync.Mutex
	templates map[string]*pgTemplate // by caller's name
}

// pgTemplate is a template database built once per process.
type pgTemplate struct {
	once sync.Once
	db   string
	err  error
}

var sharedPGServer struct {
	once sync.Once
	srv  *pgServer
	err  error
}

// PG returns the DSN of a fresh, empty database (unique name) on the shared test server;
// the database is dropped when the test ends.
func PG(t testing.TB) string {
	t.Helper()
	return pgServerFor(t).createDB(t, "template0")
}

// PGTemplate returns the DSN of a fresh database cloned from a template database that init
// builds once per process under name (for example by running migrations), which is much
// faster than running init for every test. init receives the template's DSN and must close
// its connections before returning. The template is dropped when Main ends; the clone when
// the test ends.
func PGTemplate(t testing.TB, name string, init func(ctx context.Context, dsn string) error) string {
	t.Helper()
	srv := pgServerFor(t)
	tpl := srv.template(name)
	tpl.once.Do(func() { tpl.db, tpl.err = srv.buildTemplate(name, init) })
	if tpl.err != nil {
		t.Fatalf("testenv: build template database %q: %v", name, tpl.err)
	}
	return srv.createDB(t, tpl.db)
}

// Pool opens a pgx pool on dsn, closed when the test ends.
func Pool(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatalf("testenv: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// PGAdminDSN returns the DSN of the shared server's maintenance database (postgres), or the
// SWITCHBOARD_TEST_PG_DSN as given when that is set.
func PGAdminDSN(t testing.TB) string {
	t.Helper()
	return pgServerFor(t).adminDSN
}

// pgServerFor resolves the shared server once per process; the test skips (fails in CI)
// when none is available.
func pgServerFor(t testing.TB) *pgServer {
	t.Helper()
	sharedPGServer.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		sharedPGServer.srv, sharedPGServer.err = resolvePG(ctx)
		if sharedPGServer.err == nil {
			onMainExit(sharedPGServer.srv.close)
		}
	})
	if err := sharedPGServer.err; err != nil {
		unavailable(t, err)
	}
	return sharedPGServer.srv
}

// unavailable skips or fails for a service whose binaries are missing, and fails for
// any other reason (a broken server is never a skip).
func unavailable(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, embedded.ErrNotInstalled) {
		missing(t, err.Error())
		return
	}
	t.Fatalf("testenv: %v", err)
}

// resolvePG finds the server: SWITCHBOARD_TEST_PG_DSN, else the local default, else a
// private server started from the local binaries.
func resolvePG(ctx context.Context) (*pgServer, error) {
	if dsn := os.Getenv(envPGDSN); dsn != "" {
		if err := probePG(ctx, dsn, explicitProbeTimeout); err != nil {
			return nil, fmt.Errorf("%s is set but PostgreSQL there is not usable: %w", envPGDSN, err)
		}
		return newPGServer(ctx, dsn, nil)
	}
	if probePG(ctx, defaultPGDSN, probeTimeout) == nil {
		return newPGServer(ctx, defaultPGDSN, nil)
	}
	pg, stop, err := startPrivatePG(ctx)
	if err != nil {
		return nil, fmt.Errorf("no PostgreSQL answers at 127.0.0.1:5432 (set %s to use another) "+
			"and no private one could be started: %w", envPGDSN, err)
	}
	fmt.Fprintf(os.Stderr, "testenv: started private PostgreSQL on 127.0.0.1:%d\n", pg.Port())
	srv, err := newPGServer(ctx, pg.DSN("postgres"), stop)
	if err != nil {
		return nil, errors.Join(err, stop(ctx))
	}
	return srv, nil
}

// probePG reports whether dsn accepts a connection and a query within timeout.
func probePG(ctx context.Context, dsn string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx)
}

// startPrivatePG starts a disposable PostgreSQL in a new temporary directory; stop shuts it
// down and removes the directory.
func startPrivatePG(ctx context.Context) (*embedded.Postgres, func(context.Context) error, error) {
	dir, err := os.MkdirTemp("", "switchboard-testpg-")
	if err != nil {
		return nil, nil, err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	pg, err := embedded.StartPostgres(ctx, embedded.PostgresOptions{
		DataDir: filepath.Join(dir, "data"), Logger: logger, Ephemeral: true,
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	stop := func(ctx context.Context) error {
		err := pg.Stop(ctx)
		return errors.Join(err, os.RemoveAll(dir))
	}
	return pg, stop, nil
}

// newPGServer opens the admin pool; stopPrivate (may be nil) is called by close.
func newPGServer(ctx context.Context, adminDSN string, stopPrivate func(context.Context) error) (*pgServer, error) {
	cfg, err := pgxpool.ParseConfig(adminDSN)
	if err != nil {
		return nil, fmt.Errorf("parse PostgreSQL DSN: %w", err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	return &pgServer{adminDSN: adminDSN, admin: pool, private: stopPrivate, templates: map[string]*pgTemplate{}}, nil
}

// close drops the template databases this process built, closes the admin pool and stops
// the private server, if any.
func (s *pgServer) close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, tpl := range s.templates {
		if tpl.db != "" {
			errs = append(errs, s.dropDB(ctx, tpl.db))
		}
	}
	s.admin.Close()
	if s.private != nil {
		errs = append(errs, s.private(ctx))
	}
	return errors.Join(errs...)
}

// createDB creates a uniquely named database from template, dropped at the test's end.
func (s *pgServer) createDB(t testing.TB, template string) string {
	t.Helper()
	name := fmt.Sprintf("sbt_%d_%s", os.Getpid(), randHex(6))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	if _, err := s.admin.Exec(ctx, sql); err != nil {
		t.Fatalf("testenv: create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.dropDB(ctx, name); err != nil {
			t.Errorf("testenv: drop test database: %v", err)
		}
	})
	return withDatabase(s.adminDSN, name)
}

// dropDB drops db, ending any sessions a test left open (PostgreSQL 13 or newer).
func (s *pgServer) dropDB(ctx context.Context, db string) error {
	_, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)")
	if err != nil {
		return fmt.Errorf("drop database %s: %w", db, err)
	}
	return nil
}

// template returns the (possibly not yet built) template registered under name.
func (s *pgServer) template(name string) *pgTemplate {
	s.mu.Lock()
	defer s.mu.Unlock()
	tpl, ok := s.templates[name]
	if !ok {
		tpl = &pgTemplate{}
		s.templates[name] = tpl
	}
	return tpl
}

// buildTemplate creates the template database, runs init on it and ends the sessions init
// may have left, since a database with open sessions cannot be cloned.
func (s *pgServer) buildTemplate(name string, init func(context.Context, string) error) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	db := templateDBName(name, os.Getpid())
	if _, err := s.admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()+" TEMPLATE template0"); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	if err := init(ctx, withDatabase(s.adminDSN, db)); err != nil {
		return "", errors.Join(fmt.Errorf("init: %w", err), s.dropDB(context.WithoutCancel(ctx), db))
	}
	_, err := s.admin.Exec(ctx,
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", db)
	if err != nil {
		return "", errors.Join(fmt.Errorf("end sessions of template: %w", err), s.dropDB(context.WithoutCancel(ctx), db))
	}
	return db, nil
}

// templateDBName makes a database name unique per process and name, readable in psql:
// sbtpl_<name>_<pid>_<random>.
func templateDBName(name string, pid int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if b.Len() >= 24 {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return fmt.Sprintf("sbtpl_%s_%d_%s", b.String(), pid, randHex(3))
}

// withDatabase returns dsn pointed at database db; dsn is a postgres:// URL or a
// keyword/value string.
func withDatabase(dsn, db string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			u.Path, u.RawPath = "/"+db, ""
			return u.String()
		}
	}
	return dsn + " dbname=" + db
}
