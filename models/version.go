package models

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-cs/switchboard/models/ort"
)

// version is one loaded model version: its session, concurrency limit, optional batcher
// and the count of requests in flight (for draining).
type version struct {
	m       *Manifest
	sess    *ort.Session
	sem     chan struct{}
	batch   *batcher
	metrics *metrics

	eval       *EvalResult
	labelsOnce sync.Once
	labelList  []string

	mu       sync.Mutex
	inflight int
	closing  bool
	drained  chan struct{}
	closed   chan struct{}
}

// openVersion loads m's model and checks it against the manifest with a smoke inference.
func openVersion(ctx context.Context, m *Manifest, so ort.Options, defConcurrency int, mx *metrics) (*version, error) {
	data, err := m.ReadFile(ModelFile, MaxModelFile)
	if err != nil {
		return nil, err
	}
	sess, err := ort.OpenData(data, filepath.Join(m.Dir, ModelFile), so)
	if err != nil {
		return nil, fmt.Errorf("%w: %s/%s: %v", ErrInvalid, m.Name, m.Version, err)
	}
	if err := checkIO(m, sess); err != nil {
		sess.Close()
		return nil, err
	}
	n := m.MaxConcurrency
	if n <= 0 {
		n = defConcurrency
	}
	v := &version{m: m, sess: sess, sem: make(chan struct{}, n), metrics: mx,
		drained: make(chan struct{}), closed: make(chan struct{})}
	if m.Batching.MaxBatch > 1 && m.batchable() {
		v.batch = newBatcher(v, m.Batching.MaxBatch, m.Batching.MaxDelay, n)
	}
	if err := v.smoke(ctx); err != nil {
		v.close()
		return nil, err
	}
	return v, nil
}

// checkIO compares the manifest's inputs and outputs with the model's.
func checkIO(m *Manifest, s *ort.Session) error {
	cmpSpecs := func(kind string, want []TensorSpec, got []ort.IOInfo) error {
		if len(want) != len(got) {
			return fmt.Errorf("%w: %s/%s: manifest lists %d %s, the model has %d", ErrInvalid, m.Name, m.Version, len(want), kind, len(got))
		}
		byName := map[string]ort.IOInfo{}
		for _, g := range got {
			byName[g.Name] = g
		}
		for _, w := range want {
			g, ok := byName[w.Name]
			if !ok {
				return fmt.Errorf("%w: %s/%s: the model has no %s %q", ErrInvalid, m.Name, m.Version, kind, w.Name)
			}
			if g.Type != w.Type {
				return fmt.Errorf("%w: %s/%s: %s %q is %s in the model, %s in the manifest", ErrInvalid, m.Name, m.Version, kind, w.Name, g.Type, w.Type)
			}
			if !shapeFits(w.Shape, g.Shape) {
				return fmt.Errorf("%w: %s/%s: %s %q has shape %v in the model, %v in the manifest", ErrInvalid, m.Name, m.Version, kind, w.Name, g.Shape, w.Shape)
			}
		}
		return nil
	}
	if err := cmpSpecs("inputs", m.Inputs, s.Inputs()); err != nil {
		return err
	}
	return cmpSpecs("outputs", m.Outputs, s.Outputs())
}

// shapeFits: same rank, and every dimension equal or dynamic (-1) in both.
func shapeFits(manifest, model []int64) bool {
	if len(manifest) != len(model) {
		return false
	}
	for i := range manifest {
		if manifest[i] != model[i] && !(manifest[i] < 0 && model[i] < 0) {
			return false
		}
	}
	return true
}

// smoke runs zero inputs (dynamic axes 1) and checks the outputs' shapes.
func (v *version) smoke(ctx context.Context) error {
	in := map[string]ort.Tensor{}
	for _, s := range v.m.Inputs {
		shape := make([]int64, len(s.Shape))
		n := int64(1)
		for i, d := range s.Shape {
			shape[i] = max(d, 1)
			n *= shape[i]
		}
		t := ort.Tensor{Shape: shape}
		switch s.Type {
		case "float32":
			t.Float32 = make([]float32, n)
		case "int64":
			t.Int64 = make([]int64, n)
		default:
			return fmt.Errorf("%w: %s/%s: input %q of type %s cannot be fed", ErrInvalid, v.m.Name, v.m.Version, s.Name, s.Type)
		}
		in[s.Name] = t
	}
	out, err := v.sess.Run(ctx, in)
	if err != nil {
		return fmt.Errorf("%w: %s/%s: smoke inference: %v", ErrInvalid, v.m.Name, v.m.Version, err)
	}
	for _, s := range v.m.Outputs {
		got := out[s.Name].Shape
		want := slices.Clone(s.Shape)
		for i := range want {
			if want[i] < 0 && i < len(got) {
				want[i] = got[i]
			}
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("%w: %s/%s: smoke inference: output %q has shape %v, manifest %v", ErrInvalid, v.m.Name, v.m.Version, s.Name, got, s.Shape)
		}
	}
	return nil
}

// acquire counts a request in; false once the version is draining.
func (v *version) acquire() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closing {
		return false
	}
	v.inflight++
	return true
}

func (v *version) release() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.inflight--
	if v.closing && v.inflight == 0 {
		close(v.drained)
	}
}

// drainAndClose stops new requests, waits for those in flight, then closes the session.
func (v *version) drainAndClose() {
	v.mu.Lock()
	if v.closing {
		v.mu.Unlock()
		<-v.closed
		return
	}
	v.closing = true
	if v.inflight == 0 {
		close(v.drained)
	}
	v.mu.Unlock()
	<-v.drained
	v.close()
}

func (v *version) close() {
	if v.batch != nil {
		v.batch.stop()
	}
	v.sess.Close()
	select {
	case <-v.closed:
	default:
		close(v.closed)
	}
}

// checkInputs validates a request's inputs against the manifest and returns its rows
// (the size of the first axis).
func (v *version) checkInputs(in map[string]ort.Tensor) (int64, error) {
	if len(in) != len(v.m.Inputs) {
		return 0, fmt.Errorf("%w: %s takes %d inputs, got %d", ErrBadInput, v.m.Name, len(v.m.Inputs), len(in))
	}
	rows := int64(-1)
	for _, s := range v.m.Inputs {
		t, ok := in[s.Name]
		if !ok {
			return 0, fmt.Errorf("%w: %s: missing input %q", ErrBadInput, v.m.Name, s.Name)
		}
		if !shapeAccepts(s.Shape, t.Shape) {
			return 0, fmt.Errorf("%w: %s: input %q has shape %v, want %v", ErrBadInput, v.m.Name, s.Name, t.Shape, s.Shape)
		}
		n := int64(1)
		for _, d := range t.Shape {
			n *= d
		}
		if (s.Type == "float32" && int64(len(t.Float32)) != n) || (s.Type == "int64" && int64(len(t.Int64)) != n) {
			return 0, fmt.Errorf("%w: %s: input %q: %d values for shape %v", ErrBadInput, v.m.Name, s.Name, max(len(t.Float32), len(t.Int64)), t.Shape)
		}
		if rows >= 0 && t.Shape[0] != rows {
			return 0, fmt.Errorf("%w: %s: inputs disagree on the batch size", ErrBadInput, v.m.Name)
		}
		rows = t.Shape[0]
	}
	return rows, nil
}

func shapeAccepts(spec, got []int64) bool {
	if len(spec) != len(got) {
		return false
	}
	for i := range spec {
		if got[i] < 1 || (spec[i] >= 0 && spec[i] != got[i]) {
			return false
		}
	}
	return true
}

// infer runs one request, through the batcher when there is one.
func (v *version) infer(ctx context.Context, in map[string]ort.Tensor) (map[string]ort.Tensor, error) {
	rows, err := v.checkInputs(in)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var out map[string]ort.Tensor
	if v.batch != nil {
		out, err = v.batch.submit(ctx, in, rows)
	} else {
		out, err = v.run(ctx, in, int(rows))
	}
	v.metrics.observe(v.m, time.Since(start), err)
	return out, err
}

// run takes a concurrency slot and runs the session.
func (v *version) run(ctx context.Context, in map[string]ort.Tensor, rows int) (map[string]ort.Tensor, error) {
	select {
	case v.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-v.sem }()
	v.metrics.batch(v.m, rows)
	return v.sess.Run(ctx, in)
}
