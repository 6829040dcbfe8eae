package tickets

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

func TestCacheRefusesAFillOlderThanTheLastWrite(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	c := NewTicketCache(rdb, prefix, time.Minute)
	ctx := context.Background()
	v1 := Ticket{ID: "t1", Version: 1, Status: StatusOpen}
	if ok, err := c.Fill(ctx, v1); err != nil || !ok {
		t.Fatalf("first fill: %v %v", ok, err)
	}
	// A reader loaded v1 from PostgreSQL; meanwhile v2 was committed and invalidated.
	if err := c.Invalidate(ctx, "t1", 2); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Get(ctx, "t1"); ok {
		t.Fatal("v1 still cached after the v2 invalidation")
	}
	if ok, _ := c.Fill(ctx, v1); ok {
		t.Fatal("late fill of v1 accepted after v2 was written")
	}
	v2 := Ticket{ID: "t1", Version: 2, Status: StatusAssigned}
	if ok, _ := c.Fill(ctx, v2); !ok {
		t.Fatal("fill of v2 refused")
	}
	if got, ok, _ := c.Get(ctx, "t1"); !ok || got.Version != 2 {
		t.Fatalf("cached %+v, want v2", got)
	}
	ttl := rdb.PTTL(ctx, c.keys("t1")[0]).Val()
	if ttl <= 0 || ttl > time.Minute {
		t.Fatalf("entry TTL %v, want ≤ 1m", ttl)
	}
}

// TestNoStaleReadAcrossTwoInstances runs two service instances (as two
// gateway processes would) on one PostgreSQL and Redis: a read on one
// instance after a write on the other never returns the old ticket.
func TestNoStaleReadAcrossTwoInstances(t *testing.T) {
	pool := migratedPool(t)
	rdb, prefix := testenv.Redis(t)
	a := newTestServiceOn(t, pool, rdb, prefix)
	rdbB, _ := testenv.Redis(t) // its own connection, same server and prefix
	b := newTestServiceOn(t, pool, rdbB, prefix)
	setupTeam(t, a)
	ctx := context.Background()
	tk, _ := create(t, a, "c1", "billing") // alice
	for i, step := range []func() (Ticket, error){
		func() (Ticket, error) { return b.Claim(ctx, Actor{ID: "alice"}, tk.ID) },
		func() (Ticket, error) { t, _, err := b.Reply(ctx, Actor{ID: "alice"}, tk.ID, "on it"); return t, err },
		func() (Ticket, error) { return b.Resolve(ctx, Actor{ID: "alice"}, tk.ID) },
	} {
		cached, err := a.GetTicket(ctx, tk.ID) // instance A caches the current version
		if err != nil {
			t.Fatal(err)
		}
		written, err := step()
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.GetTicket(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != written.Version || got.Status != written.Status || got.Version <= cached.Version {
			t.Fatalf("step %d: instance A read v%d %s after instance B wrote v%d %s", i, got.Version, got.Status, written.Version, written.Status)
		}
	}
}

// TestEventInvalidatesOtherInstances covers a writer that dies between its
// commit and its own invalidation: the NOTIFY that committed with the write
// reaches the other instance, which drops its cached copy.
func TestEventInvalidatesOtherInstances(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	got := make(chan Event, 16)
	ts.Subscribe(func(ev Event) { got <- ev })
	go ts.RunEvents(ctx, func() { close(ready) })
	<-ready
	tk, _ := create(t, ts, "c1", "billing")
	cached, err := ts.GetTicket(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Write straight through the store: no synchronous invalidation.
	_, after, err := ts.store.UpdateTicket(ctx, tk.ID, func(_ pgx.Tx, t *Ticket) error { t.Subject = "changed"; return nil })
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-got:
			if ev.TicketID != tk.ID || ev.Version != after.Version {
				continue
			}
			now, err := ts.GetTicket(ctx, tk.ID)
			if err != nil || now.Version != after.Version || now.Subject != "changed" || now.Version == cached.Version {
				t.Fatalf("after the event the cache returned v%d %q (%v)", now.Version, now.Subject, err)
			}
			return
		case <-deadline:
			t.Fatal("no event for the update within 5 s")
		}
	}
}

// TestCacheKeepsAnInvalidationRedisRefusedUntilRetried: an invalidation Redis refuses
// is kept; until RetryInvalidations writes it this process does not serve the ticket
// from the cache, and afterwards the old copy is gone and may not be filled back.
func TestCacheKeepsAnInvalidationRedisRefusedUntilRetried(t *testing.T) {
	mr, rdb := testenv.Miniredis(t)
	c := NewTicketCache(rdb, "p", time.Minute)
	other := NewTicketCache(rdb, "p", time.Minute) // another instance
	ctx := context.Background()
	v1 := Ticket{ID: "t1", Version: 1, Status: StatusAssigned}
	if ok, err := c.Fill(ctx, v1); err != nil || !ok {
		t.Fatalf("fill: %v %v", ok, err)
	}
	mr.SetError("CLUSTERDOWN The cluster is down")
	if err := c.Invalidate(ctx, "t1", 2); err == nil {
		t.Fatal("Invalidate succeeded while Redis refused every command")
	}
	if err := c.RetryInvalidations(ctx); err == nil {
		t.Fatal("RetryInvalidations succeeded while Redis refused every command")
	}
	mr.SetError("")
	if _, ok, err := c.Get(ctx, "t1"); ok || err != nil {
		t.Errorf("Get with the invalidation unwritten = %v, %v; want a miss", ok, err)
	}
	if got, ok, _ := other.Get(ctx, "t1"); !ok || got.Version != 1 {
		t.Fatalf("the entry was not left in Redis (%v, v%d): the test shows nothing", ok, got.Version)
	}
	if n := c.Unwritten(); n != 1 {
		t.Fatalf("Unwritten() = %d, want 1", n)
	}
	if err := c.RetryInvalidations(ctx); err != nil {
		t.Fatal(err)
	}
	if n := c.Unwritten(); n != 0 {
		t.Errorf("Unwritten() after the retry = %d, want 0", n)
	}
	if _, ok, _ := other.Get(ctx, "t1"); ok {
		t.Error("v1 still cached after the retried invalidation of v2")
	}
	if ok, _ := other.Fill(ctx, v1); ok {
		t.Error("a fill of v1 was accepted after the retried invalidation of v2")
	}
}
