//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/internal/embedded"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// Scenario 7 of issue 20, the soak: mixed turns (REST, web chat, escalations answered
// by scripted agents) paced at a steady rate across 3 replicas, on a PostgreSQL and a
// Redis server of its own, for a long time, with a
// sampler reading every replica's RSS, goroutines, open files and CPU, the database's
// connections, and the customers' rate and latency per window; afterwards the
// invariant checker, and the judgement of cluster_soak_report_test.go. Settings:
//
//	SWITCHBOARD_SOAK_DURATION   how long the load runs (Go duration): 10m; hours are fine
//	SWITCHBOARD_SOAK_RATE       offered turns/s, all customers together: 300
//	SWITCHBOARD_SOAK_CUSTOMERS  customers (every other one over web chat): 200
//	SWITCHBOARD_SOAK_AGENTS     scripted agents: 6 (each polls its tickets 5 times a second)
//	SWITCHBOARD_SOAK_LLM_DELAY  the stub model's time per answer: 100ms
//	SWITCHBOARD_SOAK_SAMPLE     the sampling interval: 5s
//	SWITCHBOARD_SOAK_MEDIA_EVERY one group of four customers in this many sends media
//	                            (a photo customer and a voice customer): 50
//	SWITCHBOARD_SOAK_PLOT       a path: the plot is written there (.svg, .png or .pdf),
//	                            the samples beside it as .csv
//
// It runs with the other fault scenarios' switch, SWITCHBOARD_FAULT_TEST=1, but
// `make test-faults` does not run it (-run picks the scenarios).

// soakConfig is the soak's settings.
type soakConfig struct {
	Duration, Sample, LLMDelay time.Duration
	Rate                       float64
	Customers, Agents          int
	MediaEvery                 int
	Plot                       string
}

// soakConfigFrom reads the settings from the environment (getenv), with defaults.
func soakConfigFrom(getenv func(string) string) (soakConfig, error) {
	c := soakConfig{Duration: 10 * time.Minute, Sample: 5 * time.Second, LLMDelay: 100 * time.Millisecond,
		Rate: 300, Customers: 200, Agents: 6, MediaEvery: 50, Plot: getenv("SWITCHBOARD_SOAK_PLOT")}
	var errs []string
	dur := func(key string, into *time.Duration) {
		if v := getenv(key); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Sprintf("%s=%q: want a positive duration (10m, 2h)", key, v))
				return
			}
			*into = d
		}
	}
	num := func(key string, into *int) {
		if v := getenv(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Sprintf("%s=%q: want a positive integer", key, v))
				return
			}
			*into = n
		}
	}
	dur("SWITCHBOARD_SOAK_DURATION", &c.Duration)
	dur("SWITCHBOARD_SOAK_SAMPLE", &c.Sample)
	dur("SWITCHBOARD_SOAK_LLM_DELAY", &c.LLMDelay)
	num("SWITCHBOARD_SOAK_CUSTOMERS", &c.Customers)
	num("SWITCHBOARD_SOAK_AGENTS", &c.Agents)
	num("SWITCHBOARD_SOAK_MEDIA_EVERY", &c.MediaEvery)
	if v := getenv("SWITCHBOARD_SOAK_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 {
			errs = append(errs, fmt.Sprintf("SWITCHBOARD_SOAK_RATE=%q: want a positive number of turns/s", v))
		} else {
			c.Rate = r
		}
	}
	if len(errs) == 0 && c.Duration < 10*c.Sample {
		errs = append(errs, fmt.Sprintf("SWITCHBOARD_SOAK_DURATION %v: at least 10 samples of %v are needed to judge", c.Duration, c.Sample))
	}
	if ext := filepath.Ext(c.Plot); c.Plot != "" && ext != ".svg" && ext != ".png" && ext != ".pdf" {
		errs = append(errs, fmt.Sprintf("SWITCHBOARD_SOAK_PLOT=%q: want a .svg, .png or .pdf file", c.Plot))
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("soak settings: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// soakPostgres starts a PostgreSQL server of the soak's own (durable: fsync and
// synchronous commit on, as in production), stopped when the test ends, and returns the
// DSN of its database. The shared test server's connections and WAL are every other
// test's too: a soak there measures them as much as the replicas, and its 3 replicas'
// pools can exhaust its max_connections for everyone.
func soakPostgres(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	pg, err := embedded.StartPostgres(ctx, embedded.PostgresOptions{DataDir: filepath.Join(t.TempDir(), "pg")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after the replicas stopped (cleanups run last first)
		if err := pg.Stop(context.Background()); err != nil {
			t.Errorf("stop the soak's PostgreSQL: %v", err)
		}
	})
	if err := pg.CreateDatabase(ctx, "soak"); err != nil {
		t.Fatal(err)
	}
	return pg.DSN("soak")
}

// TestFaultSoak: after warm-up, every replica's RSS, the replicas' goroutines and open
// files and the database's connections stay flat (growth ≤ 5 %), the p99 latency stays within 25 %,
// the offered rate is achieved (≥ 95 %), and the invariant checker finds nothing lost,
// duplicated or misplaced.
func TestFaultSoak(t *testing.T) {
	needFaultTests(t)
	cfg, err := soakConfigFrom(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("soak: %v at %.0f turns/s offered, %d customers (media from 1 group of 4 in %d), %d agents, model %v, sampled every %v",
		cfg.Duration, cfg.Rate, cfg.Customers, cfg.MediaEvery, cfg.Agents, cfg.LLMDelay, cfg.Sample)
	dsn := soakPostgres(t)
	rs := testenv.PrivateRedis(t)
	c := startFaultCluster(t, faultOptions{DSN: dsn, RedisAddr: rs.Addr, Customers: cfg.Customers, Agents: cfg.Agents, LLMDelay: cfg.LLMDelay, Rate: cfg.Rate,
		MediaEvery: cfg.MediaEvery})
	if t.Failed() {
		return
	}
	l := newFaultLoad(c, c.opts.Think)
	lat := &soakLatencies{}
	l.observe = lat.observe
	sampler, err := newSoakSampler(context.Background(), c, lat)
	if err != nil {
		t.Fatal(err)
	}
	defer sampler.conn.Close(context.Background())

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	agentsCtx, stopAgents := context.WithCancel(context.Background())
	defer stopAgents()
	sampler.begin()
	start := time.Now()
	customers, agents := l.run(ctx, agentsCtx, c.opts.Customers, c.opts.Agents)
	sctx, stopSampling := context.WithTimeout(context.Background(), cfg.Duration)
	samples, err := sampler.run(sctx, cfg.Sample, t.Logf)
	stopSampling()
	if err != nil {
		t.Errorf("sampling stopped after %v: %v", time.Since(start).Round(time.Second), err)
	}
	stopAgents()
	agents.Wait()
	stop()
	took := time.Since(start)
	customers.Wait()

	rep := l.check(t, "soak", took)
	t.Logf("result: %s", rep.row())
	t.Logf("load: %+v", rep.Stats)
	for _, f := range l.failed {
		t.Logf("failed: %s", f)
	}
	for _, f := range rep.failures(false) {
		t.Error(f)
	}
	if len(samples) < 10 {
		t.Fatalf("%d samples: too few to judge", len(samples))
	}
	if cfg.Plot != "" {
		title := fmt.Sprintf("Switchboard soak, %s: %d replicas, %.0f mixed turns/s offered, %d customers, %v",
			time.Now().UTC().Format("2006-01-02 15:04 UTC"), len(c.replicas), cfg.Rate, cfg.Customers, cfg.Duration)
		if err := plotSoak(cfg.Plot, title, samples, len(c.replicas), cfg.Rate); err != nil {
			t.Errorf("plot: %v", err)
		}
		if err := writeSoakCSV(strings.TrimSuffix(cfg.Plot, filepath.Ext(cfg.Plot))+".csv", samples, len(c.replicas)); err != nil {
			t.Errorf("csv: %v", err)
		}
	}
	v, err := judgeSoak(samples, len(c.replicas), cfg.Rate)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range v.Lines {
		t.Logf("soak: %s", line)
	}
	for _, f := range v.Failures {
		t.Error(f)
	}
}
