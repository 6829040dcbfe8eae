package kb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// retryRefused is how long a refused generation is left alone before it is tried again
// (a Qdrant that was briefly unreachable; a damaged file is refused again).
const retryRefused = time.Minute

// Status is what a server reports about the knowledge base it answers from.
type Status struct {
	Backend     string    `json:"backend"`
	Generation  uint64    `json:"generation"`
	Stamp       string    `json:"stamp,omitempty"`
	Chunks      int       `json:"chunks"`
	Documents   int       `json:"documents"`
	CommittedAt time.Time `json:"committed_at,omitzero"`
	LoadedAt    time.Time `json:"loaded_at"`
	// LastError is the last failed check or refused generation since the last reload.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// Refused is the generation number that failed to load (0: none).
	Refused uint64 `json:"refused_generation,omitempty"`
}

// ReloaderOptions configure NewReloader.
type ReloaderOptions[T any] struct {
	Source  Source
	Backend string // reported in Status: "embedded" or "qdrant"
	// Build makes the component served from one opened generation (the retriever and
	// whatever answers with it). An error refuses the generation.
	Build      func(ctx context.Context, idx Index, g Generation) (T, error)
	Log        *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics
}

// Reloader serves the component built from the newest good generation of a knowledge
// base and swaps it when a new generation is committed: Current returns the component
// to use for one request, so requests in flight finish on the one they started with.
// A generation that fails to open or build is refused (logged, counted) and the current
// one keeps serving.
type Reloader[T any] struct {
	o   ReloaderOptions[T]
	m   *reloadMetrics
	cur atomic.Pointer[loaded[T]]

	mu          sync.Mutex // one check at a time; guards the fields below
	lastErr     string
	lastErrAt   time.Time
	refused     Generation
	refusedAt   time.Time
	refusedOnce bool
}

type loaded[T any] struct {
	value T
	gen   Generation
	at    time.Time
}

// NewReloader loads the committed generation (leniently: a starting server has nothing
// older to serve) and returns the reloader serving it.
func NewReloader[T any](ctx context.Context, o ReloaderOptions[T]) (*Reloader[T], error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader[T]{o: o, m: newReloadMetrics(o.Registerer)}
	start := time.Now()
	v, g, err := r.load(ctx, true)
	if err != nil {
		return nil, err
	}
	r.swap(v, g, start)
	return r, nil
}

// Current returns the component of the generation being served.
func (r *Reloader[T]) Current() T { return r.cur.Load().value }

// Status reports the generation being served and the last reload problem.
func (r *Reloader[T]) Status() Status {
	c := r.cur.Load()
	r.mu.Lock()
	defer r.mu.Unlock()
	st := Status{Backend: r.o.Backend, Generation: c.gen.N, Stamp: c.gen.Stamp, Chunks: c.gen.Chunks,
		Documents: c.gen.Documents, CommittedAt: c.gen.CommittedAt, LoadedAt: c.at,
		LastError: r.lastErr, LastErrorAt: r.lastErrAt}
	if r.refusedOnce {
		st.Refused = r.refused.N
	}
	return st
}

// Run checks for a new generation every interval and whenever wake delivers (a
// PostgreSQL NOTIFY kb_changed, an ingest in this process), until ctx ends.
func (r *Reloader[T]) Run(ctx context.Context, interval time.Duration, wake <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
		_ = r.Check(ctx)
	}
}

// Check reads the committed generation and, when it is not the one served, loads it and
// swaps it in. It returns why a new generation could not be served (nil when the
// current one is up to date or the new one now serves).
func (r *Reloader[T]) Check(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, err := r.o.Source.Generation(ctx)
	if err != nil {
		return r.failLocked(fmt.Errorf("kb: read the committed generation: %w", err), nil)
	}
	if g.Same(r.cur.Load().gen) {
		return nil
	}
	if r.refusedOnce && g.Same(r.refused) && time.Since(r.refusedAt) < retryRefused {
		return errors.New(r.lastErr)
	}
	start := time.Now()
	v, got, err := r.load(ctx, false)
	if err != nil {
		return r.failLocked(fmt.Errorf("kb: generation %d refused, generation %d keeps serving: %w", g.N, r.cur.Load().gen.N, err), &g)
	}
	r.swap(v, got, start)
	r.lastErr, r.lastErrAt, r.refusedOnce = "", time.Time{}, false
	return nil
}

func (r *Reloader[T]) load(ctx context.Context, lenient bool) (T, Generation, error) {
	var zero T
	idx, g, err := r.o.Source.Open(ctx, lenient)
	if err != nil {
		return zero, Generation{}, err
	}
	v, err := r.o.Build(ctx, idx, g)
	if err != nil {
		return zero, Generation{}, err
	}
	return v, g, nil
}

func (r *Reloader[T]) swap(v T, g Generation, start time.Time) {
	r.cur.Store(&loaded[T]{value: v, gen: g, at: time.Now().UTC()})
	r.m.loaded(g)
	r.o.Log.Info("knowledge base loaded", "backend", r.o.Backend, "generation", g.N, "chunks", g.Chunks,
		"documents", g.Documents, "took", time.Since(start).Round(time.Millisecond))
}

// failLocked records err; refused (may be nil) is the generation that failed to load.
// A problem is logged when it first appears, not on every poll.
func (r *Reloader[T]) failLocked(err error, refused *Generation) error {
	msg := err.Error()
	if refused != nil {
		r.refused, r.refusedAt, r.refusedOnce = *refused, time.Now(), true
		r.m.reloads.WithLabelValues("refused").Inc()
	}
	if msg != r.lastErr {
		r.o.Log.Error("knowledge base reload failed", "backend", r.o.Backend, "err", err)
	}
	r.lastErr, r.lastErrAt = msg, time.Now().UTC()
	return err
}

// reloadMetrics are the gauges of the served generation and the reload outcomes.
type reloadMetrics struct {
	generation, chunks, documents prometheus.Gauge
	reloads                       *prometheus.CounterVec
}

func newReloadMetrics(reg prometheus.Registerer) *reloadMetrics {
	m := &reloadMetrics{
		generation: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_kb_generation",
			Help: "Knowledge-base generation this server answers from."}),
		chunks: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_kb_chunks",
			Help: "Chunks in the knowledge-base generation being served."}),
		documents: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_kb_documents",
			Help: "Documents in the knowledge-base generation being served."}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_kb_reloads_total",
			Help: "Knowledge-base generations loaded (result=ok) or refused (result=refused)."}, []string{"result"}),
	}
	m.reloads.WithLabelValues("refused")
	if reg != nil {
		reg.MustRegister(m.generation, m.chunks, m.documents, m.reloads)
	}
	return m
}

func (m *reloadMetrics) loaded(g Generation) {
	m.generation.Set(float64(g.N))
	m.chunks.Set(float64(g.Chunks))
	m.documents.Set(float64(g.Documents))
	m.reloads.WithLabelValues("ok").Inc()
}
