package tickets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// TestAnnouncementsReachListeners: message events queued from many
// goroutines go out in batches, and every one of them arrives.
func TestAnnouncementsReachListeners(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	got := make(chan Event, 1024)
	go s.Listen(ctx, slog.New(slog.NewTextHandler(testWriter{t}, nil)), func(_ context.Context, ev Event) { got <- ev }, func(bool) { close(ready) })
	<-ready
	const n = 300
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			for i := range n / 10 {
				s.AnnounceMessage(ctx, "c", int64(g*n+i+1), "bot")
			}
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	deadline := time.After(10 * time.Second)
	for len(seen) < n {
		select {
		case ev := <-got:
			if ev.Type == "message.created" {
				seen[ev.MessageID] = true
			}
		case <-deadline:
			t.Fatalf("%d of %d announcements arrived", len(seen), n)
		}
	}
}

// TestAuditChainStaysWholeUnderConcurrentWrites: tickets created at once
// (with and without a deferred flush, some refused as a second open ticket
// of a conversation) and audit events of their own all land in one chain
// that verifies, one row per event, with no gaps.
func TestAuditChainStaysWholeUnderConcurrentWrites(t *testing.T) {
	ts := newTestService(t)
	ctx := context.Background()
	convs := make([]string, 8)
	for i := range convs {
		c, err := ts.store.UpsertCustomer(ctx, Customer{PseudonymousID: fmt.Sprintf("cust-%d", i)}, false)
		if err != nil {
			t.Fatal(err)
		}
		if convs[i], err = ts.store.CreateConversation(ctx, c.ID, "rest"); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, conflicts := 0, 0
	for i := range 32 {
		wg.Go(func() {
			_, _, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: fmt.Sprintf("cust-%d", i%8)},
				ConversationID: convs[i%8], Subject: "help", DeferFlush: i%2 == 0})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case errors.Is(err, ErrConflict):
				conflicts++
			default:
				t.Error(err)
			}
		})
		wg.Go(func() {
			if err := ts.store.AppendAudit(ctx, nil, "admin", "test.event", fmt.Sprint(i), map[string]int{"i": i}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if created != 8 || conflicts != 24 {
		t.Fatalf("%d tickets created and %d refused, want 8 and 24 (one open ticket per conversation)", created, conflicts)
	}
	n, err := ts.store.VerifyAudit(ctx)
	if err != nil || n != 8+32 {
		t.Fatalf("verify: %d events, %v; want %d", n, err, 8+32)
	}
	var first, last int64
	if err := ts.store.Pool().QueryRow(ctx, `SELECT min(id), max(id) FROM audit_events`).Scan(&first, &last); err != nil {
		t.Fatal(err)
	}
	if int(last-first+1) != n {
		t.Fatalf("audit ids %d..%d for %d events: a gap", first, last, n)
	}
}

func TestPackEvents(t *testing.T) {
	ev := func(n int) string { return `{"m":"` + strings.Repeat("x", n-8) + `"}` } // n bytes
	long := ev(maxNotifyPayload - 1)
	for _, tc := range []struct {
		name   string
		events []string
		limit  int
		want   []string
	}{
		{"none", nil, 100, nil},
		{"one", []string{`{"a":1}`}, 100, []string{`[{"a":1}]`}},
		{"in order, one batch", []string{`{"a":1}`, `{"a":2}`, `{"a":3}`}, 100, []string{`[{"a":1},{"a":2},{"a":3}]`}},
		// [{"a":1},{"a":2}] is 17 bytes: the third starts a batch of its own
		{"split at the limit", []string{`{"a":1}`, `{"a":2}`, `{"a":3}`}, 17, []string{`[{"a":1},{"a":2}]`, `[{"a":3}]`}},
		{"exactly the limit", []string{`{"a":1}`, `{"a":2}`}, 17, []string{`[{"a":1},{"a":2}]`}},
		{"too long for any batch is left out", []string{`{"a":1}`, long, `{"a":2}`}, maxNotifyPayload, []string{`[{"a":1},{"a":2}]`}},
		{"alone at the limit", []string{`{"a":1}`, ev(maxNotifyPayload - 2)}, maxNotifyPayload, []string{`[{"a":1}]`, "[" + ev(maxNotifyPayload-2) + "]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := packEvents(tc.events, tc.limit)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("packEvents (-want +got):\n%s", diff)
			}
			for _, p := range got {
				if len(p) > tc.limit {
					t.Errorf("a payload of %d bytes, limit %d", len(p), tc.limit)
				}
			}
		})
	}
}

func TestDecodeEvents(t *testing.T) {
	for _, tc := range []struct {
		name, payload string
		want          []Event
	}{
		{"one event", `{"type":"ticket.created","ticket_id":"t1","version":1}`, []Event{{Type: "ticket.created", TicketID: "t1", Version: 1}}},
		{"a batch", `[{"type":"message.created","conversation_id":"c","message_id":1,"author":"bot"},{"type":"typing","conversation_id":"c"}]`,
			[]Event{{Type: "message.created", ConversationID: "c", MessageID: 1, Author: "bot"}, {Type: "typing", ConversationID: "c"}}},
		{"not JSON", `hello`, nil},
		{"a broken batch", `[{"type":"x"},`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, decodeEvents(tc.payload)); diff != "" {
				t.Errorf("decodeEvents (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAnnouncementsShareNotifications: a burst of message events goes out in
// a few notifications, each a batch under PostgreSQL's payload limit, and
// together they carry every event once, in order.
func TestAnnouncementsShareNotifications(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `LISTEN `+EventChannel); err != nil {
		t.Fatal(err)
	}
	const n = 500
	for i := range n {
		s.AnnounceMessage(ctx, "c", int64(i+1), "bot")
	}
	var ids []int64
	notifications := 0
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for len(ids) < n {
		note, err := conn.WaitForNotification(wctx)
		if err != nil {
			t.Fatalf("%d of %d events in %d notifications: %v", len(ids), n, notifications, err)
		}
		notifications++
		if len(note.Payload) > maxNotifyPayload || !strings.HasPrefix(note.Payload, "[") {
			t.Fatalf("payload of %d bytes starting %.10q, want a batch of at most %d", len(note.Payload), note.Payload, maxNotifyPayload)
		}
		for _, ev := range decodeEvents(note.Payload) {
			ids = append(ids, ev.MessageID)
		}
	}
	want := make([]int64, n)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// about 75 bytes an event: a hundred to a notification, and a few batches
	if notifications > n/20 {
		t.Errorf("%d events in %d notifications, want at most %d", n, notifications, n/20)
	}
}

// TestAnnouncerLingers: events offered at a steady 2,000/s (1,000 turns/s, two
// messages each) go out every one once, in order, in at most one batch per linger
// (an instant send without linger could take each event alone).
func TestAnnouncerLingers(t *testing.T) {
	a := &announcer{linger: 2 * time.Millisecond}
	var mu sync.Mutex
	var got []string
	batches := 0
	send := func(_ context.Context, batch []string) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, batch...)
		batches++
		return nil
	}
	var want []string
	start := time.Now()
	for i := range 400 {
		time.Sleep(time.Until(start.Add(time.Duration(i) * 500 * time.Microsecond)))
		ev := fmt.Sprint(i)
		want = append(want, ev)
		a.add(context.Background(), ev, send)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == len(want) || time.Now().After(deadline) {
			break
		}
	}
	elapsed := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("events sent (-want +got):\n%s", diff)
	}
	if batches > int(elapsed/a.linger)+1 {
		t.Errorf("%d batches in %v, want at most one per %v", batches, elapsed, a.linger)
	}
	t.Logf("%d events in %d batches over %v", len(got), batches, elapsed.Round(time.Millisecond))
}
