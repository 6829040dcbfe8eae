package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/tickets"
)

// TestDependencyProbeExportsUpAndDown: each required dependency reads 0 until probed,
// then 1 while its check passes and 0 while it fails (or hangs past the timeout).
func TestDependencyProbeExportsUpAndDown(t *testing.T) {
	var redisErr error
	reg := prometheus.NewRegistry()
	p := newDependencyProbe(reg,
		gateway.Checker{Name: "postgres", Check: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		gateway.Checker{Name: "redis", Check: func(context.Context) error { return redisErr }})
	want := func(pg, redis int) string {
		return "# HELP switchboard_dependency_up 1 while a required dependency (postgres, redis) answers a ping, 0 while it does not.\n" +
			"# TYPE switchboard_dependency_up gauge\n" +
			"switchboard_dependency_up{dependency=\"postgres\"} " + string(rune('0'+pg)) + "\n" +
			"switchboard_dependency_up{dependency=\"redis\"} " + string(rune('0'+redis)) + "\n"
	}
	for _, step := range []struct {
		name      string
		probe     bool
		redisErr  error
		pg, redis int
	}{
		{"before any probe", false, nil, 0, 0},
		{"redis answers, postgres hangs", true, nil, 0, 1},
		{"redis refuses", true, errors.New("connection refused"), 0, 0},
		{"redis back", true, nil, 0, 1},
	} {
		redisErr = step.redisErr
		if step.probe {
			p.probe(context.Background(), 20*time.Millisecond)
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want(step.pg, step.redis)), "switchboard_dependency_up"); err != nil {
			t.Errorf("%s: %v", step.name, err)
		}
	}
}

// TestPoolCollectorReportsPgxpoolStats: the collector exports a real pool's connections
// and acquire counters, labelled by pool; a nil pool (no replica) is left out.
func TestPoolCollectorReportsPgxpoolStats(t *testing.T) {
	pool := testenv.Pool(t, testenv.PG(t))
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newPoolCollector(map[string]*pgxpool.Pool{"primary": pool, "replica": nil}))
	got := func(name, state string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["pool"] == "replica" {
					t.Errorf("%s has a series for the nil replica pool", name)
				}
				if labels["pool"] == "primary" && labels["state"] == state {
					return m.GetGauge().GetValue() + m.GetCounter().GetValue()
				}
			}
		}
		t.Fatalf("no %s{pool=primary,state=%q}", name, state)
		return 0
	}
	if n := got("switchboard_pg_pool_connections", "acquired"); n != 1 {
		t.Errorf("acquired connections %v with one held, want 1", n)
	}
	if n := got("switchboard_pg_pool_acquires_total", ""); n < 1 {
		t.Errorf("acquires %v, want ≥ 1", n)
	}
	if n, want := got("switchboard_pg_pool_max_connections", ""), float64(pool.Config().MaxConns); n != want {
		t.Errorf("max connections %v, want %v", n, want)
	}
	conn.Release()
	if n := got("switchboard_pg_pool_connections", "idle"); n != 1 {
		t.Errorf("idle connections %v after the release, want 1", n)
	}
}

type fixedReplicaStats tickets.ReplicaStats

func (f fixedReplicaStats) ReplicaStats() tickets.ReplicaStats { return tickets.ReplicaStats(f) }

// TestReplicaReadsExported: the store's counts of reads that may use the replica are
// exported by target and, for the primary, the reason.
func TestReplicaReadsExported(t *testing.T) {
	reg := prometheus.NewRegistry()
	registerReplicaReads(reg, fixedReplicaStats{Replica: 7, Fresh: 3, Lagging: 0, Down: 2, Fallback: 1})
	want := `# HELP switchboard_postgres_replica_reads_total Reads that may use the read replica, by where they went and why.
# TYPE switchboard_postgres_replica_reads_total counter
switchboard_postgres_replica_reads_total{reason="",target="replica"} 7
switchboard_postgres_replica_reads_total{reason="down",target="primary"} 2
switchboard_postgres_replica_reads_total{reason="fallback",target="primary"} 1
switchboard_postgres_replica_reads_total{reason="fresh",target="primary"} 3
switchboard_postgres_replica_reads_total{reason="lagging",target="primary"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
