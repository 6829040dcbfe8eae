package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/internal/embedded"
)

// dataUse says who opens the data directory. serve holds it for its lifetime and a
// second serve is refused. A CLI command uses the PostgreSQL of a running serve when
// there is one (never starting or stopping it); otherwise it holds the directory, and
// its own embedded PostgreSQL, until it is done, so a serve starting meanwhile waits.
type dataUse struct {
	serve   bool
	command string // for the record and messages, e.g. "users set"
}

var asServer = dataUse{serve: true, command: "serve"}

// startWait bounds how long a process waits for another to finish with the data
// directory, or for a starting serve to bring its PostgreSQL up.
const startWait = 2 * time.Minute

// useDataDir claims the data directory or finds the running serve to attach to (a.attach).
func (a *app) useDataDir(ctx context.Context, use dataUse) error {
	if !use.serve && a.cfg.Postgres.DSN != "" {
		return nil // an external database: nothing here to share or to protect
	}
	ctx, cancel := context.WithTimeout(ctx, startWait)
	defer cancel()
	for {
		if !use.serve {
			in, live, err := runningServe(ctx, a.cfg.DataDir)
			if err != nil || live {
				a.attach = in
				return err
			}
		}
		c, err := embedded.ClaimDataDir(ctx, a.cfg.DataDir, embedded.Instance{PID: os.Getpid(), Command: use.command,
			Started: time.Now().UTC().Truncate(time.Second)}, a.waitFor(use))
		if !use.serve && errors.Is(err, embedded.ErrInUse) {
			continue // a serve started meanwhile: use its PostgreSQL
		}
		if errors.Is(err, embedded.ErrInUse) {
			return fmt.Errorf("%w; stop it first, or give this server its own data_dir", err)
		}
		a.claim = c
		return err
	}
}

// waitFor decides whether to wait for the holder of the data directory: everyone waits
// for a CLI command to finish; nobody waits for a serve (a second serve is refused, a
// command attaches to it instead).
func (a *app) waitFor(use dataUse) func(embedded.Instance) bool {
	var once sync.Once
	return func(holder embedded.Instance) bool {
		if holder.Serving() {
			return false
		}
		once.Do(func() {
			a.log.Info("waiting for another command to finish with the data directory", "holder", holder.String(), "dir", a.cfg.DataDir)
		})
		return true
	}
}

// runningServe returns the live serve holding dir, once its PostgreSQL is up.
func runningServe(ctx context.Context, dir string) (embedded.Instance, bool, error) {
	for {
		in, live, err := embedded.LiveInstance(dir)
		switch {
		case err != nil || !live || !in.Serving():
			return embedded.Instance{}, false, err
		case in.PostgresAddr != "":
			return in, true, nil
		case in.HTTPAddr != "":
			return in, true, fmt.Errorf("%s uses an external PostgreSQL (postgres.dsn); run this command with the same configuration", in)
		}
		select { // the serve is still starting its PostgreSQL
		case <-ctx.Done():
			return in, true, fmt.Errorf("%s did not bring its PostgreSQL up: %w", in, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// embeddedPostgres starts the embedded PostgreSQL (serve supervises it), or attaches to
// the running serve's.
func (a *app) embeddedPostgres(ctx context.Context) (*embedded.Postgres, error) {
	dir := a.cfg.PGEmbeddedDir()
	if a.attach.PostgresAddr != "" {
		_, port, _ := net.SplitHostPort(a.attach.PostgresAddr)
		p, _ := strconv.Atoi(port)
		a.log.Info("a switchboard serve is running on this data directory; using its PostgreSQL", "serve", a.attach.String(), "postgres", a.attach.PostgresAddr)
		pg, err := embedded.AttachPostgres(ctx, embedded.PostgresOptions{DataDir: dir, Port: p, Logger: a.log})
		if err != nil {
			return nil, fmt.Errorf("%w (running: %s, PostgreSQL data in %s)", err, a.attach, a.attach.PostgresDir)
		}
		return pg, nil
	}
	a.log.Info("no postgres.dsn configured; starting the embedded PostgreSQL", "dir", dir)
	pg, err := embedded.StartPostgres(ctx, embedded.PostgresOptions{DataDir: dir, Logger: a.log})
	if err != nil {
		return nil, err
	}
	if a.claim != nil {
		abs, _ := filepath.Abs(dir)
		if err := a.claim.Update(func(in *embedded.Instance) {
			in.PostgresAddr, in.PostgresDir = fmt.Sprintf("127.0.0.1:%d", pg.Port()), abs
		}); err != nil {
			a.log.Warn("record the embedded PostgreSQL's address", "err", err)
		}
	}
	if a.use.serve {
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { defer close(done); pg.Supervise(sctx) }()
		a.stopSupervisor = func() { cancel(); <-done }
	}
	return pg, nil
}

// recordListening notes serve's HTTP addresses in the data directory's record.
func (a *app) recordListening(addr, adminAddr string) {
	if a.claim == nil {
		return
	}
	if err := a.claim.Update(func(in *embedded.Instance) { in.HTTPAddr, in.AdminAddr = addr, adminAddr }); err != nil {
		a.log.Warn("record the listening address", "err", err)
	}
}

// liveChecks are serve's liveness checks: the embedded PostgreSQL's supervisor.
func (a *app) liveChecks() []gateway.Checker {
	if a.pg == nil || !a.use.serve {
		return nil
	}
	return []gateway.Checker{{Name: "postgres", Check: a.pg.Healthy}}
}
