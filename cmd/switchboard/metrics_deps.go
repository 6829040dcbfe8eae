package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/tickets"

	"github.com/switchboard-cs/switchboard/gateway"
)

// dependencyProbe pings the required dependencies (PostgreSQL, Redis) every interval and
// exports switchboard_dependency_up{dependency}: 1 while one answers, 0 while it does
// not. Unlike /readyz it needs nobody to ask, so the unreachable alerts work wherever
// Prometheus scrapes.
type dependencyProbe struct {
	up     *prometheus.GaugeVec
	checks []gateway.Checker
}

// newDependencyProbe registers the gauge on reg; every check starts at 0 until probed.
func newDependencyProbe(reg prometheus.Registerer, checks ...gateway.Checker) *dependencyProbe {
	p := &dependencyProbe{checks: checks, up: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchboard_dependency_up",
		Help: "1 while a required dependency (postgres, redis) answers a ping, 0 while it does not."}, []string{"dependency"})}
	reg.MustRegister(p.up)
	for _, c := range checks {
		p.up.WithLabelValues(c.Name).Set(0)
	}
	return p
}

// probe pings each dependency once, each bounded by timeout.
func (p *dependencyProbe) probe(ctx context.Context, timeout time.Duration) {
	for _, c := range p.checks {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		up := 0.0
		if c.Check(cctx) == nil {
			up = 1
		}
		cancel()
		p.up.WithLabelValues(c.Name).Set(up)
	}
}

// run probes every interval until ctx ends.
func (p *dependencyProbe) run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		p.probe(ctx, min(interval, 2*time.Second))
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// poolCollector exports the statistics of the PostgreSQL connection pools (pgxpool.Stat)
// at scrape time, labelled by pool (primary, replica).
type poolCollector struct {
	pools map[string]*pgxpool.Pool
}

var (
	descPoolConns = prometheus.NewDesc("switchboard_pg_pool_connections",
		"Connections of a PostgreSQL pool by state: acquired (in use), idle, constructing.", []string{"pool", "state"}, nil)
	descPoolMax = prometheus.NewDesc("switchboard_pg_pool_max_connections",
		"Most connections a PostgreSQL pool opens (postgres.max_conns).", []string{"pool"}, nil)
	descPoolAcquires = prometheus.NewDesc("switchboard_pg_pool_acquires_total",
		"Connections acquired from a PostgreSQL pool.", []string{"pool"}, nil)
	descPoolEmptyAcquires = prometheus.NewDesc("switchboard_pg_pool_empty_acquires_total",
		"Acquires that waited because the pool had no idle connection.", []string{"pool"}, nil)
	descPoolCanceled = prometheus.NewDesc("switchboard_pg_pool_canceled_acquires_total",
		"Acquires cancelled (by their context) while waiting for a connection.", []string{"pool"}, nil)
	descPoolWait = prometheus.NewDesc("switchboard_pg_pool_acquire_wait_seconds_total",
		"Time spent waiting for a connection from a PostgreSQL pool.", []string{"pool"}, nil)
)

// newPoolCollector collects the pools that are not nil, by name.
func newPoolCollector(pools map[string]*pgxpool.Pool) *poolCollector {
	c := &poolCollector{pools: map[string]*pgxpool.Pool{}}
	for name, p := range pools {
		if p != nil {
			c.pools[name] = p
		}
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPoolConns, descPoolMax, descPoolAcquires, descPoolEmptyAcquires, descPoolCanceled, descPoolWait} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for name, p := range c.pools {
		s := p.Stat()
		gauge := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{name}, labels...)...)
		}
		counter := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, name)
		}
		gauge(descPoolConns, float64(s.AcquiredConns()), "acquired")
		gauge(descPoolConns, float64(s.IdleConns()), "idle")
		gauge(descPoolConns, float64(s.ConstructingConns()), "constructing")
		gauge(descPoolMax, float64(s.MaxConns()))
		counter(descPoolAcquires, float64(s.AcquireCount()))
		counter(descPoolEmptyAcquires, float64(s.EmptyAcquireCount()))
		counter(descPoolCanceled, float64(s.CanceledAcquireCount()))
		counter(descPoolWait, s.AcquireDuration().Seconds())
	}
}

// replicaReadStats is what the store tells of its reads that may use the read replica.
type replicaReadStats interface{ ReplicaStats() tickets.ReplicaStats }

// registerReplicaReads exports where the reads that may use the read replica went:
// switchboard_postgres_replica_reads_total{target="replica"}, and {target="primary",
// reason="fresh|lagging|down|fallback"} for those sent to the primary (the reader had
// just written, the replica lags too far, was down, or failed the read).
func registerReplicaReads(reg prometheus.Registerer, s replicaReadStats) {
	const name, help = "switchboard_postgres_replica_reads_total", "Reads that may use the read replica, by where they went and why."
	for _, c := range []struct {
		target, reason string
		get            func(tickets.ReplicaStats) int64
	}{
		{"replica", "", func(r tickets.ReplicaStats) int64 { return r.Replica }},
		{"primary", "fresh", func(r tickets.ReplicaStats) int64 { return r.Fresh }},
		{"primary", "lagging", func(r tickets.ReplicaStats) int64 { return r.Lagging }},
		{"primary", "down", func(r tickets.ReplicaStats) int64 { return r.Down }},
		{"primary", "fallback", func(r tickets.ReplicaStats) int64 { return r.Fallback }},
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help,
			ConstLabels: prometheus.Labels{"target": c.target, "reason": c.reason}},
			func() float64 { return float64(c.get(s.ReplicaStats())) }))
	}
}
