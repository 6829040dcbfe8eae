package gateway

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/internal/fieldcrypt"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/tickets"
)

// pgSwitch is a TCP proxy to PostgreSQL that can be cut (every connection
// dropped, new ones refused) and restored.
type pgSwitch struct {
	ln     net.Listener
	target string
	up     atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newPGSwitch(t *testing.T, target string) *pgSwitch {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgSwitch{ln: ln, target: target}
	p.up.Store(true)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *pgSwitch) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.up.Load() {
			c.Close()
			continue
		}
		d, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, d)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(d, c); d.Close() }()
		go func() { _, _ = io.Copy(c, d); c.Close() }()
	}
}

// cut drops every connection and refuses new ones until restore.
func (p *pgSwitch) cut() {
	p.up.Store(false)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *pgSwitch) restore() { p.up.Store(true) }

// switchedPool is a pool on a fresh migrated database that reaches PostgreSQL through
// a pgSwitch; direct is a pool that does not.
func switchedPool(t *testing.T) (switched, direct *pgxpool.Pool, sw *pgSwitch) {
	t.Helper()
	dsn := testenv.PGTemplate(t, "gateway", tickets.MigrateDSN)
	direct = testenv.Pool(t, dsn)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	sw = newPGSwitch(t, net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))))
	addr := sw.ln.Addr().(*net.TCPAddr)
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = addr.IP.String(), uint16(addr.Port)
	cfg.ConnConfig.ConnectTimeout = time.Second
	switched, err = pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(switched.Close)
	return switched, direct, sw
}

func testKeyRing(t *testing.T) *fieldcrypt.KeyRing {
	ring, err := fieldcrypt.New(map[string][]byte{"k1": []byte("data-key-data-key-data-key-32byt")}, "k1", []byte("index-key-index-key-index-key-32"))
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

// answeringPipeline answers every turn with "ok".
func answeringPipeline(stage pipeline.StageFunc) *pipeline.Pipeline {
	if stage == nil {
		stage = func(_ context.Context, t *pipeline.Turn) error { t.Reply, t.Confidence = "ok", 1; return nil }
	}
	return pipeline.New(pipeline.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler), pipeline.Step{Name: "answer", Stage: stage})
}

// TestQueuePausesQuietlyWhileTheStoreIsDown: with PostgreSQL unreachable, four workers
// back off and log one line when the queue pauses and one when it resumes (the first
// user saw about 20 ERROR lines a second), then answer again.
func TestQueuePausesQuietlyWhileTheStoreIsDown(t *testing.T) {
	switched, direct, sw := switchedPool(t)
	logs := &lockedBuffer{}
	sender := &countingSender{}
	w := &flow.Worker{Store: tickets.NewStore(switched, nil, testKeyRing(t)), Process: answeringPipeline(nil),
		Outbound: map[string]flow.Sender{"webhook": sender}, Log: slog.New(slog.NewTextHandler(logs, nil)), Poll: 20 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { w.Run(ctx) })
	}
	defer func() { cancel(); wg.Wait() }()
	time.Sleep(200 * time.Millisecond)
	sw.cut()
	time.Sleep(2 * time.Second)
	sw.restore()
	store := tickets.NewStore(direct, nil, testKeyRing(t))
	if _, err := store.RecordInbound(context.Background(), tickets.Inbound{Channel: "webhook", ChannelMessageID: "after",
		CustomerRef: "webhook:x", Text: "hello", ReplyTo: []byte(`{"customer_id":"x"}`)}); err != nil {
		t.Fatal(err)
	}
	// The worker that answers logs "resumed" right after its send returns: wait for both.
	for deadline := time.Now().Add(45 * time.Second); sender.n.Load() == 0 || !strings.Contains(logs.String(), "turn queue resumed"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no turn answered, or no resume logged, after the store came back; log:\n%s", logs.String())
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	paused, resumed, loud := 0, 0, 0
	for _, l := range lines {
		switch {
		case strings.Contains(l, "turn queue paused"):
			paused++
		case strings.Contains(l, "turn queue resumed"):
			resumed++
		}
		if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
			loud++
		}
	}
	if paused != 1 || resumed != 1 || loud != 1 {
		t.Fatalf("%d paused, %d resumed, %d warnings and errors; want 1, 1, 1. Log:\n%s", paused, resumed, loud, logs.String())
	}
}

// TestShutdownGivesWorkAGraceThenCancelsIt (L9): when the workers' context ends, an
// answer in progress may finish within the grace; one that would take longer (a long
// transcription) is cancelled after it and retried later, not held over the shutdown.
func TestShutdownGivesWorkAGraceThenCancelsIt(t *testing.T) {
	for _, tc := range []struct {
		name      string
		work      time.Duration // how long the stage needs after the shutdown began
		wantState string
	}{
		{"finishes within the grace", 100 * time.Millisecond, "done"},
		{"cancelled after the grace", time.Hour, "pending"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newInstance(t, newPool(t), "grace"+strings.ToLower(strings.ReplaceAll(t.Name(), "/", "")))
			bg := context.Background()
			if _, err := in.store.RecordInbound(bg, tickets.Inbound{Channel: "webhook", ChannelMessageID: "long",
				CustomerRef: "webhook:y", Text: "a long voice note", ReplyTo: []byte(`{"customer_id":"y"}`)}); err != nil {
				t.Fatal(err)
			}
			started, shutdown := make(chan struct{}), make(chan struct{})
			var sawCancel atomic.Bool
			stage := pipeline.StageFunc(func(ctx context.Context, turn *pipeline.Turn) error {
				close(started)
				<-shutdown
				select {
				case <-time.After(tc.work):
					turn.Reply, turn.Confidence = "ok", 1
					return nil
				case <-ctx.Done():
					sawCancel.Store(true)
					return ctx.Err()
				}
			})
			w := &flow.Worker{Store: in.store, Process: answeringPipeline(stage), Outbound: map[string]flow.Sender{"webhook": &countingSender{}},
				Log: slog.New(slog.DiscardHandler), Grace: 500 * time.Millisecond}
			ctx, cancel := context.WithCancel(bg)
			done := make(chan struct{})
			go func() { defer close(done); w.Run(ctx) }()
			<-started
			cancel()
			close(shutdown)
			begun := time.Now()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the worker held the shutdown for 10 s")
			}
			if took := time.Since(begun); took > 3*time.Second {
				t.Fatalf("shutdown took %s with a grace of 500ms", took)
			}
			var state string
			var attempts, settled int
			if err := in.store.Pool().QueryRow(bg, `SELECT state, attempts, attempts_settled FROM channel_messages`).Scan(&state, &attempts, &settled); err != nil {
				t.Fatal(err)
			}
			if state != tc.wantState || settled != attempts || sawCancel.Load() != (tc.wantState == "pending") {
				t.Fatalf("turn %s (attempt %d, settled %d), stage saw the cancel: %v", state, attempts, settled, sawCancel.Load())
			}
		})
	}
}
