package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchboard-cs/switchboard/models"
)

// modelsChangedChannel is the PostgreSQL NOTIFY channel that tells servers sharing a
// model repository (models.dir) that a version was pushed or a model's routing changed:
// they refresh at once instead of at their next models.watch_interval poll. The payload
// is the model's name.
const modelsChangedChannel = "models_changed"

// notifyExecer sends a NOTIFY (a pool or a connection).
type notifyExecer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// notifyingModels is the model registry as the ML-engineer routes change it: each change
// that succeeded is announced on models_changed. A failed announcement is logged; the
// other servers then apply the change at their next poll.
type notifyingModels struct {
	*models.Registry
	db  notifyExecer // nil: no announcements
	log *slog.Logger
}

func (n notifyingModels) announce(ctx context.Context, name string, err error) error {
	if err != nil || n.db == nil {
		return err
	}
	if _, nerr := n.db.Exec(ctx, "SELECT pg_notify($1, $2)", modelsChangedChannel, name); nerr != nil {
		n.log.WarnContext(ctx, "could not tell the other servers of a model change; they apply it at their next poll", "model", name, "err", nerr)
	}
	return nil
}

// Push adds a version; under the latest policy every server (this one too: it listens)
// serves it once it has loaded and validated it.
func (n notifyingModels) Push(ctx context.Context, name, modelPath, manifestPath string, audit models.PushAudit) (models.Pushed, error) {
	p, err := n.Registry.Push(ctx, name, modelPath, manifestPath, audit)
	return p, n.announce(ctx, name, err)
}

func (n notifyingModels) Activate(ctx context.Context, name, version string) error {
	return n.announce(ctx, name, n.Registry.Activate(ctx, name, version))
}

func (n notifyingModels) Canary(ctx context.Context, name, version string, percent int) error {
	return n.announce(ctx, name, n.Registry.Canary(ctx, name, version, percent))
}

func (n notifyingModels) Shadow(ctx context.Context, name, version string) error {
	return n.announce(ctx, name, n.Registry.Shadow(ctx, name, version))
}

func (n notifyingModels) Rollback(ctx context.Context, name string) error {
	return n.announce(ctx, name, n.Registry.Rollback(ctx, name))
}

func (n notifyingModels) Latest(ctx context.Context, name string) error {
	return n.announce(ctx, name, n.Registry.Latest(ctx, name))
}

// notifyModelsChanged tells the servers listening on dsn's database that model name
// changed (the CLI's `models push`, `activate` …); nothing without a dsn. A failure is
// reported on msg: the servers apply the change at their next poll.
func notifyModelsChanged(ctx context.Context, dsn, name string, msg io.Writer) {
	if dsn == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		_, err = conn.Exec(ctx, "SELECT pg_notify($1, $2)", modelsChangedChannel, name)
		conn.Close(context.WithoutCancel(ctx))
	}
	if err != nil {
		fmt.Fprintf(msg, "could not notify servers through PostgreSQL (%v); they apply the change to %s within models.watch_interval\n", err, name)
	}
}
