//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/procfs"
)

// soakSample is one look at the cluster during the soak: per replica (in index order)
// what its process holds, and for the window since the previous sample what the
// customers got.
type soakSample struct {
	At         time.Duration // since the load started
	RSS        []float64     // MiB (/proc/PID/status VmRSS)
	Goroutines []float64     // go_goroutines from the replica's /metrics
	FDs        []float64     // open file descriptors (/proc/PID/fd)
	CPU        []float64     // % of one core over the window (/proc/PID/stat utime+stime)
	GenCPU     float64       // the same for this process: the load generator, stub model and sampler
	PGConns    float64       // backends connected to the cluster's database, the sampler's own excluded
	Turns      int           // turns acknowledged in the window
	Rate       float64       // of which per second
	P50, P99   float64       // their latency, ms (first attempt to acknowledgement)
	Load1      float64       // the machine's 1-minute load average
}

// soakLatencies collects the latencies of the turns acknowledged since the last take.
type soakLatencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *soakLatencies) observe(d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

func (s *soakLatencies) take() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.d
	s.d = make([]time.Duration, 0, len(out))
	return out
}

// quantileMS is the q-quantile (nearest rank) of ds in milliseconds; 0 when ds is empty.
// It sorts ds.
func quantileMS(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(q*float64(len(ds))+0.999999) - 1
	return float64(ds[min(max(i, 0), len(ds)-1)].Microseconds()) / 1000
}

// soakSampler reads the replicas' processes, their /metrics and PostgreSQL.
type soakSampler struct {
	c       *faultCluster
	lat     *soakLatencies
	conn    *pgx.Conn
	client  *http.Client
	fs      procfs.FS
	start   time.Time
	last    time.Time
	lastCPU []float64 // seconds of CPU per replica at the last sample
	genCPU  float64   // and of this process
}

// cpuOf is the CPU seconds process p has used (0 if it cannot be read).
func cpuOf(p procfs.Proc) float64 {
	st, err := p.Stat()
	if err != nil {
		return 0
	}
	return st.CPUTime()
}

func newSoakSampler(ctx context.Context, c *faultCluster, lat *soakLatencies) (*soakSampler, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, c.dsn)
	if err != nil {
		return nil, err
	}
	return &soakSampler{c: c, lat: lat, conn: conn, client: faultHTTPClient(5 * time.Second), fs: fs,
		lastCPU: make([]float64, len(c.replicas))}, nil
}

// begin marks the start of the load (and of the first window).
func (s *soakSampler) begin() {
	s.start, s.last = time.Now(), time.Now()
	for i := range s.c.replicas {
		if p, err := s.procOf(i); err == nil {
			s.lastCPU[i] = cpuOf(p)
		}
	}
	if p, err := s.fs.Self(); err == nil {
		s.genCPU = cpuOf(p)
	}
}

func (s *soakSampler) procOf(i int) (procfs.Proc, error) {
	r := s.c.replicas[i]
	r.mu.Lock()
	cmd := r.cmd
	r.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return procfs.Proc{}, fmt.Errorf("replica %d: not started", i)
	}
	return s.fs.Proc(cmd.Process.Pid)
}

// sample takes one sample; an error means a replica or PostgreSQL could not be read
// (a soak with replicas that went away has failed).
func (s *soakSampler) sample(ctx context.Context) (soakSample, error) {
	now := time.Now()
	window := now.Sub(s.last).Seconds()
	s.last = now
	lat := s.lat.take()
	n := len(s.c.replicas)
	out := soakSample{At: now.Sub(s.start), RSS: make([]float64, n), Goroutines: make([]float64, n),
		FDs: make([]float64, n), CPU: make([]float64, n), Turns: len(lat), Rate: float64(len(lat)) / window,
		P50: quantileMS(lat, 0.50), P99: quantileMS(lat, 0.99)}
	for i, r := range s.c.replicas {
		p, err := s.procOf(i)
		if err != nil {
			return out, err
		}
		st, err := p.NewStatus()
		if err != nil {
			return out, fmt.Errorf("replica %d: %w", i, err)
		}
		out.RSS[i] = float64(st.VmRSS) / (1 << 20)
		fds, err := p.FileDescriptorsLen()
		if err != nil {
			return out, fmt.Errorf("replica %d: %w", i, err)
		}
		out.FDs[i] = float64(fds)
		cpu := cpuOf(p)
		out.CPU[i] = 100 * (cpu - s.lastCPU[i]) / window
		s.lastCPU[i] = cpu
		if out.Goroutines[i], err = s.goroutines(ctx, r.base()); err != nil {
			return out, fmt.Errorf("replica %d: %w", i, err)
		}
	}
	err := s.conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&out.PGConns)
	if err != nil {
		return out, fmt.Errorf("pg_stat_activity: %w", err)
	}
	if p, err := s.fs.Self(); err == nil {
		cpu := cpuOf(p)
		out.GenCPU = 100 * (cpu - s.genCPU) / window
		s.genCPU = cpu
	}
	if la, err := s.fs.LoadAvg(); err == nil {
		out.Load1 = la.Load1
	}
	return out, nil
}

// goroutines reads go_goroutines from base/metrics.
func (s *soakSampler) goroutines(ctx context.Context, base string) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: %w", err)
	}
	f := families["go_goroutines"]
	if f == nil || len(f.GetMetric()) != 1 {
		return 0, fmt.Errorf("GET /metrics: no go_goroutines")
	}
	return f.GetMetric()[0].GetGauge().GetValue(), nil
}

// run samples every interval until ctx ends, and returns the samples. A sample that
// takes over two intervals is skipped (a machine so loaded it cannot read /metrics in
// time); one that fails otherwise (a replica gone) ends the sampling with its error.
func (s *soakSampler) run(ctx context.Context, interval time.Duration, logf func(string, ...any)) ([]soakSample, error) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var out []soakSample
	for {
		select {
		case <-ctx.Done():
			return out, nil
		case <-tick.C:
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*interval)
		sm, err := s.sample(sctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) { // a starved machine: the next one may do
			logf("soak %5.0fs: sample skipped: %v", time.Since(s.start).Seconds(), err)
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, sm)
		logf("soak %5.0fs: %.0f turns/s p50 %.0f ms p99 %.0f ms, RSS %.0f MiB, goroutines %.0f, fds %.0f, CPU %.0f %% (load generator %.0f %%), PG conns %.0f, load %.2f",
			sm.At.Seconds(), sm.Rate, sm.P50, sm.P99, sum(sm.RSS), sum(sm.Goroutines), sum(sm.FDs), sum(sm.CPU), sm.GenCPU, sm.PGConns, sm.Load1)
	}
}

func sum(xs []float64) float64 {
	var t float64
	for _, x := range xs {
		t += x
	}
	return t
}
