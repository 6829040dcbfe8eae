package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/alicebob/miniredis/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/embedded"
	"github.com/switchboard-cs/switchboard/internal/fieldcrypt"
	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/tickets"
)

// app holds every long-lived dependency; all wiring happens here.
type app struct {
	cfg      config.Config
	log      *slog.Logger
	registry *prometheus.Registry
	pg       *embedded.Postgres
	mini     *miniredis.Miniredis
	primary  *pgxpool.Pool
	replica  *pgxpool.Pool
	rdb      redis.UniversalClient
	store    *tickets.Store
	router   *tickets.RedisRouter
	svc      *tickets.Service
	metrics  *tickets.Metrics
}

// openData starts (embedded) or connects to PostgreSQL and Redis and runs
// migrations.
func openData(ctx context.Context, cfg config.Config, log *slog.Logger) (*app, error) {
	a := &app{cfg: cfg, log: log, registry: prometheus.NewRegistry()}
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := a.openPostgres(ctx); err != nil {
		a.close(ctx)
		return nil, err
	}
	if err := a.openRedis(ctx); err != nil {
		a.close(ctx)
		return nil, err
	}
	return a, nil
}

func (a *app) openPostgres(ctx context.Context) error {
	dsn := a.cfg.Postgres.DSN
	if dsn == "" {
		a.log.Info("no postgres.dsn configured; starting the embedded PostgreSQL", "dir", a.cfg.PGEmbeddedDir())
		pg, err := embedded.StartPostgres(ctx, embedded.PostgresOptions{DataDir: a.cfg.PGEmbeddedDir(), Logger: a.log})
		if err != nil {
			return fmt.Errorf("embedded postgres: %w", err)
		}
		a.pg = pg
		if err := pg.CreateDatabase(ctx, "switchboard"); err != nil {
			return err
		}
		dsn = pg.DSN("switchboard")
	}
	var err error
	if a.primary, err = newPool(ctx, dsn, a.cfg.Postgres.MaxConns); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if a.cfg.Postgres.ReplicaDSN != "" {
		if a.replica, err = newPool(ctx, a.cfg.Postgres.ReplicaDSN, a.cfg.Postgres.MaxConns); err != nil {
			return fmt.Errorf("postgres replica: %w", err)
		}
	}
	v, err := tickets.Migrate(ctx, a.primary)
	if err != nil {
		return err
	}
	a.log.Info("database schema ready", "version", v)
	return nil
}

func newPool(ctx context.Context, dsn string, maxConns int32) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	pc.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

func (a *app) openRedis(ctx context.Context) error {
	if a.rdb = newRedisClient(a.cfg.Redis); a.rdb == nil {
		mini, err := miniredis.Run()
		if err != nil {
			return fmt.Errorf("in-process redis: %w", err)
		}
		a.mini = mini
		a.log.Info("no redis.addr configured; using in-process miniredis (routing state is rebuilt from PostgreSQL on start)")
		a.rdb = redis.NewClient(&redis.Options{Addr: mini.Addr()})
	}
	if err := a.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// newRedisClient returns a client for the configured Redis or Cluster, or
// nil when neither is configured (the in-process default).
func newRedisClient(rc config.RedisConfig) redis.UniversalClient {
	switch {
	case len(rc.ClusterAddrs) > 0:
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.ClusterAddrs, Password: rc.Password})
	case rc.Addr != "":
		return redis.NewClient(&redis.Options{Addr: rc.Addr, Password: rc.Password, DB: rc.DB})
	}
	return nil
}

// openTickets builds the ticket core on top of the data layer.
func (a *app) openTickets(ctx context.Context) error {
	ring, err := fieldcrypt.LoadOrCreate(a.cfg.KeyRingPath())
	if err != nil {
		return fmt.Errorf("key ring: %w", err)
	}
	a.store = tickets.NewStore(a.primary, a.replica, ring)
	a.metrics = tickets.NewMetrics(a.registry)
	w := a.cfg.Routing.Weights
	a.svc = tickets.NewService(tickets.ServiceOptions{Store: a.store,
		Cache:    tickets.NewTicketCache(a.rdb, a.cfg.Redis.KeyPrefix, a.cfg.Cache.TicketTTL),
		Redactor: piiRedactor{pii.NewRedactor()}, Metrics: a.metrics, Log: a.log})
	a.router = tickets.NewRedisRouter(a.rdb, tickets.RouterOptions{Prefix: a.cfg.Redis.KeyPrefix,
		Weights:  tickets.Weights{VIP: w.VIP, Skill: w.Skill, Load: w.Load, Wait: w.Wait},
		VIPBoost: a.cfg.Routing.VIPBoost, AgingHorizon: a.cfg.Routing.AgingHorizon,
		Snapshot: a.svc.Snapshot, Logger: a.log})
	a.svc.Router = a.router
	if err := a.svc.LoadWeights(ctx); err != nil {
		return err
	}
	// PostgreSQL is the source of truth: routing state is built from it when
	// Redis has none; state that other instances maintain is kept.
	return a.router.EnsureState(ctx)
}

func (a *app) close(ctx context.Context) {
	if a.rdb != nil {
		a.rdb.Close()
	}
	if a.mini != nil {
		a.mini.Close()
	}
	if a.replica != nil {
		a.replica.Close()
	}
	if a.primary != nil {
		a.primary.Close()
	}
	if a.pg != nil {
		if err := a.pg.Stop(context.WithoutCancel(ctx)); err != nil {
			a.log.Error("stop embedded postgres", "err", err)
		}
	}
}

// piiRedactor adapts nlp/pii to the ticket core's Redactor.
type piiRedactor struct{ r *pii.Redactor }

func (p piiRedactor) RedactText(ctx context.Context, text string) (string, error) {
	res, err := p.r.Redact(ctx, text)
	return res.Text, err
}

// jwtSecret returns the configured secret or one generated once and kept
// under the data directory.
func jwtSecret(cfg config.Config) ([]byte, error) {
	if cfg.Auth.JWTSecret != "" {
		return []byte(cfg.Auth.JWTSecret), nil
	}
	path := filepath.Join(cfg.DataDir, "jwt-secret")
	if b, err := os.ReadFile(path); err == nil {
		return base64.RawStdEncoding.DecodeString(strings.TrimSpace(string(b)))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(base64.RawStdEncoding.EncodeToString(secret)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return secret, nil
}
