package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/gateway/turnbench"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/nlp/intent"
)

func benchTurnCmd(f *rootFlags) *cobra.Command {
	var rate, seconds int
	var data, redisAddr string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "turn",
		Short: "Text turns end to end (REST → pipeline → reply) at a fixed offered load",
		Long: `Serves the full product in-process (PostgreSQL: a database of its own on the server
at postgres.dsn, dropped afterwards, or an embedded one in a temporary folder; Redis:
--redis, redis.addr or 127.0.0.1:6379, else in-process) with an embedded knowledge
base of BANKING77's ~10k training questions as FAQ entries, then
offers --rate customer messages per second over HTTP for --seconds (open loop:
latency counts from each request's scheduled start) and reports percentiles. A
/healthz run at the same rate is the baseline.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			if rate < 1 || seconds < 1 {
				return fmt.Errorf("--rate and --seconds must be at least 1")
			}
			if data == "" {
				if data, err = findSharedData(); err != nil {
					return err
				}
			}
			res, err := benchTurns(cmd.Context(), cfg, data, redisAddr, rate, time.Duration(seconds)*time.Second)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "turns: offered %.0f/s, achieved %.0f/s, p50 %.2f ms, p99 %.2f ms, errors %d (baseline /healthz p99 %.2f ms)\n",
				res.OfferedPerSec, res.AchievedPerSec, res.P50Ms, res.P99Ms, res.Errors, res.BaselineP99Ms)
			return nil
		},
	}
	cmd.Flags().IntVar(&rate, "rate", 300, "offered turns per second")
	cmd.Flags().IntVar(&seconds, "seconds", 10, "measured seconds (after 2 s of warm-up)")
	cmd.Flags().StringVar(&data, "data", "", "folder with banking77/ (default: shared/data beside the checkout)")
	cmd.Flags().StringVar(&redisAddr, "redis", "", "Redis address (default redis.addr, then 127.0.0.1:6379)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func benchTurns(ctx context.Context, cfg config.Config, data, redisAddr string, rate int, dur time.Duration) (turnbench.Result, error) {
	tmp, err := os.MkdirTemp("", "switchboard-bench-")
	if err != nil {
		return turnbench.Result{}, err
	}
	defer os.RemoveAll(tmp)
	cfg.DataDir, cfg.KB.Dir, cfg.Postgres.EmbeddedDir = tmp, "", ""
	if cfg.Postgres.DSN != "" {
		dsn, drop, err := benchDatabase(ctx, cfg.Postgres.DSN)
		if err != nil {
			return turnbench.Result{}, err
		}
		defer drop()
		cfg.Postgres.DSN, cfg.Postgres.ReplicaDSN, cfg.Postgres.OwnerDSN = dsn, "", ""
	}
	cfg.Limits = config.LimitsConfig{}
	cfg.Log.Level = "error"
	cfg.Postgres.MaxConns = 20
	if redisAddr == "" {
		redisAddr = cfg.Redis.Addr
	}
	if redisAddr == "" {
		if rdb, stop, err := benchRedis(ctx, ""); err == nil {
			redisAddr = rdb.Options().Addr
			defer stop()
		}
	}
	cfg.Redis.Addr, cfg.Redis.KeyPrefix = redisAddr, fmt.Sprintf("benchturn%d", time.Now().UnixNano())
	train, test, err := intent.LoadBanking77(filepath.Join(data, "banking77"))
	if err != nil {
		return turnbench.Result{}, err
	}
	faq, err := turnbench.WriteFAQ(tmp, train)
	if err != nil {
		return turnbench.Result{}, err
	}
	idx, err := kb.NewEmbedded(cfg.KBDir())
	if err != nil {
		return turnbench.Result{}, err
	}
	if _, err := kb.Ingest(ctx, idx, kb.NewLexicalEmbedder(), faq, nil); err != nil {
		return turnbench.Result{}, err
	}
	cfg.HTTP.Addr = "127.0.0.1:0"
	base, stop, err := serveInBackground(ctx, cfg)
	if err != nil {
		return turnbench.Result{}, err
	}
	defer stop()
	tokens, err := customerTokens(cfg, 500)
	if err != nil {
		return turnbench.Result{}, err
	}
	res := turnbench.Run(turnbench.Options{Base: base, Tokens: tokens, Texts: texts(test), Rate: rate, Duration: dur})
	res.FAQEntries = len(train)
	return res, nil
}

// texts are the examples' texts.
func texts(ex []intent.Example) []string {
	out := make([]string, len(ex))
	for i, e := range ex {
		out[i] = e.Text
	}
	return out
}

// benchDatabase creates a database of the run's own on the server at dsn and
// returns its DSN and a function that drops it. A benchmark must not write
// thousands of made-up conversations and tickets into the configured
// database, and each run should start from the same empty schema rather
// than from tables grown by earlier runs. When the role may not create
// databases, the run uses the configured one, as it did before.
func benchDatabase(ctx context.Context, dsn string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("switchboard_bench_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		fmt.Fprintf(os.Stderr, "bench: cannot create a database of its own (%v); using the configured one\n", err)
		return dsn, func() {}, nil
	}
	drop := func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(dctx, dsn); err == nil {
			_, _ = c.Exec(dctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
			c.Close(dctx)
		}
	}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String(), drop, nil
	}
	return dsn + " dbname=" + name, drop, nil // keyword/value form: the last dbname wins
}

func customerTokens(cfg config.Config, n int) ([]string, error) {
	secret, err := jwtSecret(cfg)
	if err != nil {
		return nil, err
	}
	auth, err := gateway.NewAuth(secret, "", cfg.Auth.Issuer)
	if err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i := range out {
		if out[i], err = auth.Issue(fmt.Sprintf("bench:%d", i), gateway.RoleCustomer, time.Hour); err != nil {
			return nil, err
		}
	}
	return out, nil
}
