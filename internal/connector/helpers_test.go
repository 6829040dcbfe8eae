package connector_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchboard-cs/switchboard/internal/connector"
	"github.com/switchboard-cs/switchboard/internal/connector/connectortest"
)

// ada is the fake CRM's main contact; her email and phone must never reach a system
// that is not allowed to receive them.
var ada = connectortest.Contact{
	ID: "c-1", ChannelID: "tg:42", Email: "ada@example.com", Phone: "+49 30 1234567",
	FirstName: "Ada", LastName: "Lovelace", Tier: "gold", TierLevel: 3, Lifecycle: "customer",
	Tags: []string{"vip", "beta"}, OwnerID: "u-7", OwnerName: "Grace Hopper", Account: "Analytical Engines Ltd",
}

// genericCRM is a connector for the fake CRM's generic dialect, with retries fast,
// cache and breaker off unless a test turns them on.
func genericCRM(url string) connector.Config {
	return connector.Config{
		Name: "crm", BaseURL: url, Timeout: time.Second, Retries: 2, RetryBackoff: time.Millisecond,
		CacheTTL: -1, Breaker: connector.BreakerConfig{Failures: -1},
		Allow: []string{"channel_id", "email", "phone"},
		Operations: map[string]connector.Operation{
			"lookup_customer": {
				Path:     "/contacts?{{if .email}}email={{.email}}{{else}}phone={{.phone}}{{end}}",
				Required: []string{"email|phone"},
				Map: map[string]string{
					"name":       "$.contact.name.first",
					"last_name":  "$.contact.name.last",
					"tier":       "$.contact.tier.name",
					"tier_level": "$.contact.tier.level",
					"tier_text":  "$.contact.tier.level",
					"tags":       "$.contact.tags",
					"first_tag":  "$.contact.tags[0]",
					"owner":      "$.contact.owner.id",
				},
				Types: map[string]string{"tier_level": "int", "tier_text": "string", "tags": "strings"},
			},
		},
	}
}

// logBuffer is a concurrency-safe log sink at debug level.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func mustNew(t *testing.T, cfg connector.Config, opts connector.Options) *connector.Connector {
	t.Helper()
	c, err := connector.New(cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func call(t *testing.T, c *connector.Connector, op string, in map[string]string) (connector.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Call(ctx, op, in)
}

// metricValue is the value of the series name{labels} in reg (0 if absent).
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			return value(m)
		}
	}
	return 0
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}
