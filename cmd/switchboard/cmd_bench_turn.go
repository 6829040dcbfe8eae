package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/nlp/intent"
)

// TurnBenchResult is what `switchboard bench turn --json` prints.
type TurnBenchResult struct {
	OfferedPerSec  float64 `json:"offered_per_sec"`
	AchievedPerSec float64 `json:"achieved_per_sec"`
	Turns          int     `json:"turns"`
	P50Ms          float64 `json:"p50_ms"`
	P99Ms          float64 `json:"p99_ms"`
	MaxMs          float64 `json:"max_ms"`
	Errors         int     `json:"errors"`
	Escalated      int     `json:"escalated"`
	AnsweredP99Ms  float64 `json:"answered_p99_ms"`  // turns the bot answered
	EscalatedP99Ms float64 `json:"escalated_p99_ms"` // turns that opened or joined a ticket
	FAQEntries     int     `json:"faq_entries"`
	BaselineP99Ms  float64 `json:"baseline_p99_ms"` // GET /healthz at the same rate: HTTP and load-generator cost alone
	// Stages estimates each pipeline stage's latency during the measured
	// window from the server's own histograms (/metrics), so a slow run
	// says where its time went.
	Stages map[string]StageLatency `json:"stages,omitempty"`
}

// StageLatency is one stage's latency over the measured window, estimated
// from histogram buckets (linear within a bucket).
type StageLatency struct {
	Count int     `json:"count"`
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
}

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

func benchTurns(ctx context.Context, cfg config.Config, data, redisAddr string, rate int, dur time.Duration) (TurnBenchResult, error) {
	tmp, err := os.MkdirTemp("", "switchboard-bench-")
	if err != nil {
		return TurnBenchResult{}, err
	}
	defer os.RemoveAll(tmp)
	cfg.DataDir, cfg.KB.Dir, cfg.Postgres.EmbeddedDir = tmp, "", ""
	if cfg.Postgres.DSN != "" {
		dsn, drop, err := benchDatabase(ctx, cfg.Postgres.DSN)
		if err != nil {
			return TurnBenchResult{}, err
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
		return TurnBenchResult{}, err
	}
	faq, err := writeFAQ(tmp, train)
	if err != nil {
		return TurnBenchResult{}, err
	}
	idx, err := kb.NewEmbedded(cfg.KBDir())
	if err != nil {
		return TurnBenchResult{}, err
	}
	if _, err := kb.Ingest(ctx, idx, kb.NewLexicalEmbedder(), faq, nil); err != nil {
		return TurnBenchResult{}, err
	}
	cfg.HTTP.Addr = "127.0.0.1:0"
	base, stop, err := serveInBackground(ctx, cfg)
	if err != nil {
		return TurnBenchResult{}, err
	}
	defer stop()
	tokens, err := customerTokens(cfg, 500)
	if err != nil {
		return TurnBenchResult{}, err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}, Timeout: 10 * time.Second}
	turn := func(i int) (bool, error) {
		body, _ := json.Marshal(map[string]string{"text": test[i%len(test)].Text})
		req, _ := http.NewRequest("POST", base+"/v1/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)])
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		var r gateway.MessageReply
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&r) != nil {
			return false, fmt.Errorf("status %d", resp.StatusCode)
		}
		return r.Escalated, nil
	}
	health := func(int) (bool, error) {
		resp, err := client.Get(base + "/healthz")
		if err != nil {
			return false, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return false, nil
	}
	baseline := openLoop(rate, dur/2, health)
	openLoop(rate, 2*time.Second, turn) // warm-up: caches, connections, JIT of the planner
	before := scrapeStages(client, base)
	res := openLoop(rate, dur, turn)
	res.Stages = stageLatencies(before, scrapeStages(client, base))
	res.BaselineP99Ms, res.FAQEntries = baseline.P99Ms, len(train)
	return res, nil
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

// openLoop starts fn at a fixed rate for dur regardless of how long calls
// take, measuring each from its scheduled start.
func openLoop(rate int, dur time.Duration, fn func(i int) (bool, error)) TurnBenchResult {
	n := int(float64(rate) * dur.Seconds())
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	var answered, escalated []time.Duration
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs, esc := 0, 0
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(due))
		wg.Go(func() {
			isEsc, err := fn(i)
			d := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			lat[i] = d
			switch {
			case err != nil:
				errs++
			case isEsc:
				esc++
				escalated = append(escalated, d)
			default:
				answered = append(answered, d)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	return TurnBenchResult{OfferedPerSec: float64(rate), AchievedPerSec: float64(n) / elapsed.Seconds(), Turns: n,
		P50Ms: quantileMs(lat, 0.50), P99Ms: quantileMs(lat, 0.99), MaxMs: quantileMs(lat, 1), Errors: errs, Escalated: esc,
		AnsweredP99Ms: quantileMs(answered, 0.99), EscalatedP99Ms: quantileMs(escalated, 0.99)}
}

// quantileMs sorts d and returns its q-quantile in milliseconds (0 when empty).
func quantileMs(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000
}

func writeFAQ(dir string, ex []intent.Example) (string, error) {
	path := filepath.Join(dir, "faq.csv")
	fh, err := os.Create(path)
	if err != nil {
		return "", err
	}
	w := csv.NewWriter(fh)
	w.Write([]string{"question", "answer"})
	for _, e := range ex {
		w.Write([]string{e.Text, "About " + e.Label + ": see our help centre."})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		fh.Close()
		return "", err
	}
	return path, fh.Close()
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

// stageBuckets is one scrape of switchboard_pipeline_stage_seconds:
// cumulative counts by stage and upper bound (seconds).
type stageBuckets map[string]map[float64]float64

const stageMetric = "switchboard_pipeline_stage_seconds_bucket{"

// scrapeStages reads the pipeline stage histograms from base/metrics; it
// returns nil when they cannot be read (the figures are then left out).
func scrapeStages(client *http.Client, base string) stageBuckets {
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	out := stageBuckets{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, stageMetric) {
			continue
		}
		labels, value, ok := strings.Cut(line[len(stageMetric):], "} ")
		if !ok {
			continue
		}
		stage, le := labelValue(labels, "stage"), labelValue(labels, "le")
		n, err1 := strconv.ParseFloat(value, 64)
		bound, err2 := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
		if stage == "" || err1 != nil || err2 != nil {
			continue
		}
		if out[stage] == nil {
			out[stage] = map[float64]float64{}
		}
		out[stage][bound] = n
	}
	return out
}

func labelValue(labels, name string) string {
	for _, kv := range strings.Split(labels, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k == name {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// stageLatencies turns the difference of two scrapes into percentiles.
func stageLatencies(before, after stageBuckets) map[string]StageLatency {
	if after == nil {
		return nil
	}
	out := map[string]StageLatency{}
	for stage, cum := range after {
		bounds := make([]float64, 0, len(cum))
		for b := range cum {
			bounds = append(bounds, b)
		}
		slices.Sort(bounds)
		counts := make([]float64, len(bounds))
		for i, b := range bounds {
			counts[i] = cum[b] - before[stage][b]
		}
		total := counts[len(counts)-1]
		if total <= 0 {
			continue
		}
		out[stage] = StageLatency{Count: int(total), P50Ms: bucketQuantile(bounds, counts, 0.50) * 1000,
			P99Ms: bucketQuantile(bounds, counts, 0.99) * 1000}
	}
	return out
}

// bucketQuantile interpolates the q-quantile from cumulative bucket counts.
func bucketQuantile(bounds, counts []float64, q float64) float64 {
	rank := q * counts[len(counts)-1]
	lower, below := 0.0, 0.0
	for i, b := range bounds {
		if counts[i] >= rank {
			if b > 1e300 { // the +Inf bucket: report its lower bound
				return lower
			}
			if counts[i] == below {
				return b
			}
			return lower + (b-lower)*(rank-below)/(counts[i]-below)
		}
		lower, below = b, counts[i]
	}
	return lower
}
