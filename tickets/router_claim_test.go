package tickets

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// testRouteClaimOverflow: a claim may take a ticket beyond the agent's capacity, up to
// ClaimOverflow; Claimable agrees with Claim; releases pull nothing while the load is at
// or above the capacity; and the dump of the state matches what a rebuild would write.
func testRouteClaimOverflow(t *testing.T, rdb redis.UniversalClient, prefix string) {
	h := newRouterHarness(t, rdb, prefix, RouterOptions{ClaimOverflow: 1})
	h.agent("a1", AgentOnline, 1, "g1")
	h.agent("a2", AgentAway, 1, "g1")
	if got := who(h.route("t1", "g1")); !cmp.Equal(got, []string{"t1>a1@g1 1/1"}) {
		t.Fatalf("t1: %v", got)
	}
	for _, id := range []string{"w1", "w2"} {
		h.route(id, "g1")
	}
	h.route("w3", "g2")
	claimable := func(agent string, ids ...string) []bool {
		t.Helper()
		got, err := h.r.Claimable(h.ctx, agent, ids)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	ids := []string{"w1", "w2", "w3", "t1", "nope"}
	for _, c := range []struct {
		agent string
		want  []bool
	}{
		{"a1", []bool{true, true, false, false, false}}, // full, but one over by claim; w3 is in g2; t1 is held
		{"a2", []bool{false, false, false, false, false}},
		{"ghost", []bool{false, false, false, false, false}},
	} {
		if diff := cmp.Diff(c.want, claimable(c.agent, ids...)); diff != "" {
			t.Errorf("claimable by %s (-want +got):\n%s", c.agent, diff)
		}
	}
	got, err := h.r.Claim(h.ctx, "a1", "w1")
	if err != nil || who(got)[0] != "w1>a1@g1 2/1" {
		t.Fatalf("claim beyond capacity: %v, %v", who(got), err)
	}
	if diff := cmp.Diff([]bool{false}, claimable("a1", "w2")); diff != "" {
		t.Errorf("claimable at capacity + overflow (-want +got):\n%s", diff)
	}
	if _, err := h.r.Claim(h.ctx, "a1", "w2"); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("claim beyond capacity + overflow: %v, want ErrNoCapacity", err)
	}
	if _, err := h.r.Claim(h.ctx, "a2", "w2"); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("claim while away: %v, want ErrNoCapacity", err)
	}
	if got := h.release("a1", "t1"); len(got) != 0 {
		t.Fatalf("release at load 2 of 1 pulled %v", who(got...))
	}
	if got := who(h.release("a1", "w1")...); !cmp.Equal(got, []string{"w2>a1@g1 1/1"}) {
		t.Fatalf("release to load 0 pulled %v, want w2", got)
	}
	st, err := h.r.dump(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap := RouterSnapshot{
		Agents: []RouterAgent{{ID: "a1", Status: AgentOnline, Capacity: 1, Groups: []string{"g1"}},
			{ID: "a2", Status: AgentAway, Capacity: 1, Groups: []string{"g1"}}},
		Assigned: []RouterAssigned{{TicketID: "w2", AgentID: "a1"}},
		Waiting:  []RouterWaiting{{TicketID: "w3", Groups: candidates("g2")}},
	}
	if d := diffRouting(snap, st); len(d) != 0 {
		t.Errorf("dumped state differs from the expected one: %+v", d)
	}
}
