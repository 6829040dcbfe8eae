package tickets

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestListenerResyncsAfterReconnect (L7): events sent while the LISTEN connection is
// down are lost, so after reconnecting the listener hands out EventResync (web-chat
// sessions re-read their conversation) and the service reloads the routing weights.
func TestListenerResyncsAfterReconnect(t *testing.T) {
	ts := newTestService(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan struct{})
	var resyncs atomic.Int64
	ts.Subscribe(func(ev Event) {
		if ev.Type == EventResync {
			resyncs.Add(1)
		}
	})
	ts.Subscribe(func(ev Event) { panic("a subscriber that panics does not stop the listener") })
	go func() { defer close(done); ts.RunEvents(ctx, func() { close(ready) }) }()
	defer func() { cancel(); <-done }()
	<-ready
	pool := ts.store.Pool()
	// Written while nobody hears: no event is sent.
	want := Weights{VIP: 0.7, Skill: 0.1, Load: 0.1, Wait: 0.1}
	if err := ts.store.PutRoutingWeights(ctx, want); err != nil {
		t.Fatal(err)
	}
	var killed int
	if err := pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d LISTEN connections (%v), want 1", killed, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for resyncs.Load() == 0 || ts.Router.Weights() != want {
		if time.Now().After(deadline) {
			t.Fatalf("after the reconnect: %d resync events, weights %+v (want %+v)", resyncs.Load(), ts.Router.Weights(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
