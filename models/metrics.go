package models

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the registry's Prometheus series, per model and version.
type metrics struct {
	latency   *prometheus.HistogramVec
	batchSize *prometheus.HistogramVec
	errors    *prometheus.CounterVec
	requests  *prometheus.CounterVec
	info      *prometheus.GaugeVec
	shadow    *prometheus.CounterVec
	loads     *prometheus.CounterVec
	swaps     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_model_inference_seconds", Help: "Inference latency per model version, queueing for a batch included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"model", "version"}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_model_batch_size", Help: "Rows per session run (dynamic batching joins requests).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
		}, []string{"model", "version"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_model_errors_total", Help: "Failed inferences per model version.",
		}, []string{"model", "version", "kind"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_model_requests_total", Help: "Inference requests per model version and role (active, canary).",
		}, []string{"model", "version", "role"}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_model_version_info", Help: "1 for each version serving a model, by role (active, canary, shadow).",
		}, []string{"model", "version", "role"}),
		shadow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_model_shadow_comparisons_total", Help: "Shadow runs compared with the answering version (top-1 agreement).",
		}, []string{"model", "version", "agree"}),
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_model_loads_total", Help: "Version loads by result (ok, invalid).",
		}, []string{"model", "result"}),
		swaps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_model_swaps_total", Help: "Routing changes by result: ok (swapped in), failed (a version it names did not load; the previous routing keeps serving).",
		}, []string{"model", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.latency, m.batchSize, m.errors, m.requests, m.info, m.shadow, m.loads, m.swaps)
	}
	return m
}

// known exports the per-model counters as 0 from the moment a model is known, so an
// alert on their increase works from the first failure.
func (x *metrics) known(model string) {
	for _, r := range []string{"ok", "invalid"} {
		x.loads.WithLabelValues(model, r)
	}
	for _, r := range []string{"ok", "failed"} {
		x.swaps.WithLabelValues(model, r)
	}
}

// serving exports a served version's error and shadow counters as 0.
func (x *metrics) serving(model, version string, shadow bool) {
	for _, kind := range []string{"runtime", "bad_input", "cancelled"} {
		x.errors.WithLabelValues(model, version, kind)
	}
	if shadow {
		for _, agree := range []string{"true", "false"} {
			x.shadow.WithLabelValues(model, version, agree)
		}
	}
}

func (x *metrics) observe(m *Manifest, d time.Duration, err error) {
	x.latency.WithLabelValues(m.Name, m.Version).Observe(d.Seconds())
	if err != nil {
		kind := "runtime"
		switch {
		case errors.Is(err, ErrBadInput):
			kind = "bad_input"
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			kind = "cancelled"
		}
		x.errors.WithLabelValues(m.Name, m.Version, kind).Inc()
	}
}

func (x *metrics) batch(m *Manifest, rows int) {
	x.batchSize.WithLabelValues(m.Name, m.Version).Observe(float64(rows))
}
