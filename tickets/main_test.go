package tickets

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cs/switchboard/internal/fieldcrypt"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// TestMain starts (or finds) PostgreSQL and Redis for this package's tests.
func TestMain(m *testing.M) { testenv.MainCheckingLeaks(m) }

// migratedPool returns a pool on a fresh database with the schema applied.
func migratedPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return testenv.Pool(t, testenv.PGTemplate(t, "tickets", MigrateDSN))
}

func testKeyRing(t testing.TB) *fieldcrypt.KeyRing {
	t.Helper()
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i)
	}
	ring, err := fieldcrypt.New(map[string][]byte{"k1": k}, "k1", []byte("index-key-index-key-index-key-32"))
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// digitRedactor stands in for nlp/pii in ticket tests: it masks every
// digit run, so tests can see that stored text went through redaction.
type digitRedactor struct{ fail bool }

func (d digitRedactor) RedactText(_ context.Context, s string) (string, error) {
	if d.fail {
		return "", fmt.Errorf("redactor down")
	}
	var b strings.Builder
	inDigits := false
	for _, r := range s {
		if r >= '0' && r <= '9' {
			if !inDigits {
				b.WriteString("[NUM]")
			}
			inDigits = true
			continue
		}
		inDigits = false
		b.WriteRune(r)
	}
	return b.String(), nil
}

// testService wires a full ticket core on a fresh database and the shared
// test Redis under a private key prefix.
type testService struct {
	*Service
	rdb    redis.UniversalClient
	prefix string
	reg    *prometheus.Registry
	clock  *svcClock
}

type svcClock struct{ t time.Time }

func (c *svcClock) Now() time.Time { return c.t }

func newTestService(t testing.TB) *testService {
	t.Helper()
	pool := migratedPool(t)
	rdb, prefix := testenv.Redis(t)
	return newTestServiceOn(t, pool, rdb, prefix)
}

func newTestServiceOn(t testing.TB, pool *pgxpool.Pool, rdb redis.UniversalClient, prefix string) *testService {
	t.Helper()
	reg := prometheus.NewRegistry()
	clock := &svcClock{t: time.Now().Truncate(time.Microsecond)}
	store := NewStore(pool, nil, testKeyRing(t))
	svc := NewService(store, ServiceOptions{Cache: NewTicketCache(rdb, prefix, time.Minute),
		Redactor: digitRedactor{}, Metrics: NewMetrics(reg), Log: slog.New(slog.NewTextHandler(testWriter{t}, nil)), Now: clock.Now})
	svc.Router = NewRedisRouter(rdb, RouterOptions{Prefix: prefix, Snapshot: svc.Snapshot, Now: clock.Now})
	snap, err := svc.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Router.Rebuild(context.Background(), snap); err != nil {
		t.Fatal(err)
	}
	return &testService{Service: svc, rdb: rdb, prefix: prefix, reg: reg, clock: clock}
}

// testWriter sends log lines to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// botActor is how the bot pipeline calls the ticket core.
var botActor = Actor{ID: "bot", Supervisor: true}
