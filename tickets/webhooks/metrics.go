package webhooks

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Delivery outcomes, the values of the outcome label.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"  // the attempt failed; the delivery is tried again
	OutcomeFailed    = "failed" // the delivery gave up (attempts ran out, or 410 Gone)
)

// metrics are the webhook series; labels are the configured endpoint names and
// outcomes, never event or ticket ids.
type metrics struct {
	deliveries *prometheus.CounterVec
	seconds    *prometheus.HistogramVec
	backlog    *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_webhook_deliveries_total",
			Help: "Webhook delivery attempts by endpoint and outcome (delivered, retry, failed).",
		}, []string{"endpoint", "outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_webhook_delivery_seconds",
			Help:    "Duration of webhook delivery attempts (request and response), by endpoint.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint"}),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_webhook_backlog",
			Help: "Webhook deliveries pending (not yet delivered or failed), by endpoint.",
		}, []string{"endpoint"}),
	}
	if reg == nil {
		return m
	}
	m.deliveries = register(reg, m.deliveries)
	m.seconds = register(reg, m.seconds)
	m.backlog = register(reg, m.backlog)
	return m
}

// register registers c, or returns the collector registered before it under the same
// name (a second dispatcher on the same registry shares the series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if prev, ok := are.ExistingCollector.(C); ok {
				return prev
			}
		}
		panic(err)
	}
	return c
}
