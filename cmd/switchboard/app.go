package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/embedded"
	"github.com/switchboard-cs/switchboard/internal/fieldcrypt"
	"github.com/switchboard-cs/switchboard/nlp/ner"
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
	ring     *fieldcrypt.KeyRing
	redactor *pii.Redactor // customers' and agents' words, before they are stored
	audit    *tickets.Anchorer
	router   *tickets.RedisRouter
	svc      *tickets.Service
	// inspector is the quality inspection of replies (quality.go); its rules are edited
	// on the admin page.
	inspector *qualityInspector
	metrics   *tickets.Metrics
	// use, claim, attach: how this process shares the data directory (instance.go).
	use            dataUse
	claim          *embedded.Claim   // held by this process (nil: attached, or none needed)
	attach         embedded.Instance // the running serve whose PostgreSQL this command uses
	stopSupervisor func()            // ends the supervision of the embedded PostgreSQL
}

// openData starts (embedded) or connects to PostgreSQL and Redis and runs
// migrations. use says who asks: serve, or a CLI command (which uses a running serve's
// embedded PostgreSQL rather than starting its own; see dataUse).
func openData(ctx context.Context, cfg config.Config, log *slog.Logger, use dataUse) (*app, error) {
	a := &app{cfg: cfg, log: log, registry: prometheus.NewRegistry(), use: use}
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := a.useDataDir(ctx, use); err != nil {
		a.close(ctx)
		return nil, err
	}
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
	dsn, ownerDSN := a.cfg.Postgres.DSN, a.cfg.Postgres.OwnerDSN
	if dsn == "" {
		pg, err := a.embeddedPostgres(ctx)
		if err != nil {
			return fmt.Errorf("embedded postgres: %w", err)
		}
		a.pg = pg
		if err := pg.CreateDatabase(ctx, "switchboard"); err != nil {
			return err
		}
		// The application connects as a role that owns nothing; the superuser migrates.
		dsn, ownerDSN = pg.AppDSN("switchboard"), pg.DSN("switchboard")
	}
	var err error
	if a.primary, err = newPool(ctx, dsn, a.cfg.Postgres); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if a.cfg.Postgres.ReplicaDSN != "" {
		if a.replica, err = newPool(ctx, a.cfg.Postgres.ReplicaDSN, a.cfg.Postgres); err != nil {
			return fmt.Errorf("postgres replica: %w", err)
		}
	}
	return a.migrate(ctx, dsn, ownerDSN)
}

// migrate brings the schema up to date as the tables' owner (ownerDSN; empty: the
// application's own DSN) over a pool of its own without statement_timeout (a migration
// may take long; lock_timeout still applies so it cannot queue everyone else behind a
// lock it waits for), and grants the application's role what it needs. An application
// that could alter or truncate the audit table gets a warning.
func (a *app) migrate(ctx context.Context, dsn, ownerDSN string) error {
	pc := a.cfg.Postgres
	pc.StatementTimeout, pc.MaxConns = 0, 2
	migrator, err := newPool(ctx, cmp.Or(ownerDSN, dsn), pc)
	if err != nil {
		return fmt.Errorf("postgres (owner, for migrations): %w", err)
	}
	defer migrator.Close()
	v, err := tickets.Migrate(ctx, migrator)
	if err != nil {
		return err
	}
	if ownerDSN != "" && ownerDSN != dsn {
		role, err := tickets.CurrentRole(ctx, a.primary)
		if err != nil {
			return err
		}
		if err := tickets.GrantApp(ctx, migrator, role); err != nil {
			return err
		}
	}
	a.log.Info("database schema ready", "version", v)
	if owns, err := tickets.OwnsAudit(ctx, a.primary); err == nil && owns {
		a.log.Warn("the application connects to PostgreSQL as the owner of the audit table (or a superuser), so it could " +
			"alter, truncate or switch off the guards of the audit log; set postgres.owner_dsn for migrations and give " +
			"postgres.dsn a role that owns nothing (see docs/configuration.md)")
	}
	return nil
}

// newPool opens a pool on dsn with postgres.max_conns and, on every connection,
// postgres.statement_timeout and postgres.lock_timeout (unless the DSN sets them).
func newPool(ctx context.Context, dsn string, c config.PostgresConfig) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	pc.MaxConns = c.MaxConns
	params := pc.ConnConfig.RuntimeParams
	for name, d := range map[string]time.Duration{"statement_timeout": c.StatementTimeout, "lock_timeout": c.LockTimeout} {
		if _, set := params[name]; !set && d > 0 {
			params[name] = strconv.FormatInt(max(d.Milliseconds(), 1), 10) // milliseconds
		}
	}
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
	ring, err := openKeyRing(a.cfg)
	if err != nil {
		return err
	}
	a.ring = ring
	if a.redactor, err = newRedactor(a.cfg); err != nil {
		return err
	}
	mood, err := loadSentiment(a.cfg)
	if err != nil {
		return err
	}
	inspector, err := newQualityInspector(a.cfg.Quality, a.redactor)
	if err != nil {
		return err
	}
	var sentimentScorer tickets.SentimentScorer
	if mood != nil {
		inspector.hostile = mood
		sentimentScorer = mood
	}
	a.store = tickets.NewStore(a.primary, a.replica, ring)
	inspector.stored = a.store
	a.inspector = inspector
	a.audit = a.newAnchorer()
	a.metrics = tickets.NewMetrics(a.registry)
	w := a.cfg.Routing.Weights
	a.svc = tickets.NewService(a.store, tickets.ServiceOptions{
		Cache:    tickets.NewTicketCache(a.rdb, a.cfg.Redis.KeyPrefix, a.cfg.Cache.TicketTTL),
		Redactor: piiRedactor{a.redactor}, Inspector: inspector, Sentiment: sentimentScorer, Metrics: a.metrics, Log: a.log,
		PresenceTTL: a.cfg.Agents.PresenceTTL})
	a.router = tickets.NewRedisRouter(a.rdb, tickets.RouterOptions{Prefix: a.cfg.Redis.KeyPrefix,
		Weights:  tickets.Weights{VIP: w.VIP, Skill: w.Skill, Load: w.Load, Wait: w.Wait},
		VIPBoost: a.cfg.Routing.VIPBoost, AgingHorizon: a.cfg.Routing.AgingHorizon,
		Snapshot: a.svc.Snapshot, Logger: a.log, ClaimOverflow: a.cfg.Routing.ClaimOverflow})
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
	if a.stopSupervisor != nil {
		a.stopSupervisor()
	}
	if a.pg != nil {
		if err := a.pg.Stop(context.WithoutCancel(ctx)); err != nil {
			a.log.Error("stop embedded postgres", "err", err)
		}
	}
	if a.claim != nil {
		a.claim.Release()
	}
}

// retention builds the retention job of the configured policy; it first seals display
// names that rows from before migration 00017 hold in plaintext.
func (a *app) retention(ctx context.Context, log *slog.Logger) *tickets.Retention {
	if n, err := a.store.SealNames(ctx); err != nil && ctx.Err() == nil {
		log.Error("seal display names", "err", err)
	} else if n > 0 {
		log.Info("sealed display names stored in plaintext", "rows", n)
	}
	r := a.cfg.Retention
	return tickets.NewRetention(a.store, tickets.RetentionPolicy{Vault: r.Vault, Queue: r.Queue, Archive: r.Archive,
		Media: r.Media, Audit: a.cfg.Audit.Retention}, a.audit, log, a.registry)
}

// sharedDeployment reports whether several replicas may share the data: a read replica
// or a Redis Cluster. They must share one key ring and one JWT secret.
func sharedDeployment(cfg config.Config) bool {
	return cfg.Postgres.ReplicaDSN != "" || len(cfg.Redis.ClusterAddrs) > 0
}

// requireSharedSecrets refuses a replicated deployment whose key ring or JWT secret
// would be generated per machine: one replica could not read what another encrypted,
// nor accept its tokens.
func requireSharedSecrets(cfg config.Config) error {
	if !sharedDeployment(cfg) || cfg.Security.KeyRingFile != "" && cfg.Auth.JWTSecret != "" {
		return nil
	}
	return errors.New("with postgres.replica_dsn or redis.cluster_addrs every replica must use the same key ring and " +
		"JWT secret: set security.key_ring_file (one file, copied or mounted on each replica; seal it with " +
		"SWITCHBOARD_KEYRING_KEK) and auth.jwt_secret (SWITCHBOARD_JWT_SECRET); they are not generated per machine")
}

// openKeyRing opens the key ring, sealed with the configured key-encryption key if any;
// a replicated deployment never creates one (see requireSharedSecrets).
func openKeyRing(cfg config.Config) (*fieldcrypt.KeyRing, error) {
	opts := fieldcrypt.Options{Create: !sharedDeployment(cfg)}
	if cfg.Security.KeyRingKEK != "" {
		kek, err := fieldcrypt.ParseKEK(cfg.Security.KeyRingKEK)
		if err != nil {
			return nil, err
		}
		opts.KEK = kek
	}
	ring, err := fieldcrypt.Open(cfg.KeyRingPath(), opts)
	if err != nil {
		return nil, fmt.Errorf("key ring: %w", err)
	}
	return ring, nil
}

// newRedactor is the redactor cfg configures: its phone regions (pii.phone_regions) and
// the name and address tagger of pii.tagger_model when its file exists (`pii train`
// writes it); a file that cannot be read is an error.
func newRedactor(cfg config.Config) (*pii.Redactor, error) {
	opts := []pii.Option{pii.WithPhoneRegions(cfg.PII.PhoneRegions...)}
	if path := cfg.PIITaggerModel(); path != "" {
		m, err := ner.Load(path)
		switch {
		case err == nil:
			opts = append(opts, pii.WithTagger(m))
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("pii.tagger_model: %w (switchboard pii train writes it anew)", err)
		}
	}
	return pii.NewRedactor(opts...), nil
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
