package tickets

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// sweep runs one presence sweep and returns who lapsed.
func sweep(t *testing.T, ts *testService) []string {
	t.Helper()
	lapsed, err := ts.SweepPresence(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return lapsed
}

// statuses reads the agents' status in PostgreSQL and in the router.
func statuses(t *testing.T, ts *testService, ids ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, id := range ids {
		a, err := ts.store.GetAgent(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		st, err := ts.rdb.HGet(context.Background(), "{"+ts.prefix+"}:a:"+id, "st").Result()
		if err != nil {
			t.Fatal(err)
		}
		out[id] = string(a.Status) + "/" + st
	}
	return out
}

// TestPresenceLapseSetsAgentOffline: agents set online without a console or heartbeat
// go offline after the presence TTL, in PostgreSQL and in the router; a new ticket then
// waits instead of going to them, and the tickets they hold stay theirs. Heartbeats keep
// an agent online; a restart on an empty Redis leaves everybody offline.
func TestPresenceLapseSetsAgentOffline(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	t0 := ts.clock.t
	if _, err := ts.SetAgentStatus(ctx, "bob", AgentAway, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.SetAgentStatus(ctx, "alice", AgentOnline, 2); err != nil {
		t.Fatal(err)
	}
	held := createFor(t, ts, "c1", "alice", "billing")

	// carol's console sends heartbeats; nobody else's does.
	for _, at := range []time.Duration{20 * time.Second, 40 * time.Second, 59 * time.Second} {
		ts.clock.t = t0.Add(at)
		if err := ts.KeepPresent(ctx, "carol"); err != nil {
			t.Fatal(err)
		}
		if got := sweep(t, ts); len(got) != 0 {
			t.Fatalf("lapsed within the TTL at +%s: %v", at, got)
		}
	}
	ts.clock.t = t0.Add(61 * time.Second)
	if diff := cmp.Diff([]string{"alice", "bob"}, sweep(t, ts)); diff != "" {
		t.Fatalf("lapsed after the TTL (-want +got):\n%s", diff)
	}
	want := map[string]string{"alice": "offline/offline", "bob": "offline/offline", "carol": "online/online"}
	if diff := cmp.Diff(want, statuses(t, ts, "alice", "bob", "carol")); diff != "" {
		t.Fatalf("statuses PostgreSQL/router (-want +got):\n%s", diff)
	}
	if got := testutil.ToFloat64(ts.Metrics.PresenceLapsed); got != 2 {
		t.Fatalf("presence lapsed counter %v, want 2", got)
	}
	// alice has a free slot but is absent: a new billing ticket waits.
	waiting, a := create(t, ts, "c2", "billing")
	if a != nil || waiting.Status != StatusOpen {
		t.Fatalf("ticket for an absent agent: %s, %s; want it waiting", agentOf(a), waiting.Status)
	}
	if got, _ := ts.GetTicket(ctx, held.ID); got.AssigneeID != "alice" || got.Status != StatusAssigned {
		t.Fatalf("alice's ticket after she went offline: %s/%s, want still hers", got.AssigneeID, got.Status)
	}
	assertLoads(t, ts, map[string]int{"alice": 1})

	// A supervisor sets alice online without a console: accepted (she pulls the waiting
	// ticket), and it lapses again after the TTL.
	ts.clock.t = t0.Add(70 * time.Second)
	if _, err := ts.SetAgentStatus(ctx, "alice", AgentOnline, -1); err != nil {
		t.Fatal(err)
	}
	if got, _ := ts.GetTicket(ctx, waiting.ID); got.AssigneeID != "alice" {
		t.Fatalf("waiting ticket after alice was set online: %q", got.AssigneeID)
	}
	ts.clock.t = t0.Add(129 * time.Second)
	if err := ts.KeepPresent(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	if got := sweep(t, ts); len(got) != 0 {
		t.Fatalf("lapsed within the TTL of the status change: %v", got)
	}
	ts.clock.t = t0.Add(131 * time.Second)
	if diff := cmp.Diff([]string{"alice"}, sweep(t, ts)); diff != "" {
		t.Fatalf("lapsed after the status change's TTL (-want +got):\n%s", diff)
	}

	// A restart on an empty Redis (the in-process one, or a crash without persistence):
	// the routing state is rebuilt from PostgreSQL (where carol is online) and every
	// heartbeat is gone. Presence counts again from the first sweep after it: carol
	// keeps her status for a TTL, the time her console takes to send a heartbeat
	// again, and lapses without one.
	restartRedis(t, ts)
	ts.clock.t = t0.Add(132 * time.Second)
	if got := sweep(t, ts); len(got) != 0 {
		t.Fatalf("lapsed right after the restart: %v; want a TTL's grace for heartbeats to come", got)
	}
	ts.clock.t = t0.Add(132*time.Second + DefaultPresenceTTL - time.Second)
	if got := sweep(t, ts); len(got) != 0 {
		t.Fatalf("lapsed within a TTL of the restart: %v", got)
	}
	ts.clock.t = t0.Add(132*time.Second + DefaultPresenceTTL + time.Second)
	if diff := cmp.Diff([]string{"carol"}, sweep(t, ts)); diff != "" {
		t.Fatalf("lapsed a TTL after the restart without a heartbeat (-want +got):\n%s", diff)
	}
	if _, a := create(t, ts, "c3", "tech"); a != nil {
		t.Fatalf("after the restart a tech ticket went to %s; want it waiting", a.AgentID)
	}
}

// restartRedis drops every key of the test's prefix (an in-process Redis comes back
// empty) and rebuilds the routing state from PostgreSQL, as serve does on start.
func restartRedis(t *testing.T, ts *testService) {
	t.Helper()
	ctx := context.Background()
	keys, err := ts.rdb.Keys(ctx, "*"+ts.prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) > 0 {
		if err := ts.rdb.Del(ctx, keys...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.Router.EnsureState(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"carol": "online/online"}, statuses(t, ts, "carol")); diff != "" {
		t.Fatalf("before the sweep (-want +got):\n%s", diff)
	}
}

// TestSignOutAndHeartbeat: signing out sets the agent offline at once and forgets the
// presence; the REST heartbeat refreshes it for API-only agents and knows only agents.
func TestSignOutAndHeartbeat(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	held, _ := create(t, ts, "c1", "tech") // bob or carol
	ts.clock.t = ts.clock.t.Add(50 * time.Second)
	if _, err := ts.Heartbeat(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Heartbeat(ctx, "nobody"); err == nil {
		t.Fatal("heartbeat of an unknown agent succeeded")
	}
	a, err := ts.SignOut(ctx, "bob")
	if err != nil || a.Status != AgentOffline {
		t.Fatalf("sign-out: %+v, %v", a, err)
	}
	present, err := ts.Router.Present(ctx, ts.Now())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]bool{"alice": true, "carol": true}, present); diff != "" {
		t.Fatalf("present after bob signed out (-want +got):\n%s", diff)
	}
	ts.clock.t = ts.clock.t.Add(20 * time.Second) // alice's status change is 70 s old, carol's heartbeat 20 s
	if diff := cmp.Diff([]string{"alice"}, sweep(t, ts)); diff != "" {
		t.Fatalf("lapsed (-want +got):\n%s", diff)
	}
	if got, _ := ts.GetTicket(ctx, held.ID); got.AssigneeID == "" || got.Status != StatusAssigned {
		t.Fatalf("held ticket after sign-out: %+v", got)
	}
}

// TestSweepLeavesAgentChangedMeanwhile: an agent whose status changed after the sweeper
// read it is not set offline by that sweep.
func TestSweepLeavesAgentChangedMeanwhile(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	cands, err := ts.store.presenceCandidates(ctx)
	if err != nil || len(cands) != 3 {
		t.Fatalf("candidates %+v, %v", cands, err)
	}
	if _, err := ts.SetAgentStatus(ctx, "alice", AgentAway, -1); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := ts.store.lapseAgent(ctx, cands[0]); err != nil || ok {
		t.Fatalf("lapse of alice as read before her change: ok %v, %v; want left alone", ok, err)
	}
	if a, ok, err := ts.store.lapseAgent(ctx, cands[1]); err != nil || !ok || a.ID != "bob" || a.Status != AgentOffline {
		t.Fatalf("lapse of bob: %+v, %v, %v", a, ok, err)
	}
}
