package connector

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes, the values of the outcome label.
const (
	OutcomeOK           = "ok"
	OutcomeCacheHit     = "cache_hit"
	OutcomeNotFound     = "not_found"
	OutcomeTimeout      = "timeout"
	OutcomeUnavailable  = "unavailable"
	OutcomeBadResponse  = "bad_response"
	OutcomeCircuitOpen  = "circuit_open"
	OutcomeRejected     = "rejected"
	OutcomeAuth         = "auth"
	OutcomeNotAllowed   = "not_allowed"
	OutcomeMissingInput = "missing_input"
	OutcomeCanceled     = "canceled"
	OutcomeError        = "error"
)

// Outcome names err's class as the outcome label does ("ok" for nil).
func Outcome(err error) string {
	for _, o := range []struct {
		err     error
		outcome string
	}{
		{ErrNotFound, OutcomeNotFound}, {ErrTimeout, OutcomeTimeout}, {ErrUnavailable, OutcomeUnavailable},
		{ErrBadResponse, OutcomeBadResponse}, {ErrCircuitOpen, OutcomeCircuitOpen}, {ErrRejected, OutcomeRejected},
		{ErrAuth, OutcomeAuth}, {ErrNotAllowed, OutcomeNotAllowed}, {ErrMissingInput, OutcomeMissingInput},
	} {
		if errors.Is(err, o.err) {
			return o.outcome
		}
	}
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, context.Canceled):
		return OutcomeCanceled
	}
	return OutcomeError
}

type metrics struct {
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
	open     *prometheus.GaugeVec
}

// newMetrics registers the connector series with reg (nil: not exported). Several
// connectors share one registerer: a series already registered is reused.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_connector_requests_total",
			Help: "Connector calls by connector, operation and outcome (ok, cache_hit, not_found, timeout, unavailable, bad_response, circuit_open, …).",
		}, []string{"connector", "operation", "outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_connector_request_seconds",
			Help:    "Duration of connector calls that reached the remote system (retries and backoff included), by connector and operation.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"connector", "operation"}),
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_connector_circuit_open",
			Help: "1 while the connector's circuit breaker is open (calls refused), else 0.",
		}, []string{"connector"}),
	}
	if reg == nil {
		return m
	}
	m.requests = register(reg, m.requests)
	m.seconds = register(reg, m.seconds)
	m.open = register(reg, m.open)
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}
