package tickets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"
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
