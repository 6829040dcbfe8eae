package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/models/onnxtest"
	"github.com/switchboard-cs/switchboard/models/ort"
)

const width = 4

// bias of version v: v in every slot, so output − input names the version.
func bias(v int) []float32 {
	b := make([]float32, width)
	for i := range b {
		b[i] = float32(v)
	}
	return b
}

const manifest = `task: offset
inputs:
  - {name: input, type: float32, shape: [-1, 4]}
outputs:
  - {name: output, type: float32, shape: [-1, 4]}
labels: labels.txt
%s`

// writeVersion writes version v of model "offset" into repo; extra is appended to the
// manifest (batching, eval …).
func writeVersion(t *testing.T, repo string, v int, extra string) {
	t.Helper()
	dir := filepath.Join(repo, "offset", strconv.Itoa(v))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, models.ModelFile), onnxtest.Offset(width, bias(v), -1), 0o644)
	os.WriteFile(filepath.Join(dir, "labels.txt"), []byte("a\nb\nc\nd\n"), 0o644)
	os.WriteFile(filepath.Join(dir, models.ManifestFile), fmt.Appendf(nil, manifest, extra), 0o644)
}

func openRegistry(t *testing.T, repo string, reg prometheus.Registerer) *models.Registry {
	t.Helper()
	onnxtest.ORT(t)
	r, err := models.Open(context.Background(), models.Options{Dir: repo, Registerer: reg,
		Evaluators: map[string]models.Evaluator{"offset": fixedEval{0.95}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

type fixedEval struct{ acc float64 }

func (f fixedEval) Evaluate(ctx context.Context, m *models.Manifest, infer models.InferFunc) (models.EvalResult, error) {
	if _, err := infer(ctx, input(1)); err != nil {
		return models.EvalResult{}, err
	}
	return models.EvalResult{N: 1, Accuracy: f.acc}, nil
}

func input(x float32) map[string]ort.Tensor {
	return map[string]ort.Tensor{"input": {Shape: []int64{1, width}, Float32: []float32{x, x + 1, x + 2, x + 3}}}
}

// check runs one inference and verifies the answer came from the version it names.
func check(ctx context.Context, r *models.Registry, x float32) (string, error) {
	res, err := r.Infer(ctx, "offset", input(x))
	if err != nil {
		return "", err
	}
	v, _ := strconv.Atoi(res.Version)
	got := res.Outputs["output"].Float32
	for i := range width {
		if want := x + float32(i) + float32(v); got[i] != want {
			return res.Version, fmt.Errorf("version %s answered %v for input %v", res.Version, got, x)
		}
	}
	return res.Version, nil
}

func TestLatestPinnedRollbackAndRestart(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	writeVersion(t, repo, 1, "")
	writeVersion(t, repo, 2, "")
	// version 3 lies about its output shape: refused, 2 keeps serving
	writeVersion(t, repo, 3, "")
	os.WriteFile(filepath.Join(repo, "offset", "3", models.ManifestFile),
		[]byte("task: offset\ninputs:\n  - {name: input, type: float32, shape: [-1, 4]}\noutputs:\n  - {name: output, type: float32, shape: [-1, 5]}\n"), 0o644)
	reg := prometheus.NewRegistry()
	r := openRegistry(t, repo, reg)
	if v, err := check(ctx, r, 1); err != nil || v != "2" {
		t.Fatalf("latest: version %s, %v; want 2", v, err)
	}
	swaps := func(ok, failed int) string {
		return fmt.Sprintf(`# HELP switchboard_model_swaps_total Routing changes by result: ok (swapped in), failed (a version it names did not load; the previous routing keeps serving).
# TYPE switchboard_model_swaps_total counter
switchboard_model_swaps_total{model="offset",result="failed"} %d
switchboard_model_swaps_total{model="offset",result="ok"} %d
`, failed, ok)
	}
	list := r.List()
	if len(list) != 1 || len(list[0].Versions) != 3 || list[0].Versions[2].Error == "" || list[0].State.Policy != models.PolicyLatest {
		t.Fatalf("list: %+v", list)
	}
	if err := r.Activate(ctx, "offset", "3"); !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("activating the invalid version: %v", err)
	}
	if v, _ := check(ctx, r, 1); v != "2" {
		t.Fatalf("after a refused activation: %s", v)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(swaps(1, 1)), "switchboard_model_swaps_total"); err != nil {
		t.Fatalf("after the refused swap: %v", err)
	}
	if err := r.Activate(ctx, "offset", "1"); err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(swaps(2, 1)), "switchboard_model_swaps_total"); err != nil {
		t.Fatalf("after a swap: %v", err)
	}
	if v, _ := check(ctx, r, 1); v != "1" {
		t.Fatalf("pinned: %s", v)
	}
	// the pin survives a restart
	r.Close()
	r2 := openRegistry(t, repo, nil)
	if v, _ := check(ctx, r2, 5); v != "1" {
		t.Fatalf("after restart: %s", v)
	}
	if err := r2.Rollback(ctx, "offset"); err != nil {
		t.Fatal(err)
	}
	if v, _ := check(ctx, r2, 5); v != "2" {
		t.Fatalf("rollback: %s", v)
	}
	var st models.State
	data, _ := os.ReadFile(filepath.Join(repo, "offset", models.StateFile))
	json.Unmarshal(data, &st)
	if st.Policy != models.PolicyPinned || st.Active != "2" {
		t.Fatalf("saved state %+v", st)
	}
	for name, err := range map[string]error{
		"unknown model":   r2.Activate(ctx, "nope", "1"),
		"unknown version": r2.Activate(ctx, "offset", "9"),
		"bad percent":     r2.Canary(ctx, "offset", "1", 101),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := r2.Infer(ctx, "nope", input(1)); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("unknown model: %v", err)
	}
	if _, err := r2.Infer(ctx, "offset", map[string]ort.Tensor{"input": {Shape: []int64{1, 3}, Float32: []float32{1, 2, 3}}}); !errors.Is(err, models.ErrBadInput) {
		t.Errorf("wrong shape: %v", err)
	}
}

func TestCanaryShadowAndMetrics(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	writeVersion(t, repo, 1, "")
	writeVersion(t, repo, 2, "")
	reg := prometheus.NewRegistry()
	r := openRegistry(t, repo, reg)
	if err := r.Activate(ctx, "offset", "1"); err != nil {
		t.Fatal(err)
	}
	if err := r.Canary(ctx, "offset", "2", 30); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for i := range 1000 {
		v, err := check(ctx, r, float32(i))
		if err != nil {
			t.Fatal(err)
		}
		count[v]++
	}
	if c := count["2"]; c < 230 || c > 370 {
		t.Fatalf("canary 30%%: %v", count)
	}
	if err := r.Canary(ctx, "offset", "", 0); err != nil {
		t.Fatal(err)
	}
	if err := r.Shadow(ctx, "offset", "2"); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if v, err := check(ctx, r, float32(i)); err != nil || v != "1" {
			t.Fatalf("with a shadow: %s %v", v, err)
		}
	}
	// the shadow runs in the background; its comparisons must be counted
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(shadowCounter(reg)) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if testutil.ToFloat64(shadowCounter(reg)) == 0 {
		t.Fatal("no shadow comparison counted")
	}
	// both versions add a constant to every row, so top-1 always agrees
	if sh := r.List()[0].Shadow; sh == nil || sh.Version != "2" || sh.Compared == 0 || sh.Agreement != 1 {
		t.Fatalf("shadow stats %+v", sh)
	}
	if n, err := testutil.GatherAndCount(reg, "switchboard_model_inference_seconds", "switchboard_model_version_info"); err != nil || n < 3 {
		t.Fatalf("metrics: %d series, %v", n, err)
	}
}

func shadowCounter(reg *prometheus.Registry) prometheus.Collector {
	return collectorFunc(func(ch chan<- prometheus.Metric) {
		mfs, _ := reg.Gather()
		var total float64
		for _, mf := range mfs {
			if mf.GetName() == "switchboard_model_shadow_comparisons_total" {
				for _, m := range mf.GetMetric() {
					total += m.GetCounter().GetValue()
				}
			}
		}
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("x", "x", nil, nil), prometheus.CounterValue, total)
	})
}

type collectorFunc func(chan<- prometheus.Metric)

func (f collectorFunc) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(f, ch) }
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }

func TestDynamicBatchingKeepsRequestsApart(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	writeVersion(t, repo, 1, "batching: {max_batch: 8, max_delay: 20ms}\nmax_concurrency: 1\n")
	reg := prometheus.NewRegistry()
	r := openRegistry(t, repo, reg)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			if _, err := check(ctx, r, float32(i*10)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mfs, _ := reg.Gather()
	var runs, rows float64
	for _, mf := range mfs {
		if mf.GetName() == "switchboard_model_batch_size" {
			h := mf.GetMetric()[0].GetHistogram()
			runs, rows = float64(h.GetSampleCount()), h.GetSampleSum()
		}
	}
	// the smoke run is not counted; 64 rows must have been joined into fewer runs
	if rows != 64 || runs >= 64 {
		t.Fatalf("batching: %v rows in %v runs", rows, runs)
	}
	t.Logf("64 requests in %v runs", runs)
}

func TestEvaluationGatesAVersion(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	writeVersion(t, repo, 1, "")
	writeVersion(t, repo, 2, "eval: {set: eval.csv, min_accuracy: 0.99}\n")
	os.WriteFile(filepath.Join(repo, "offset", "2", "eval.csv"), []byte("x\n"), 0o644)
	r := openRegistry(t, repo, nil) // the evaluator reports 0.95
	if v, _ := check(ctx, r, 1); v != "1" {
		t.Fatalf("version below its accuracy threshold serves: %s", v)
	}
	if _, err := r.Validate(ctx, "offset", "2"); err == nil || !errors.Is(err, models.ErrInvalid) {
		t.Fatalf("validate: %v", err)
	}
	writeVersion(t, repo, 3, "eval: {set: eval.csv, min_accuracy: 0.9}\n")
	os.WriteFile(filepath.Join(repo, "offset", "3", "eval.csv"), []byte("x\n"), 0o644)
	res, err := r.Validate(ctx, "offset", "3")
	if err != nil || res == nil || res.Accuracy != 0.95 {
		t.Fatalf("validate 3: %+v %v", res, err)
	}
}

// TestWatchRefreshesOnWake: with an interval of an hour, a version another server
// activated (its state.json) serves only once wake delivers, and then at once.
func TestWatchRefreshesOnWake(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	writeVersion(t, repo, 1, "")
	writeVersion(t, repo, 2, "")
	r := openRegistry(t, repo, nil)
	if err := r.Activate(ctx, "offset", "1"); err != nil {
		t.Fatal(err)
	}
	other := openRegistry(t, repo, nil) // the server that makes the change
	wake := make(chan struct{})
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go r.Watch(wctx, time.Hour, wake)
	if err := other.Activate(ctx, "offset", "2"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if v, err := check(ctx, r, 1); v != "1" || err != nil {
		t.Fatalf("before the wake: version %s, %v; want 1", v, err)
	}
	select {
	case wake <- struct{}{}:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch does not read wake")
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		v, err := check(ctx, r, 1)
		if err != nil {
			t.Fatal(err)
		}
		if v == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the wake did not refresh the registry")
		}
	}
}

func TestPushAndWatch(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	writeVersion(t, repo, 1, "")
	r := openRegistry(t, repo, nil)
	src := t.TempDir()
	writeVersion(t, src, 7, "")
	dir := filepath.Join(src, "offset", "7")
	p, err := r.Push(ctx, "offset", filepath.Join(dir, models.ModelFile), filepath.Join(dir, models.ManifestFile), nil)
	if err != nil || p.Version != "2" {
		t.Fatalf("push: %+v %v", p, err)
	}
	if _, err := os.Stat(filepath.Join(repo, "offset", "2", "labels.txt")); err != nil {
		t.Fatalf("labels not pushed: %v", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go r.Watch(wctx, 20*time.Millisecond, nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := r.Infer(ctx, "offset", input(0))
		if err != nil {
			t.Fatal(err)
		}
		// version 2 holds version 7's weights
		if res.Version == "2" {
			if got := res.Outputs["output"].Float32[0]; got != 7 {
				t.Fatalf("pushed weights: %v", got)
			}
			if d := cmp.Diff([]string{"a", "b", "c", "d"}, res.Labels); d != "" {
				t.Fatalf("labels: %s", d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("watch never served the pushed version")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := r.Push(ctx, "Bad Name", filepath.Join(dir, models.ModelFile), filepath.Join(dir, models.ManifestFile), nil); err == nil {
		t.Error("pushed under an invalid name")
	}
}

// TestHotSwapUnderLoad keeps inference flowing from several goroutines while versions are
// activated, canaried, shadowed, rolled back and pushed: no request may fail, and each
// answer must come from the version it names.
func TestHotSwapUnderLoad(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	writeVersion(t, repo, 1, "")
	writeVersion(t, repo, 2, "batching: {max_batch: 4, max_delay: 1ms}\n")
	writeVersion(t, repo, 3, "")
	r := openRegistry(t, repo, nil)
	stop := make(chan struct{})
	var served sync.Map
	var total, failed atomic.Int64
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				v, err := check(ctx, r, float32(w*1000+i%1000))
				total.Add(1)
				if err != nil {
					failed.Add(1)
					t.Errorf("request failed during swaps: %v", err)
					return
				}
				served.Store(v, true)
			}
		})
	}
	steps := []func() error{
		func() error { return r.Activate(ctx, "offset", "1") },
		func() error { return r.Canary(ctx, "offset", "2", 50) },
		func() error { return r.Shadow(ctx, "offset", "3") },
		func() error { return r.Activate(ctx, "offset", "2") },
		func() error { return r.Rollback(ctx, "offset") },
		func() error { return r.Canary(ctx, "offset", "3", 20) },
		func() error { return r.Latest(ctx, "offset") },
		func() error {
			writeVersion(t, repo, 4, "")
			return r.Refresh(ctx)
		},
		func() error { return r.Rollback(ctx, "offset") },
		func() error { return r.Activate(ctx, "offset", "4") },
	}
	for i, step := range steps {
		time.Sleep(60 * time.Millisecond)
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	time.Sleep(60 * time.Millisecond)
	close(stop)
	wg.Wait()
	var versions []string
	served.Range(func(k, _ any) bool { versions = append(versions, k.(string)); return true })
	t.Logf("%d requests, %d failed, versions served %v", total.Load(), failed.Load(), versions)
	if failed.Load() != 0 || len(versions) < 4 {
		t.Fatalf("%d failed; served %v", failed.Load(), versions)
	}
}
