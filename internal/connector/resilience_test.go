package connector_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/internal/connector"
	"github.com/switchboard-cs/switchboard/internal/connector/connectortest"
)

func TestCallTimeout(t *testing.T) {
	crm := connectortest.NewCRM(t, ada)
	crm.SetFailure(connectortest.Failure{Delay: 2 * time.Second})
	cfg := genericCRM(crm.URL)
	cfg.Timeout, cfg.Retries = 50*time.Millisecond, 1
	c := mustNew(t, cfg, connector.Options{})
	start := time.Now()
	_, err := call(t, c, "lookup_customer", map[string]string{"email": ada.Email})
	if !errors.Is(err, connector.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call error %v, want ErrTimeout and context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %s, want two attempts of 50ms", d)
	}
	if n := crm.Count(""); n != 2 {
		t.Errorf("%d requests, want 2 (a timeout is retried)", n)
	}
}

func TestCallerDeadlineBoundsRetries(t *testing.T) {
	crm := connectortest.NewCRM(t, ada)
	crm.SetFailure(connectortest.Failure{Delay: 2 * time.Second})
	cfg := genericCRM(crm.URL)
	cfg.Timeout, cfg.Retries = time.Second, 5
	c := mustNew(t, cfg, connector.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Call(ctx, "lookup_customer", map[string]string{"email": ada.Email})
	if !errors.Is(err, connector.ErrTimeout) {
		t.Fatalf("Call error %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("took %s, past the caller's 80ms deadline", d)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	tests := []struct {
		name    string
		failure connectortest.Failure
	}{
		{"two 503s", connectortest.Failure{Status: 503, Times: 2}},
		{"two 429s with Retry-After 0", connectortest.Failure{Status: 429, RetryAfter: "0", Times: 2}},
		{"a timeout", connectortest.Failure{Delay: time.Second, Times: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crm := connectortest.NewCRM(t, ada)
			crm.SetFailure(tt.failure)
			cfg := genericCRM(crm.URL)
			cfg.Timeout = 100 * time.Millisecond
			c := mustNew(t, cfg, connector.Options{})
			got, err := call(t, c, "lookup_customer", map[string]string{"email": ada.Email})
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			if got.String("name") != "Ada" {
				t.Errorf("name %q, want Ada", got.String("name"))
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	crm := connectortest.NewCRM(t, ada)
	cfg := genericCRM(crm.URL)
	c := mustNew(t, cfg, connector.Options{})

	// Retry-After beyond the caller's deadline: give up at once.
	crm.SetFailure(connectortest.Failure{Status: 429, RetryAfter: "30", Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Call(ctx, "lookup_customer", map[string]string{"email": ada.Email}); !errors.Is(err, connector.ErrUnavailable) {
		t.Fatalf("Call error %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 200*time.Millisecond || crm.Count("") != 1 {
		t.Errorf("took %s and %d requests, want one request and no wait", d, crm.Count(""))
	}

	// Retry-After within the deadline: waited for, then success.
	crm.Reset()
	crm.SetFailure(connectortest.Failure{Status: 429, RetryAfter: "1", Times: 1})
	start = time.Now()
	if _, err := call(t, c, "lookup_customer", map[string]string{"email": ada.Email}); err != nil {
		t.Fatalf("Call: %v", err)
	}
	if d := time.Since(start); d < time.Second || crm.Count("") != 2 {
		t.Errorf("took %s and %d requests, want 2 requests 1s apart", d, crm.Count(""))
	}
}

func TestCircuitBreaker(t *testing.T) {
	crm := connectortest.NewCRM(t, ada)
	cfg := genericCRM(crm.URL)
	cfg.Retries = -1
	cfg.Breaker = connector.BreakerConfig{Failures: 3, OpenFor: 200 * time.Millisecond}
	reg := prometheus.NewPedanticRegistry()
	c := mustNew(t, cfg, connector.Options{Registerer: reg})
	in := map[string]string{"email": ada.Email}
	open := func() float64 {
		return metricValue(t, reg, "switchboard_connector_circuit_open", map[string]string{"connector": "crm"})
	}

	crm.SetFailure(connectortest.Failure{Status: 500})
	for i := range 3 {
		if _, err := call(t, c, "lookup_customer", in); !errors.Is(err, connector.ErrUnavailable) {
			t.Fatalf("call %d: error %v, want ErrUnavailable", i, err)
		}
	}
	for range 2 {
		if _, err := call(t, c, "lookup_customer", in); !errors.Is(err, connector.ErrCircuitOpen) {
			t.Fatalf("error %v, want ErrCircuitOpen", err)
		}
	}
	if n := crm.Count(""); n != 3 {
		t.Errorf("the fake saw %d requests, want 3 (none while open)", n)
	}
	if open() != 1 {
		t.Errorf("circuit_open gauge %v, want 1", open())
	}

	// Not found and 4xx answers do not count as failures; OpenFor later a probe
	// goes through and closes the circuit.
	crm.ClearFailure()
	time.Sleep(250 * time.Millisecond)
	if _, err := call(t, c, "lookup_customer", in); err != nil {
		t.Fatalf("half-open probe: %v", err)
	}
	if open() != 0 {
		t.Errorf("circuit_open gauge %v after recovery, want 0", open())
	}
	for range 5 {
		if _, err := call(t, c, "lookup_customer", map[string]string{"email": "nobody@example.com"}); !errors.Is(err, connector.ErrNotFound) {
			t.Fatalf("error %v, want ErrNotFound (closed circuit)", err)
		}
	}
	if got := metricValue(t, reg, "switchboard_connector_requests_total",
		map[string]string{"connector": "crm", "operation": "lookup_customer", "outcome": "circuit_open"}); got != 2 {
		t.Errorf("circuit_open outcomes %v, want 2", got)
	}

	// A failing probe opens the circuit again.
	crm.SetFailure(connectortest.Failure{Status: 502})
	for range 3 {
		_, _ = call(t, c, "lookup_customer", in)
	}
	time.Sleep(250 * time.Millisecond)
	before := crm.Count("")
	if _, err := call(t, c, "lookup_customer", in); !errors.Is(err, connector.ErrUnavailable) {
		t.Fatalf("failing probe: %v, want ErrUnavailable", err)
	}
	if _, err := call(t, c, "lookup_customer", in); !errors.Is(err, connector.ErrCircuitOpen) {
		t.Fatalf("after a failing probe: %v, want ErrCircuitOpen", err)
	}
	if n := crm.Count("") - before; n != 1 {
		t.Errorf("%d requests in half-open, want the one probe", n)
	}
}

func TestCanceledCallsDoNotTripTheBreaker(t *testing.T) {
	crm := connectortest.NewCRM(t, ada)
	crm.SetFailure(connectortest.Failure{Delay: time.Second})
	cfg := genericCRM(crm.URL)
	cfg.Breaker = connector.BreakerConfig{Failures: 1, OpenFor: time.Minute}
	c := mustNew(t, cfg, connector.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	if _, err := c.Call(ctx, "lookup_customer", map[string]string{"email": ada.Email}); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	crm.ClearFailure()
	if _, err := call(t, c, "lookup_customer", map[string]string{"email": ada.Email}); err != nil {
		t.Fatalf("after a canceled call: %v (the breaker must not count it)", err)
	}
}

func TestCache(t *testing.T) {
	crm := connectortest.NewCRM(t, ada)
	cfg := genericCRM(crm.URL)
	cfg.CacheTTL, cfg.Retries = 300*time.Millisecond, -1
	reg := prometheus.NewPedanticRegistry()
	c := mustNew(t, cfg, connector.Options{Registerer: reg})
	adaIn := map[string]string{"email": ada.Email}
	nobody := map[string]string{"email": "nobody@example.com"}

	first, err := call(t, c, "lookup_customer", adaIn)
	if err != nil {
		t.Fatal(err)
	}
	first.Fields["name"] = "changed by the caller"
	second, err := call(t, c, "lookup_customer", adaIn)
	if err != nil {
		t.Fatal(err)
	}
	if second.String("name") != "Ada" {
		t.Errorf("cached name %q: a caller's change leaked into the cache", second.String("name"))
	}
	for range 2 {
		if _, err := call(t, c, "lookup_customer", nobody); !errors.Is(err, connector.ErrNotFound) {
			t.Fatalf("error %v, want ErrNotFound", err)
		}
	}
	if n := crm.Count(""); n != 2 {
		t.Errorf("%d requests, want 2 (a hit and a not-found, each cached)", n)
	}
	if got := metricValue(t, reg, "switchboard_connector_requests_total",
		map[string]string{"outcome": "cache_hit"}); got != 2 {
		t.Errorf("cache_hit count %v, want 2", got)
	}

	// Failures are not cached.
	other := map[string]string{"phone": ada.Phone}
	crm.SetFailure(connectortest.Failure{Status: 503, Times: 1})
	if _, err := call(t, c, "lookup_customer", other); !errors.Is(err, connector.ErrUnavailable) {
		t.Fatalf("error %v, want ErrUnavailable", err)
	}
	if _, err := call(t, c, "lookup_customer", other); err != nil {
		t.Fatalf("after a failure: %v (a failure must not be cached)", err)
	}

	// Entries expire after CacheTTL.
	time.Sleep(350 * time.Millisecond)
	before := crm.Count("")
	if _, err := call(t, c, "lookup_customer", adaIn); err != nil {
		t.Fatal(err)
	}
	if crm.Count("") != before+1 {
		t.Error("an expired entry was served from the cache")
	}
}
