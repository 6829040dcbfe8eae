package tickets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// BenchOptions configure BenchRouting; zero fields take defaults.
type BenchOptions struct {
	Prefix      string // router key prefix; default "bench-<time>"
	Decisions   int    // Route calls measured; default 20000
	Concurrency int    // concurrent callers; default 4 (two per core of the reference machine)
	Agents      int    // default 50
	Groups      int    // default 5
}

// BenchResult reports routing latency against a raw EVALSHA of a trivial script
// measured on the same client, with the same concurrency and count, in the same run.
type BenchResult struct {
	Decisions     int     `json:"decisions"`
	Concurrency   int     `json:"concurrency"`
	OpsPerSec     float64 `json:"ops_per_sec"`
	P50Ms         float64 `json:"p50_ms"`
	P99Ms         float64 `json:"p99_ms"`
	BaselineP50Ms float64 `json:"baseline_p50_ms"`
	BaselineP99Ms float64 `json:"baseline_p99_ms"`
	RatioP99      float64 `json:"ratio_p99"`
}

// benchRounds interleaves baseline and routing so drift in the machine's load hits both.
const benchRounds = 4

// scriptBaseline is the trivial script of the baseline round trip.
var scriptBaseline = redis.NewScript(`return 1`)

// BenchRouting measures routing decisions (one Route call each) on a router of its
// own: Agents online agents in Groups groups (every other agent in two groups), each
// ticket offered 1–3 groups with varied VIP tier, skill match and deadline. Agents
// have capacity for every decision, so each call runs the full assignment path
// (scoring, picking the least-loaded agent, updating its load in all its groups)
// and none waits. The router's keys are deleted afterwards.
func BenchRouting(ctx context.Context, rdb redis.UniversalClient, opts BenchOptions) (BenchResult, error) {
	opts = opts.withDefaults()
	r := NewRedisRouter(rdb, RouterOptions{Prefix: opts.Prefix})
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = r.dropState(cctx)
	}()
	if err := r.Rebuild(ctx, benchSnapshot(opts)); err != nil {
		return BenchResult{}, err
	}
	keys := []string{r.epoch}
	baseOp := func(ctx context.Context, _ int) error { return scriptBaseline.Run(ctx, rdb, keys).Err() }
	routeOp := func(ctx context.Context, i int) error {
		res, err := r.Route(ctx, benchRequest(opts, i))
		if err == nil && !res.Assigned {
			err = fmt.Errorf("bench ticket %s waited", res.TicketID)
		}
		return err
	}
	// Warm up: load both scripts and open the pool's connections.
	warm := &benchSeries{}
	if err := warm.run(ctx, opts.Concurrency, 2*opts.Concurrency, -2*opts.Concurrency-1, routeOp); err != nil {
		return BenchResult{}, err
	}
	if err := warm.run(ctx, opts.Concurrency, 2*opts.Concurrency, 0, baseOp); err != nil {
		return BenchResult{}, err
	}
	base, route := &benchSeries{}, &benchSeries{}
	for round := range benchRounds {
		n := opts.Decisions / benchRounds
		if round == benchRounds-1 {
			n = opts.Decisions - n*(benchRounds-1)
		}
		if err := base.run(ctx, opts.Concurrency, n, 0, baseOp); err != nil {
			return BenchResult{}, fmt.Errorf("bench baseline: %w", err)
		}
		if err := route.run(ctx, opts.Concurrency, n, len(route.lat), routeOp); err != nil {
			return BenchResult{}, fmt.Errorf("bench routing: %w", err)
		}
	}
	res := BenchResult{Decisions: len(route.lat), Concurrency: opts.Concurrency,
		OpsPerSec: float64(len(route.lat)) / route.wall.Seconds(),
		P50Ms:     route.percentile(0.50), P99Ms: route.percentile(0.99),
		BaselineP50Ms: base.percentile(0.50), BaselineP99Ms: base.percentile(0.99)}
	if res.BaselineP99Ms > 0 {
		res.RatioP99 = res.P99Ms / res.BaselineP99Ms
	}
	return res, nil
}

func (o BenchOptions) withDefaults() BenchOptions {
	if o.Prefix == "" {
		o.Prefix = "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	if o.Decisions <= 0 {
		o.Decisions = 20000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Agents <= 0 {
		o.Agents = 50
	}
	if o.Groups <= 0 {
		o.Groups = 5
	}
	return o
}

func benchSnapshot(o BenchOptions) RouterSnapshot {
	var snap RouterSnapshot
	capacity := o.Decisions + 4*o.Concurrency + 1 // room for every decision and the warm-up
	for i := range o.Agents {
		groups := []string{"g" + strconv.Itoa(i%o.Groups)}
		if i%2 == 0 && o.Groups > 1 {
			groups = append(groups, "g"+strconv.Itoa((i+1)%o.Groups))
		}
		snap.Agents = append(snap.Agents, RouterAgent{ID: "a" + strconv.Itoa(i), Status: AgentOnline,
			Capacity: capacity, Groups: groups})
	}
	return snap
}

// benchRequest derives ticket i's request from a cheap hash of i.
func benchRequest(o BenchOptions, i int) RouteRequest {
	h := uint64(i+1) * 0x9E3779B97F4A7C15
	h ^= h >> 29
	n := 1 + int(h%3)
	now := time.Now()
	req := RouteRequest{TicketID: "b" + strconv.Itoa(i), VIPTier: int(h>>8) % 4, CreatedAt: now,
		Deadline: now.Add(time.Duration(h>>16%120) * time.Minute)}
	for k := range min(n, o.Groups) {
		g := (int(h>>24) + k) % o.Groups
		req.Groups = append(req.Groups, GroupCandidate{ID: "g" + strconv.Itoa(g), SkillMatch: float64((h>>(32+2*k))%5) / 4})
	}
	return req
}

// benchSeries accumulates the latencies of one kind of call over several rounds.
type benchSeries struct {
	lat  []time.Duration
	wall time.Duration
}

// run makes n calls of op (indices offset..offset+n-1) from conc goroutines.
func (s *benchSeries) run(ctx context.Context, conc, n, offset int, op func(context.Context, int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			lat := make([]time.Duration, 0, n/conc+1)
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					break
				}
				t0 := time.Now()
				err := op(ctx, offset+i)
				lat = append(lat, time.Since(t0))
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					break
				}
			}
			mu.Lock()
			s.lat = append(s.lat, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	s.wall += time.Since(start)
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// percentile returns the q-quantile latency in milliseconds (nearest rank).
func (s *benchSeries) percentile(q float64) float64 {
	if len(s.lat) == 0 {
		return 0
	}
	sorted := slices.Clone(s.lat)
	slices.Sort(sorted)
	idx := int(q*float64(len(sorted))+0.5) - 1
	idx = min(max(idx, 0), len(sorted)-1)
	return float64(sorted[idx]) / float64(time.Millisecond)
}
