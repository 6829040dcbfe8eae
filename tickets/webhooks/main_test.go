package webhooks

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/internal/fieldcrypt"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/tickets"
)

// TestMain starts (or finds) PostgreSQL and Redis, and fails the package when a
// dispatcher's goroutines outlive the tests.
func TestMain(m *testing.M) { testenv.MainCheckingLeaks(m) }

// env is a ticket core on a private database, with a team: alice (billing, capacity 5).
type env struct {
	dsn  string
	pool *pgxpool.Pool
	svc  *tickets.Service
}

var (
	alice = tickets.Actor{ID: "alice"}
	boss  = tickets.Actor{ID: "boss", Supervisor: true}
	bot   = tickets.Actor{ID: "bot", Supervisor: true}
)

func newEnv(t *testing.T) *env {
	t.Helper()
	dsn := testenv.PGTemplate(t, "webhooks", tickets.MigrateDSN)
	pool := testenv.Pool(t, dsn)
	rdb, prefix := testenv.Redis(t)
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	ring, err := fieldcrypt.New(map[string][]byte{"k1": key}, "k1", []byte("index-key-index-key-index-key-32"))
	if err != nil {
		t.Fatal(err)
	}
	svc := tickets.NewService(tickets.NewStore(pool, nil, ring), tickets.ServiceOptions{
		Cache: tickets.NewTicketCache(rdb, prefix, time.Minute), Redactor: maskDigits{}, Inspector: scorer{},
		Metrics: tickets.NewMetrics(prometheus.NewRegistry()), Log: testLogger(t)})
	svc.Router = tickets.NewRedisRouter(rdb, tickets.RouterOptions{Prefix: prefix, Snapshot: svc.Snapshot})
	ctx := context.Background()
	snap, err := svc.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Router.Rebuild(ctx, snap); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutSkillGroup(ctx, "admin", tickets.SkillGroup{ID: "billing", Skills: []string{"billing"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutAgent(ctx, "admin", tickets.Agent{ID: "alice", Groups: []string{"billing"}, Capacity: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetAgentStatus(ctx, "alice", tickets.AgentOnline, -1); err != nil {
		t.Fatal(err)
	}
	return &env{dsn: dsn, pool: pool, svc: svc}
}

// The customer's personal data in the tests: none of it may reach a receiver.
const (
	custName  = "Jane Roe"
	custEmail = "jane.roe@example.com"
	custPhone = "13812345678"
	custText  = "my card was charged twice, write to " + custEmail + " or call " + custPhone
)

// open creates a ticket for customer; with skill billing it goes to alice.
func (e *env) open(t *testing.T, customer string, skills ...string) tickets.Ticket {
	t.Helper()
	tk, _, err := e.svc.CreateTicket(context.Background(), bot, tickets.NewTicket{
		Customer: tickets.Customer{PseudonymousID: customer, DisplayName: custName}, Subject: "help " + custName,
		Message: custText, Skills: skills})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// maskDigits stands in for nlp/pii (what is stored is not what the tests look for).
type maskDigits struct{}

func (maskDigits) RedactText(_ context.Context, s string) (string, error) {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '#'
		}
		return r
	}, s), nil
}

// scorer scores a reply 100, less 30 when it has a digit (a phone number).
type scorer struct{}

func (scorer) InspectReply(_ context.Context, _, text string, _ tickets.ReplyPosition) (tickets.ReplyQuality, error) {
	if strings.ContainsAny(text, "0123456789") {
		return tickets.ReplyQuality{Score: 70, Findings: []tickets.QualityFinding{{Check: "pii", Cue: "call", Kind: "PHONE"}}}, nil
	}
	return tickets.ReplyQuality{Score: 100}, nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

const secret = "whsec-test"

// received is one request the receiver got.
type received struct {
	Event, Delivery string
	Body            []byte
	SignedOK        bool
}

// receiver is a webhook endpoint that checks signatures and records requests; answer
// decides each response (by the count of requests so far, from 1).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func ok(int, http.ResponseWriter, *http.Request) {}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts, err := strconv.ParseInt(r.Header.Get(HeaderTimestamp), 10, 64)
	signed := err == nil && Verify(secret, ts, body, r.Header.Get(HeaderSignature)) &&
		time.Since(time.Unix(ts, 0)).Abs() < 5*time.Minute && r.Method == http.MethodPost &&
		r.Header.Get("Content-Type") == "application/json"
	rc.mu.Lock()
	rc.got = append(rc.got, received{Event: r.Header.Get(HeaderEvent), Delivery: r.Header.Get(HeaderDelivery), Body: body, SignedOK: signed})
	n := len(rc.got)
	rc.mu.Unlock()
	if rc.answer != nil {
		rc.answer(n, w, r)
	}
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// events decodes the bodies received, in order.
func (rc *receiver) events(t *testing.T) []Event {
	t.Helper()
	var out []Event
	for _, r := range rc.requests() {
		var ev Event
		if err := json.Unmarshal(r.Body, &ev); err != nil {
			t.Fatalf("body %s: %v", r.Body, err)
		}
		out = append(out, ev)
	}
	return out
}

// endpoint is an endpoint at rc.
func (rc *receiver) endpoint(name string, events ...string) Endpoint {
	return Endpoint{Name: name, URL: rc.URL + "/hooks", Secret: secret, Events: events, Timeout: 2 * time.Second}
}

// testConfig polls fast and backs off briefly.
func testConfig(eps ...Endpoint) Config {
	return Config{Endpoints: eps, MaxAttempts: 3, Backoff: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond},
		PollInterval: 50 * time.Millisecond}
}

// start makes a dispatcher on pool, makes its cursors (so that what the test does next
// is sent) and runs it until the test ends; stop ends it sooner.
func start(t *testing.T, pool *pgxpool.Pool, cfg Config) (d *Dispatcher, reg *prometheus.Registry, stop func()) {
	t.Helper()
	reg = prometheus.NewRegistry()
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	d, err := New(pool, cfg, Options{Logger: testLogger(t), Registerer: reg, Client: &http.Client{Transport: transport}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ensureCursors(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return 10 s after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return d, reg, stop
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitRequests waits until rc got n requests.
func waitRequests(t *testing.T, rc *receiver, n int) {
	t.Helper()
	waitFor(t, strconv.Itoa(n)+" requests", func() bool { return len(rc.requests()) >= n })
}
