package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/models/ort"
)

// InferFunc runs a model on inputs keyed by input name.
type InferFunc func(ctx context.Context, in map[string]ort.Tensor) (map[string]ort.Tensor, error)

// EvalResult is what an Evaluator measured on a version's evaluation set.
type EvalResult struct {
	N        int     `json:"n"`
	Accuracy float64 `json:"accuracy"`
	P99Ms    float64 `json:"p99_ms"`
}

// Evaluator runs a task's evaluation set (Manifest.Eval.Set) through infer. The stage
// owning the task supplies it (vision for image-classification).
type Evaluator interface {
	Evaluate(ctx context.Context, m *Manifest, infer InferFunc) (EvalResult, error)
}

// Options configure a Registry.
type Options struct {
	Dir        string // the model repository
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Session    ort.Options
	// Evaluators by task; a version with an eval set whose task has none is refused.
	Evaluators map[string]Evaluator
	// Concurrency is the default per-version limit on concurrent session runs (default
	// GOMAXPROCS); a manifest's max_concurrency overrides it.
	Concurrency int
}

// Result is an inference answer and the version that gave it.
type Result struct {
	Outputs map[string]ort.Tensor
	Model   string
	Version string
	Labels  []string // the version's labels file, when it has one
}

// Registry serves the models of a repository. Infer is safe for concurrent use and never
// waits for a swap; the other operations are serialized.
type Registry struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics

	opMu   sync.Mutex // serializes loads and routing changes
	models atomic.Pointer[map[string]*model]
	bad    map[string]string // "name/version@mtime" → why it was refused
	wg     sync.WaitGroup    // background drains and shadow runs
}

// model is one named model: its routing snapshot, swapped atomically.
type model struct {
	name     string
	route    atomic.Pointer[routing]
	state    State
	stateRaw []byte // state.json as last written or applied (a file's mtime ticks too coarsely to tell two quick writes apart)
	shadowQ  chan struct{}
	// shadow comparisons since the shadow version was last set
	shadowRuns, shadowAgree atomic.Int64
}

// routing is what requests read: immutable once published.
type routing struct {
	active, canary, shadow *version
	canaryPercent          int
}

// Open scans the repository and serves every model per its saved state (policy latest
// when there is none). A model none of whose versions validates is listed but serves
// nothing. Open needs ONNX Runtime only when the repository holds models.
func Open(ctx context.Context, opts Options) (*Registry, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = runtime.GOMAXPROCS(0)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("models: repository %s: %w", opts.Dir, err)
	}
	r := &Registry{opts: opts, log: opts.Logger, metrics: newMetrics(opts.Registerer), bad: map[string]string{}}
	empty := map[string]*model{}
	r.models.Store(&empty)
	if err := r.Refresh(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Close drains and closes every version.
func (r *Registry) Close() {
	r.opMu.Lock()
	defer r.opMu.Unlock()
	for _, m := range *r.models.Load() {
		rt := m.route.Swap(&routing{})
		for _, v := range rt.versions() {
			v.drainAndClose()
		}
	}
	r.wg.Wait()
}

func (rt *routing) versions() []*version {
	var out []*version
	for _, v := range []*version{rt.active, rt.canary, rt.shadow} {
		if v != nil && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// Infer runs the named model: the canary for its share of requests, else the active
// version; a shadow version, when set, also runs in the background and is compared.
func (r *Registry) Infer(ctx context.Context, name string, in map[string]ort.Tensor) (Result, error) {
	l, err := r.Acquire(name)
	if err != nil {
		return Result{}, err
	}
	defer l.Release()
	return l.Infer(ctx, in)
}

// Lease holds one version of a model for one request, so that a caller can prepare its
// inputs from that version's manifest (preprocessing differs between versions) and be
// sure the same version runs them, whatever swaps happen meanwhile.
type Lease struct {
	r      *Registry
	m      *model
	v      *version
	role   string
	shadow *version
}

// Acquire picks the version that serves the next request of the named model (the canary
// for its share, else the active one). Release must follow.
func (r *Registry) Acquire(name string) (*Lease, error) {
	m := (*r.models.Load())[name]
	if m == nil {
		return nil, fmt.Errorf("%w: model %q", ErrNotFound, name)
	}
	for {
		rt := m.route.Load()
		if rt.active == nil {
			return nil, fmt.Errorf("%w: model %q", ErrUnavailable, name)
		}
		v, role := rt.active, "active"
		if rt.canary != nil && rand.IntN(100) < rt.canaryPercent {
			v, role = rt.canary, "canary"
		}
		if v.acquire() {
			return &Lease{r: r, m: m, v: v, role: role, shadow: rt.shadow}, nil
		}
		// swapped out between the load and the acquire: read the new routing
	}
}

// Manifest is the leased version's manifest.
func (l *Lease) Manifest() *Manifest { return l.v.m }

// Release gives the version back; a draining version closes after its last release.
func (l *Lease) Release() {
	if l.v != nil {
		l.v.release()
		l.v = nil
	}
}

// Infer runs the leased version (and the shadow, in the background).
func (l *Lease) Infer(ctx context.Context, in map[string]ort.Tensor) (Result, error) {
	v := l.v
	if v == nil {
		return Result{}, fmt.Errorf("%w: lease already released", ErrUnavailable)
	}
	out, err := v.infer(ctx, in)
	l.r.metrics.requests.WithLabelValues(l.m.name, v.m.Version, l.role).Inc()
	if err != nil {
		return Result{Model: l.m.name, Version: v.m.Version}, err
	}
	if l.shadow != nil && l.shadow != v {
		l.r.runShadow(l.m, l.shadow, in, out)
	}
	return Result{Outputs: out, Model: l.m.name, Version: v.m.Version, Labels: v.labels()}, nil
}

// runShadow runs s on a copy of the inputs in the background (at most two at a time per
// model; more are skipped rather than queued) and counts top-1 agreement.
func (r *Registry) runShadow(m *model, s *version, in, answer map[string]ort.Tensor) {
	select {
	case m.shadowQ <- struct{}{}:
	default:
		return
	}
	if !s.acquire() {
		<-m.shadowQ
		return
	}
	cp := make(map[string]ort.Tensor, len(in))
	for k, t := range in {
		cp[k] = ort.Tensor{Shape: t.Shape, Float32: slices.Clone(t.Float32), Int64: slices.Clone(t.Int64)}
	}
	first := s.m.Outputs[0].Name
	want := argmax(answer[first].Float32)
	r.wg.Go(func() {
		defer func() { <-m.shadowQ }()
		defer s.release()
		out, err := s.infer(context.Background(), cp)
		if err != nil {
			return
		}
		agree := argmax(out[first].Float32) == want
		r.metrics.shadow.WithLabelValues(m.name, s.m.Version, strconv.FormatBool(agree)).Inc()
		m.shadowRuns.Add(1)
		if agree {
			m.shadowAgree.Add(1)
		}
	})
}

func argmax(v []float32) int {
	best := -1
	for i, x := range v {
		if best < 0 || x > v[best] {
			best = i
		}
	}
	return best
}

// labels reads the version's labels file once.
func (v *version) labels() []string {
	v.labelsOnce.Do(func() {
		if v.m.Labels == "" {
			return
		}
		data, err := v.m.ReadFile(v.m.Labels, MaxLabelsFile)
		if err != nil {
			return
		}
		v.labelList = splitLines(string(data))
	})
	return v.labelList
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '\n' {
			line := strings.TrimRight(s[start:i], "\r")
			if i < len(s) || line != "" {
				out = append(out, line)
			}
			start = i + 1
		}
	}
	return out
}

// Manifest returns the manifest of the named model's active version.
func (r *Registry) Manifest(name string) (*Manifest, error) {
	m := (*r.models.Load())[name]
	if m == nil {
		return nil, fmt.Errorf("%w: model %q", ErrNotFound, name)
	}
	rt := m.route.Load()
	if rt.active == nil {
		return nil, fmt.Errorf("%w: model %q", ErrUnavailable, name)
	}
	return rt.active.m, nil
}

// versionsOnDisk lists a model's version folders that hold a manifest, ascending.
func (r *Registry) versionsOnDisk(name string) []string {
	entries, _ := os.ReadDir(filepath.Join(r.opts.Dir, name))
	var out []string
	for _, e := range entries {
		if e.IsDir() && ValidVersion(e.Name()) {
			if _, err := os.Stat(filepath.Join(r.opts.Dir, name, e.Name(), ManifestFile)); err == nil {
				out = append(out, e.Name())
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { a, _ := strconv.Atoi(out[i]); b, _ := strconv.Atoi(out[j]); return a < b })
	return out
}

// load reads and validates one version (manifest, model, smoke run, eval set).
func (r *Registry) load(ctx context.Context, name, ver string) (*version, error) {
	if !ValidName(name) || !ValidVersion(ver) {
		return nil, fmt.Errorf("%w: model %q version %q", ErrNotFound, name, ver)
	}
	dir := filepath.Join(r.opts.Dir, name, ver)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("%w: %s/%s", ErrNotFound, name, ver)
	}
	man, err := ReadManifest(dir)
	if err != nil {
		r.metrics.loads.WithLabelValues(name, "invalid").Inc()
		return nil, err
	}
	v, err := openVersion(ctx, man, r.opts.Session, r.opts.Concurrency, r.metrics)
	if err == nil {
		err = r.evaluate(ctx, v)
		if err != nil {
			v.close()
		}
	}
	if err != nil {
		r.metrics.loads.WithLabelValues(name, "invalid").Inc()
		return nil, err
	}
	r.metrics.loads.WithLabelValues(name, "ok").Inc()
	return v, nil
}

func (r *Registry) evaluate(ctx context.Context, v *version) error {
	spec := v.m.Eval
	if spec == nil {
		return nil
	}
	ev := r.opts.Evaluators[v.m.Task]
	if ev == nil {
		return fmt.Errorf("%w: %s/%s has an eval set but no evaluator knows task %q", ErrInvalid, v.m.Name, v.m.Version, v.m.Task)
	}
	res, err := ev.Evaluate(ctx, v.m, v.infer)
	if err != nil {
		return fmt.Errorf("%w: %s/%s: evaluation: %v", ErrInvalid, v.m.Name, v.m.Version, err)
	}
	v.eval = &res
	if res.Accuracy < spec.MinAccuracy {
		return fmt.Errorf("%w: %s/%s: accuracy %.3f on %d eval items is below %.3f", ErrInvalid, v.m.Name, v.m.Version, res.Accuracy, res.N, spec.MinAccuracy)
	}
	if spec.MaxP99Ms > 0 && res.P99Ms > spec.MaxP99Ms {
		return fmt.Errorf("%w: %s/%s: p99 %.1f ms on the eval set is above %.1f ms", ErrInvalid, v.m.Name, v.m.Version, res.P99Ms, spec.MaxP99Ms)
	}
	return nil
}

// Validate loads and validates a version without serving it.
func (r *Registry) Validate(ctx context.Context, name, ver string) (*EvalResult, error) {
	v, err := r.load(ctx, name, ver)
	if err != nil {
		return nil, err
	}
	defer v.close()
	return v.eval, nil
}

// publish swaps in a new routing for m, updates the info gauge, and drains the versions
// the new routing no longer uses.
func (r *Registry) publish(m *model, next *routing) {
	old := m.route.Swap(next)
	for _, v := range old.versions() {
		r.metrics.info.DeleteLabelValues(m.name, v.m.Version, "active")
		r.metrics.info.DeleteLabelValues(m.name, v.m.Version, "canary")
		r.metrics.info.DeleteLabelValues(m.name, v.m.Version, "shadow")
	}
	for role, v := range map[string]*version{"active": next.active, "canary": next.canary, "shadow": next.shadow} {
		if v != nil {
			r.metrics.info.WithLabelValues(m.name, v.m.Version, role).Set(1)
			r.metrics.serving(m.name, v.m.Version, role == "shadow")
		}
	}
	keep := next.versions()
	for _, v := range old.versions() {
		if !slices.Contains(keep, v) {
			r.wg.Go(v.drainAndClose)
		}
	}
}

// loaded returns the routing's version ver, or loads it.
func (r *Registry) loaded(ctx context.Context, m *model, ver string) (*version, error) {
	for _, v := range m.route.Load().versions() {
		if v.m.Version == ver {
			return v, nil
		}
	}
	return r.load(ctx, m.name, ver)
}

// modelFor returns the named model, adding it (serving nothing yet) when it is new.
func (r *Registry) modelFor(name string) *model {
	cur := *r.models.Load()
	if m := cur[name]; m != nil {
		return m
	}
	m := &model{name: name, shadowQ: make(chan struct{}, 2), state: State{Policy: PolicyLatest}}
	m.route.Store(&routing{})
	r.metrics.known(name)
	next := maps.Clone(cur)
	next[name] = m
	r.models.Store(&next)
	return m
}

// errIs reports whether err wraps any of targets.
func errIs(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
