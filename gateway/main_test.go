package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/internal/fieldcrypt"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/internal/tracing"
	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/nlp/quality"
	"github.com/switchboard-cs/switchboard/tickets"
	"github.com/switchboard-cs/switchboard/tickets/webhooks"
	"github.com/switchboard-cs/switchboard/vision"
)

func TestMain(m *testing.M) { testenv.MainCheckingLeaks(m) }

// instanceLog, when set, receives the logs of instances built afterwards
// (the leak test scans them).
var instanceLog io.Writer

const testSecret = "test-secret-test-secret-test-secret!"

// piiRedactor adapts nlp/pii to tickets.Redactor, as cmd/switchboard does.
type piiRedactor struct{ r *pii.Redactor }

func (p piiRedactor) RedactText(ctx context.Context, s string) (string, error) {
	res, err := p.r.Redact(ctx, s)
	return res.Text, err
}

// instance is one running gateway on the shared test database and Redis.
type instance struct {
	srv   *Server
	http  *httptest.Server
	svc   *tickets.Service
	store *tickets.Store
	auth  *Auth
	reg   *prometheus.Registry
	pool  *pgxpool.Pool
}

// newPool gives a test its own migrated database.
func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return testenv.Pool(t, testenv.PGTemplate(t, "gateway", tickets.MigrateDSN))
}

// newInstance starts a gateway on pool and Redis key prefix; several
// instances on the same pool and prefix behave like replicas.
func newInstance(t *testing.T, pool *pgxpool.Pool, prefix string) *instance {
	return newInstanceWith(t, pool, prefix, nil)
}

// newInstanceWith also wires an understander/answerer into the pipeline.
func newInstanceWith(t *testing.T, pool *pgxpool.Pool, prefix string, understand interface {
	flow.Understander
	flow.Answerer
}, mutate ...any) *instance {
	t.Helper()
	rdb, _ := testenv.Redis(t)
	ring, err := fieldcrypt.New(map[string][]byte{"k1": []byte("data-key-data-key-data-key-32byt")}, "k1", []byte("index-key-index-key-index-key-32"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	if instanceLog != nil {
		log = slog.New(tracing.LogHandler(slog.NewJSONHandler(instanceLog, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	store := tickets.NewStore(pool, nil, ring)
	svc := tickets.NewService(store, tickets.ServiceOptions{Cache: tickets.NewTicketCache(rdb, prefix, time.Minute),
		Redactor: piiRedactor{pii.NewRedactor()}, Inspector: lengthInspector{}, Metrics: tickets.NewMetrics(reg), Log: log})
	svc.Router = tickets.NewRedisRouter(rdb, tickets.RouterOptions{Prefix: prefix, Snapshot: svc.Snapshot, Logger: log})
	snap, err := svc.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Router.Rebuild(context.Background(), snap); err != nil {
		t.Fatal(err)
	}
	auth, err := NewAuth([]byte(testSecret), "", "switchboard")
	if err != nil {
		t.Fatal(err)
	}
	deps := flow.Deps{Redactor: pii.NewRedactor(), Inbox: store, OpenTickets: store, Desk: svc, Ratings: svc, Escalation: flow.EscalationPolicy{MinConfidence: 0.5}}
	if understand != nil {
		deps.Understander, deps.Answerer = understand, understand
	}
	for _, m := range mutate {
		if f, ok := m.(func(*flow.Deps)); ok {
			f(&deps)
		}
	}
	ingress, process := deps.Pipelines(pipeline.NewMetrics(reg), log)
	modelRepo, err := models.Open(context.Background(), models.Options{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(modelRepo.Close)
	opts := Options{Tickets: svc, Store: store, Auth: auth, Log: log, Registerer: reg, Gatherer: reg, MaxBodyBytes: 64 << 10,
		Webhooks: webhooks.NewDeliveryLog(pool, time.Now), QualityRules: &memRules{},
		Ingress: ingress, Process: process, Models: modelRepo,
		Vision: vision.NewClassifier(modelRepo, vision.Options{Model: "none"}),
		Audit:  tickets.NewAnchorer(store, tickets.AnchorOptions{File: filepath.Join(t.TempDir(), "audit-anchors.jsonl")}),
		Ready:  []Checker{{Name: "postgres", Check: store.Ping}, {Name: "redis", Check: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }}}}
	for _, m := range mutate {
		if f, ok := m.(func(*Options)); ok {
			f(&opts)
			if opts.Limits.Redis == nil {
				opts.Limits.Redis = rdb
			}
		}
	}
	srv := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); svc.RunEvents(ctx, func() { close(ready) }) }()
	<-ready
	hs := httptest.NewServer(specCheck(t, srv.Handler())) // every response checked against the OpenAPI description
	t.Cleanup(func() { hs.Close(); cancel(); <-done })
	return &instance{srv: srv, http: hs, svc: svc, store: store, auth: auth, reg: reg, pool: pool}
}

func (in *instance) token(t *testing.T, subject string, role Role) string {
	t.Helper()
	tok, err := in.auth.Issue(subject, role, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// lengthInspector stands in for serve's quality inspection: a reply under 10 bytes
// loses 30 points as too short, a last reply without "bye" misses its closing.
type lengthInspector struct{}

func (lengthInspector) InspectReply(_ context.Context, _, text string, pos tickets.ReplyPosition) (tickets.ReplyQuality, error) {
	q := tickets.ReplyQuality{Score: 100, Findings: []tickets.QualityFinding{}}
	if len(text) < 10 {
		q.Score -= 30
		q.Findings = append(q.Findings, tickets.QualityFinding{Check: "too_short"})
	}
	if pos == tickets.PositionLast && !strings.Contains(strings.ToLower(text), "bye") {
		q.Findings = append(q.Findings, tickets.QualityFinding{Check: "missing_closing"})
	}
	return q, nil
}

// memRules stands in for serve's rule editing: rules that nlp/quality parses are kept in
// memory, others refused as serve refuses them.
type memRules struct {
	mu  sync.Mutex
	doc tickets.QualityRules
}

func (m *memRules) QualityRules(context.Context) (tickets.QualityRules, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	doc := m.doc
	if doc.Source == "" {
		doc.Source = "built-in"
	}
	doc.BuiltIn = "default: {}\n"
	return doc, nil
}

func (m *memRules) SetQualityRules(ctx context.Context, actor tickets.Actor, text string) (tickets.QualityRules, error) {
	if _, err := quality.ParseRuleSet([]byte(text)); err != nil {
		return tickets.QualityRules{}, fmt.Errorf("%w: %v", tickets.ErrInvalid, err)
	}
	m.mu.Lock()
	now := time.Now()
	m.doc = tickets.QualityRules{YAML: text, Source: "database", Version: m.doc.Version + 1, UpdatedBy: actor.ID, UpdatedAt: &now}
	m.mu.Unlock()
	return m.QualityRules(ctx)
}
