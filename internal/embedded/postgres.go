package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// startTimeout bounds how long StartPostgres waits for the server to accept connections
// when ctx carries no deadline (crash recovery of a large cluster can take a while).
const startTimeout = 2 * time.Minute

// PostgresOptions configures StartPostgres.
type PostgresOptions struct {
	// DataDir holds the cluster. It is created and initialised (initdb) when missing or
	// empty, and kept as is otherwise, so data survives restarts.
	DataDir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// Logger receives lifecycle messages; nil discards them.
	Logger *slog.Logger
	// Ephemeral trades crash safety for speed (no fsync, asynchronous commit) for clusters
	// whose data is disposable, such as test servers. Leave it false for real data.
	Ephemeral bool
}

// Postgres is a private PostgreSQL server started by StartPostgres. It listens only on
// 127.0.0.1 (no unix socket) and admits the superuser postgres and the application's
// role (AppRole) with their generated passwords only (see Credentials).
type Postgres struct {
	binDir  string
	dataDir string
	logPath string
	owner   *osUser
	opts    PostgresOptions
	logger  *slog.Logger
	creds   Credentials

	mu   sync.Mutex
	port int
	proc *serverProcess
	// attached: another process runs the server (AttachPostgres); Stop leaves it alone.
	attached bool
	stopping bool  // Stop was called: the supervisor does not restart the server
	gaveUp   error // why the supervisor stopped restarting the server (see Healthy)
}

// StartPostgres initialises opts.DataDir when needed, starts the server and returns once it
// accepts connections. The server log goes to LogPath (next to the data directory) and its
// tail is included in start errors. When the caller is root the cluster belongs to, and the
// server runs as, the OS user postgres. A postmaster.pid left by a crash or a server left
// running by a previous process is dealt with before starting.
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	if opts.DataDir == "" {
		return nil, errors.New("embedded: PostgresOptions.DataDir is required")
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("embedded: data directory: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	binDir, err := binDirFor(dataDir)
	if err != nil {
		return nil, err
	}
	owner, err := serverOwner()
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startTimeout)
		defer cancel()
	}
	creds, err := initCluster(ctx, binDir, dataDir, owner, opts.Ephemeral, opts.Logger)
	if err != nil {
		return nil, err
	}
	p := &Postgres{
		binDir: binDir, dataDir: dataDir, owner: owner, opts: opts, logger: opts.Logger, creds: creds,
		logPath: filepath.Join(filepath.Dir(dataDir), filepath.Base(dataDir)+".log"),
	}
	if err := clearStalePostmaster(ctx, dataDir, opts.Logger); err != nil {
		return nil, err
	}
	if err := p.startWithRetry(ctx); err != nil {
		return nil, err
	}
	if err := p.ensureAuth(ctx); err != nil {
		_ = p.Stop(context.WithoutCancel(ctx))
		return nil, err
	}
	opts.Logger.Info("embedded: PostgreSQL started", "addr", fmt.Sprintf("127.0.0.1:%d", p.Port()),
		"data_dir", dataDir, "log", p.logPath)
	return p, nil
}

// DSN returns the superuser's URL of database on this server, e.g.
// postgres://postgres:PASSWORD@127.0.0.1:PORT/DB?sslmode=disable: for migrations and
// administration, not for the application (AppDSN).
func (p *Postgres) DSN(database string) string { return p.creds.OwnerDSN(p.Port(), database) }

// AppDSN returns the URL of database for the application's role (AppRole), which owns
// nothing; the owner grants it what it needs (tickets.GrantApp).
func (p *Postgres) AppDSN(database string) string { return p.creds.AppDSN(p.Port(), database) }

// Credentials returns the server's generated passwords.
func (p *Postgres) Credentials() Credentials { return p.creds }

// Port returns the TCP port the server listens on.
func (p *Postgres) Port() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.port
}

// LogPath returns the file the server writes its log to.
func (p *Postgres) LogPath() string { return p.logPath }

// Stop shuts the server down with a fast shutdown (open transactions roll back, committed
// data is kept) and waits for it to exit. If ctx ends first the server is stopped
// immediately (it recovers on the next start). Calling Stop again, or after the server
// died, returns nil.
func (p *Postgres) Stop(ctx context.Context) error {
	p.mu.Lock()
	proc := p.proc
	p.stopping = true
	p.mu.Unlock()
	if proc == nil {
		return nil
	}
	if err := proc.stop(ctx); err != nil {
		return err
	}
	p.logger.Info("embedded: PostgreSQL stopped", "data_dir", p.dataDir)
	return nil
}

// AttachPostgres returns a handle on the server that another process (a running
// `switchboard serve`) runs for opts.DataDir on 127.0.0.1:opts.Port. DSN and
// CreateDatabase work as on a started server; Stop and Supervise leave it alone. It
// fails unless the server on that port reports opts.DataDir as its data directory.
func AttachPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("embedded: data directory: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	creds, err := LoadCredentials(dataDir)
	if err != nil {
		return nil, err
	}
	p := &Postgres{dataDir: dataDir, opts: opts, logger: opts.Logger, port: opts.Port, attached: true, creds: creds,
		logPath: filepath.Join(filepath.Dir(dataDir), filepath.Base(dataDir)+".log")}
	if got := servesDir(ctx, p.DSN("postgres")+"&connect_timeout=5"); got != dataDir {
		return nil, fmt.Errorf("embedded: the PostgreSQL of %s does not answer on 127.0.0.1:%d (it may be restarting; try again)", dataDir, opts.Port)
	}
	return p, nil
}

// CreateDatabase creates database name unless it already exists (concurrent callers are fine).
func (p *Postgres) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, p.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("embedded: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		return fmt.Errorf("embedded: look up database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: lost a race
		return nil
	}
	if err != nil {
		return fmt.Errorf("embedded: create database %q: %w", name, err)
	}
	return nil
}
