package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
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
	var data, redisAddr, cpuProfile string
	var asJSON bool
	var search turnbench.SearchOptions
	var find bool
	cmd := &cobra.Command{
		Use:   "turn",
		Short: "Text turns end to end (REST → pipeline → reply) at a fixed offered load, or the highest load that keeps a p99 target",
		Long: `Serves the full product in-process (PostgreSQL: a database of its own on the server
at postgres.dsn, dropped afterwards, or an embedded one in a temporary folder; Redis:
--redis, redis.addr or 127.0.0.1:6379, else in-process) with an embedded knowledge
base of BANKING77's ~10k training questions as FAQ entries, then
offers --rate customer messages per second over HTTP for --seconds (open loop:
latency counts from each request's scheduled start) and reports percentiles. A
/healthz run at the same rate is the baseline. Each measured window also reports
its cost per turn: this process's CPU time (server and load generator) and, on a
PostgreSQL server of this machine, the CPU time of the bench database's backends
and its committed transactions; on a shared machine these move less with the
other jobs than the latency does.

--find-capacity searches instead for the highest offered rate whose p99 stays
within --p99-ms with no error: it doubles from --rate while steps pass (up to
--max-rate), bisects between the last pass and the first failure down to
--resolution, then runs the best rate again to confirm it (a failed confirmation
lowers it by --resolution). Each step is 2 s of warm-up and --seconds measured,
on the same server, with 3 s of rest after a step that passed and 10 s after
one that failed.`,
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
			dur, out := time.Duration(seconds)*time.Second, cmd.OutOrStdout()
			return benchTurns(cmd.Context(), cfg, data, redisAddr, cpuProfile, func(ctx context.Context, o turnbench.Options, faqEntries int) error {
				if find {
					return findCapacity(ctx, o, faqEntries, search, rate, dur, asJSON, out, cmd.ErrOrStderr())
				}
				o.Rate, o.Duration = rate, dur
				res := turnbench.Run(o)
				res.FAQEntries = faqEntries
				if asJSON {
					return json.NewEncoder(out).Encode(res)
				}
				fmt.Fprintf(out, "turns: offered %.0f/s, achieved %.0f/s, p50 %.2f ms, p99 %.2f ms, errors %d%s (baseline /healthz p99 %.2f ms; load %s)\n",
					res.OfferedPerSec, res.AchievedPerSec, res.P50Ms, res.P99Ms, res.Errors, costText(res.Cost), res.BaselineP99Ms, loadAverage())
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&rate, "rate", 300, "offered turns per second (with --find-capacity: the first rate tried)")
	cmd.Flags().IntVar(&seconds, "seconds", 10, "measured seconds (after 2 s of warm-up); with --find-capacity, of each step")
	cmd.Flags().StringVar(&data, "data", "", "folder with banking77/ (default: shared/data beside the checkout)")
	cmd.Flags().StringVar(&redisAddr, "redis", "", "Redis address (default redis.addr, then 127.0.0.1:6379)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole process (server and load generator) while it offers load")
	cmd.Flags().BoolVar(&find, "find-capacity", false, "search for the highest offered rate meeting --p99-ms with no error")
	cmd.Flags().Float64Var(&search.P99Ms, "p99-ms", 25, "with --find-capacity: the p99 target (ms)")
	cmd.Flags().IntVar(&search.Max, "max-rate", 4000, "with --find-capacity: the highest rate tried")
	cmd.Flags().IntVar(&search.Resolution, "resolution", 25, "with --find-capacity: bisection stops at this bracket (turns/s)")
	cmd.Flags().IntVar(&search.Confirmations, "confirmations", 3, "with --find-capacity: confirmation runs allowed, each failure lowering the rate by --resolution")
	return cmd
}

// findCapacity runs turnbench.FindCapacity against the server o points at,
// printing each step on progress and the summary (JSON with asJSON) on out.
func findCapacity(ctx context.Context, o turnbench.Options, faqEntries int, s turnbench.SearchOptions, start int, dur time.Duration, asJSON bool, out, progress io.Writer) error {
	s.Start = start
	if s.Max < start {
		s.Max = start
	}
	run := func(ctx context.Context, rate int) (turnbench.Result, error) {
		o.Rate, o.Duration = rate, dur
		res := turnbench.Measure(o)
		res.FAQEntries = faqEntries
		// Rest before the next step; longer after a failed one, so that
		// the work an overload leaves behind (queued notifications,
		// PostgreSQL's background writes) counts against it less.
		rest := 3 * time.Second
		if !turnbench.Passes(res, s.P99Ms) {
			rest = 10 * time.Second
		}
		select {
		case <-ctx.Done():
		case <-time.After(rest):
		}
		return res, nil
	}
	c, err := turnbench.FindCapacity(ctx, s, run, func(st turnbench.Step) {
		r := st.Result
		verdict := "fail"
		if st.Pass {
			verdict = "pass"
		}
		fmt.Fprintf(progress, "%-7s %5.0f/s: achieved %.0f/s, p50 %.2f ms, p99 %.2f ms, errors %d%s — %s (load %s)\n",
			st.Phase, r.OfferedPerSec, r.AchievedPerSec, r.P50Ms, r.P99Ms, r.Errors, costText(r.Cost), verdict, loadAverage())
	})
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(out).Encode(c)
	}
	if c.Rate == 0 {
		fmt.Fprintf(out, "capacity: no rate tried kept p99 ≤ %g ms with no error (%d steps)\n", c.P99TargetMs, len(c.Steps))
		return nil
	}
	more := ""
	if c.Rate == s.Max {
		more = "; --max-rate: it may hold more"
	}
	fmt.Fprintf(out, "capacity: %d turns/s with p99 ≤ %g ms and no error (confirmed: p50 %.2f ms, p99 %.2f ms over %d turns%s)\n",
		c.Rate, c.P99TargetMs, c.Confirmed.P50Ms, c.Confirmed.P99Ms, c.Confirmed.Turns, more)
	return nil
}

// costText is a measured window's cost per turn for a progress line.
func costText(c *turnbench.PerTurn) string {
	switch {
	case c == nil:
		return ""
	case c.Commits == 0:
		return fmt.Sprintf("; per turn: CPU %.3f ms", c.CPUMs)
	}
	return fmt.Sprintf("; per turn: CPU %.3f ms, database CPU %.3f ms, %.2f commits", c.CPUMs, c.DatabaseCPUMs, c.Commits)
}

// loadAverage is the first three fields of /proc/loadavg ("?" where there is none).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if fields := strings.Fields(string(b)); err == nil && len(fields) >= 3 {
		return strings.Join(fields[:3], " ")
	}
	return "?"
}

// benchTurns serves the product with the benchmark's knowledge base and
// hands drive options that point at it (Base, Tokens, Texts) and the number
// of FAQ entries; with
// cpuProfile, the process is profiled while drive runs.
func benchTurns(ctx context.Context, cfg config.Config, data, redisAddr, cpuProfile string, drive func(ctx context.Context, o turnbench.Options, faqEntries int) error) error {
	tmp, err := os.MkdirTemp("", "switchboard-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cfg.DataDir, cfg.KB.Dir, cfg.Postgres.EmbeddedDir = tmp, "", ""
	var dbCost func() (turnbench.Cost, error)
	if cfg.Postgres.DSN != "" {
		dsn, drop, err := benchDatabase(ctx, cfg.Postgres.DSN)
		if err != nil {
			return err
		}
		defer drop()
		cfg.Postgres.DSN, cfg.Postgres.ReplicaDSN, cfg.Postgres.OwnerDSN = dsn, "", ""
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			defer conn.Close(context.WithoutCancel(ctx))
			dbCost = func() (turnbench.Cost, error) { return databaseCost(ctx, conn) }
		}
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
		return err
	}
	faq, err := turnbench.WriteFAQ(tmp, train)
	if err != nil {
		return err
	}
	idx, err := kb.NewEmbedded(cfg.KBDir())
	if err != nil {
		return err
	}
	if _, err := kb.Ingest(ctx, idx, kb.NewLexicalEmbedder(), faq, nil); err != nil {
		return err
	}
	cfg.HTTP.Addr = "127.0.0.1:0"
	base, stop, err := serveInBackground(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	tokens, err := customerTokens(cfg, 500)
	if err != nil {
		return err
	}
	if cpuProfile != "" {
		fh, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer fh.Close()
		if err := pprof.StartCPUProfile(fh); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	return drive(ctx, turnbench.Options{Base: base, Tokens: tokens, Texts: texts(test), Cost: dbCost}, len(train))
}

// databaseCost reads the bench database's committed transactions and the CPU
// time of the backends connected to it (from /proc: the server runs on this
// machine; other databases' backends are not counted). The statistics
// PostgreSQL keeps are flushed by each backend about once a second, so a
// window of several seconds reads the commits to within a few percent.
func databaseCost(ctx context.Context, conn *pgx.Conn) (turnbench.Cost, error) {
	var commits int64
	var pids []int32
	err := conn.QueryRow(ctx, `SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
			coalesce((SELECT array_agg(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()), '{}')`).
		Scan(&commits, &pids)
	if err != nil {
		return turnbench.Cost{}, err
	}
	cpu := make(map[int32]time.Duration, len(pids))
	for _, pid := range pids {
		cpu[pid] = procCPU(pid)
	}
	return turnbench.Cost{Backends: cpu, Commits: commits}, nil
}

// procCPU is a process's user and system CPU time from /proc/PID/stat (0 when
// it cannot be read: the process is gone, or this is not Linux).
func procCPU(pid int32) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name (which may hold spaces) start at
	// the state, field 3; utime and stime are fields 14 and 15, in clock
	// ticks of 1/100 s (USER_HZ on Linux).
	i := strings.LastIndex(string(b), ") ")
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+2:]))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
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
