package tickets

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// claimableIn maps each waiting ticket of the agent's queue to its claimable flag.
func claimableIn(t *testing.T, ts *testService, agent string) map[string]bool {
	t.Helper()
	q, err := ts.AgentQueue(context.Background(), agent)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, w := range q.Waiting {
		out[w.ID] = w.Claimable
	}
	return out
}

// TestClaimBeyondCapacityUpToOverflow: a ticket waits only when its group's agents are
// full, so a claim must be allowed beyond the capacity (up to the claim overflow) to
// ever succeed. The queue marks what the caller can claim; automatic routing still
// never exceeds the capacity and pulls nothing while the load is at or above it.
func TestClaimBeyondCapacityUpToOverflow(t *testing.T) {
	ts := newTestService(t)
	ts.Router.opts.ClaimOverflow = 2
	setupTeam(t, ts)
	ctx := context.Background()
	alice := Actor{ID: "alice"}
	if _, err := ts.SetAgentStatus(ctx, "bob", AgentAway, -1); err != nil {
		t.Fatal(err)
	}
	t1, a := create(t, ts, "c1", "billing")
	if agentOf(a) != "alice" {
		t.Fatalf("t1 went to %s", agentOf(a))
	}
	var waiting []Ticket
	for _, c := range []string{"c2", "c3", "c4"} {
		ts.clock.t = ts.clock.t.Add(time.Second)
		w, a := create(t, ts, c, "billing")
		if a != nil {
			t.Fatalf("ticket of %s went to %s with alice full", c, a.AgentID)
		}
		waiting = append(waiting, w)
	}
	w2, w3, w4 := waiting[0], waiting[1], waiting[2]
	all := map[string]bool{w2.ID: true, w3.ID: true, w4.ID: true}
	if diff := cmp.Diff(all, claimableIn(t, ts, "alice")); diff != "" {
		t.Fatalf("alice (full, overflow 2) may claim (-want +got):\n%s", diff)
	}
	for _, w := range []Ticket{w3, w2} {
		got, err := ts.Claim(ctx, alice, w.ID)
		if err != nil || got.AssigneeID != "alice" || got.Status != StatusAssigned {
			t.Fatalf("claim beyond capacity: %+v, %v", got, err)
		}
	}
	if diff := cmp.Diff(map[string]bool{w4.ID: false}, claimableIn(t, ts, "alice")); diff != "" {
		t.Fatalf("alice at capacity + overflow may claim (-want +got):\n%s", diff)
	}
	if _, err := ts.Claim(ctx, alice, w4.ID); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("claim beyond capacity + overflow: %v, want ErrNoCapacity", err)
	}
	if diff := cmp.Diff(map[string]bool{}, claimableIn(t, ts, "carol")); diff != "" {
		t.Fatalf("carol (tech) sees billing tickets (-want +got):\n%s", diff)
	}
	// New tickets wait; freed slots pull nothing until the load is below the capacity.
	ts.clock.t = ts.clock.t.Add(time.Second) // younger than w4, which is pulled first
	if _, a := create(t, ts, "c5", "billing"); a != nil {
		t.Fatalf("routing gave alice (3 of 1) another ticket")
	}
	for i, id := range []string{t1.ID, w2.ID, w3.ID} {
		if _, err := ts.Resolve(ctx, alice, id); err != nil {
			t.Fatal(err)
		}
		got, _ := ts.GetTicket(ctx, w4.ID)
		if pulled := got.AssigneeID == "alice"; pulled != (i == 2) {
			t.Fatalf("after resolving %d of 3: w4 assignee %q", i+1, got.AssigneeID)
		}
	}
	assertLoads(t, ts, map[string]int{"alice": 1})
}

// TestClaimNeedsOnlineAgent: an agent who is away can claim nothing, and the queue
// says so.
func TestClaimNeedsOnlineAgent(t *testing.T) {
	ts := newTestService(t)
	ts.Router.opts.ClaimOverflow = 2
	setupTeam(t, ts)
	ctx := context.Background()
	for _, id := range []string{"alice", "bob"} {
		if _, err := ts.SetAgentStatus(ctx, id, AgentAway, -1); err != nil {
			t.Fatal(err)
		}
	}
	w, _ := create(t, ts, "c1", "billing")
	if diff := cmp.Diff(map[string]bool{w.ID: false}, claimableIn(t, ts, "alice")); diff != "" {
		t.Fatalf("away alice may claim (-want +got):\n%s", diff)
	}
	if _, err := ts.Claim(ctx, Actor{ID: "alice"}, w.ID); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("claim while away: %v, want ErrNoCapacity", err)
	}
}

// TestQueueFiguresSayWhatTheyAre: per group, the number of waiting tickets, how long
// the oldest has waited (a duration, not a count), the assigned count, the backlog,
// load and capacity.
func TestQueueFiguresSayWhatTheyAre(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	t0 := ts.clock.t
	create(t, ts, "c1", "billing") // alice
	create(t, ts, "c2", "billing") // bob
	create(t, ts, "c3", "billing") // bob, now everyone in billing is full
	ts.clock.t = t0.Add(10 * time.Second)
	create(t, ts, "c4", "billing")
	ts.clock.t = t0.Add(40 * time.Second)
	create(t, ts, "c5", "billing")
	ts.clock.t = t0.Add(3 * time.Minute)
	got, err := ts.Queues(ctx, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	want := []GroupQueue{
		{GroupID: "billing", WaitingTickets: 2, OldestWaitSeconds: 170, AssignedTickets: 3, Backlog: 5, Load: 3, Capacity: 3},
		{GroupID: "tech", Load: 2, Capacity: 3},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("queues (-want +got):\n%s", diff)
	}
}

// TestAgentWritesReturnTheLoadAfterThePull: raising an agent's capacity pulls waiting
// tickets; the agent returned is as it is after that pull.
func TestAgentWritesReturnTheLoadAfterThePull(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	if _, err := ts.SetAgentStatus(ctx, "alice", AgentAway, -1); err != nil {
		t.Fatal(err)
	}
	create(t, ts, "c0", "tech") // bob or carol
	create(t, ts, "c1", "tech")
	for _, c := range []string{"c2", "c3", "c4", "c5"} {
		create(t, ts, c, "tech") // all wait: tech is full
	}
	a, err := ts.PutAgent(ctx, "admin", Agent{ID: "carol", Groups: []string{"tech"}, Capacity: 3})
	if err != nil || a.Load != 3 || a.Capacity != 3 {
		t.Fatalf("PUT carol capacity 3: load %d/%d, %v; want 3/3", a.Load, a.Capacity, err)
	}
	a, err = ts.SetAgentStatus(ctx, "bob", AgentOnline, 4)
	if err != nil || a.Load != 3 {
		t.Fatalf("bob capacity 4: load %d, %v; want 3", a.Load, err)
	}
}

// TestAgentsCapacityUpToTheirMaximum: agents may lower their own capacity and raise it
// again up to the maximum their supervisor set; above it is forbidden. A supervisor may
// set any capacity, which raises the maximum.
func TestAgentsCapacityUpToTheirMaximum(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	a, err := ts.PutAgent(ctx, "admin", Agent{ID: "bob", Groups: []string{"billing", "tech"}, Capacity: 3})
	if err != nil || a.MaxCapacity != 3 {
		t.Fatalf("PUT bob: max %d, %v; want 3 (the capacity)", a.MaxCapacity, err)
	}
	steps := []struct {
		name     string
		byAgent  bool
		capacity int
		wantCap  int
		wantMax  int
		wantErr  error
	}{
		{"agent lowers", true, 1, 1, 3, nil},
		{"agent raises back to the maximum", true, 3, 3, 3, nil},
		{"agent above the maximum", true, 4, 3, 3, ErrForbidden},
		{"agent leaves capacity alone", true, -1, 3, 3, nil},
		{"supervisor raises", false, 6, 6, 6, nil},
		{"supervisor lowers", false, 2, 2, 6, nil},
		{"agent raises to the new maximum", true, 6, 6, 6, nil},
	}
	for _, s := range steps {
		set := ts.SetAgentStatus
		if s.byAgent {
			set = ts.SetOwnStatus
		}
		_, err := set(ctx, "bob", AgentOnline, s.capacity)
		got, gerr := ts.store.GetAgent(ctx, "bob")
		if !errors.Is(err, s.wantErr) || gerr != nil || got.Capacity != s.wantCap || got.MaxCapacity != s.wantMax {
			t.Errorf("%s: capacity %d max %d, %v; want %d max %d, %v", s.name, got.Capacity, got.MaxCapacity, err, s.wantCap, s.wantMax, s.wantErr)
		}
	}
	if _, err := ts.PutAgent(ctx, "admin", Agent{ID: "bob", Capacity: 5, MaxCapacity: 4}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("max_capacity below capacity: %v, want ErrInvalid", err)
	}
	if a, err := ts.PutAgent(ctx, "admin", Agent{ID: "bob", Groups: []string{"billing"}, Capacity: 2, MaxCapacity: 8}); err != nil || a.MaxCapacity != 8 {
		t.Fatalf("PUT with max_capacity 8: %+v, %v", a, err)
	}
}
