package tickets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// routerBackend is one Redis flavour the router contract suite runs against.
type routerBackend struct {
	name string
	open func(t *testing.T) (redis.UniversalClient, string)
}

var routerBackends = []routerBackend{
	{"miniredis", func(t *testing.T) (redis.UniversalClient, string) {
		_, c := testenv.Miniredis(t)
		return c, "mini"
	}},
	{"redis", func(t *testing.T) (redis.UniversalClient, string) { return testenv.Redis(t) }},
	{"cluster", func(t *testing.T) (redis.UniversalClient, string) {
		return testenv.RedisCluster(t), testenv.ClusterPrefix(t)
	}},
}

// fakeClock is the routers' injected clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

var routerT0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// routerHarness is one fresh router (own prefix, empty built state) plus helpers.
type routerHarness struct {
	t     *testing.T
	ctx   context.Context
	r     *RedisRouter
	clock *fakeClock
}

func newRouterHarness(t *testing.T, rdb redis.UniversalClient, prefix string, opts RouterOptions) *routerHarness {
	t.Helper()
	clock := &fakeClock{now: routerT0}
	opts.Prefix = prefix + "-" + strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	h := &routerHarness{t: t, ctx: t.Context(), r: NewRedisRouter(rdb, opts), clock: clock}
	if err := h.r.Rebuild(h.ctx, RouterSnapshot{}); err != nil {
		t.Fatalf("initial rebuild: %v", err)
	}
	t.Cleanup(func() {
		if err := h.r.dropState(context.Background()); err != nil {
			t.Errorf("drop router state: %v", err)
		}
	})
	return h
}

func (h *routerHarness) agent(id string, st AgentStatus, capacity int, groups ...string) []RouteResult {
	h.t.Helper()
	res, err := h.r.SetAgent(h.ctx, id, st, capacity, groups)
	if err != nil {
		h.t.Fatalf("SetAgent(%s): %v", id, err)
	}
	return res
}

// route routes a normal ticket created now, with a deadline in an hour, to groups
// given as "id" or "id=skill" (default skill 1).
func (h *routerHarness) route(id string, groups ...string) RouteResult {
	h.t.Helper()
	res, err := h.r.Route(h.ctx, RouteRequest{TicketID: id, Groups: candidates(groups...),
		CreatedAt: routerT0, Deadline: routerT0.Add(time.Hour)})
	if err != nil {
		h.t.Fatalf("Route(%s): %v", id, err)
	}
	return res
}

func (h *routerHarness) release(agent, ticket string) []RouteResult {
	h.t.Helper()
	res, err := h.r.Release(h.ctx, agent, ticket)
	if err != nil {
		h.t.Fatalf("Release(%s, %s): %v", agent, ticket, err)
	}
	return res
}

func (h *routerHarness) depth(group string) int64 {
	h.t.Helper()
	n, err := h.r.QueueDepth(h.ctx, group)
	if err != nil {
		h.t.Fatalf("QueueDepth(%s): %v", group, err)
	}
	return n
}

func (h *routerHarness) loads(ids ...string) map[string][2]int {
	h.t.Helper()
	out := make(map[string][2]int)
	for _, id := range ids {
		var l, c int
		var err error
		if strings.HasPrefix(id, "g") {
			l, c, err = h.r.GroupLoad(h.ctx, id)
		} else {
			l, c, err = h.r.AgentLoad(h.ctx, id)
		}
		if err != nil {
			h.t.Fatalf("load of %s: %v", id, err)
		}
		out[id] = [2]int{l, c}
	}
	return out
}

func candidates(groups ...string) []GroupCandidate {
	var out []GroupCandidate
	for _, g := range groups {
		id, skill, ok := strings.Cut(g, "=")
		c := GroupCandidate{ID: id, SkillMatch: 1}
		if ok {
			fmt.Sscan(skill, &c.SkillMatch)
		}
		out = append(out, c)
	}
	return out
}

// who summarises results as "ticket>agent@group load/cap" (or "ticket waits").
func who(res ...RouteResult) []string {
	var out []string
	for _, r := range res {
		if !r.Assigned {
			out = append(out, r.TicketID+" waits")
			continue
		}
		out = append(out, fmt.Sprintf("%s>%s@%s %d/%d", r.TicketID, r.AgentID, r.GroupID, r.Load, r.Capacity))
	}
	return out
}

func TestRouterContract(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, rdb redis.UniversalClient, prefix string)
	}{
		{"LeastLoaded", testRouteLeastLoaded},
		{"CapacityNeverExceeded", testRouteCapacity},
		{"NoAgentWaits", testRouteNoAgentWaits},
		{"PullOnRelease", testRoutePullOnRelease},
		{"PriorityOrder", testRoutePriorityOrder},
		{"MultiGroupLoad", testRouteMultiGroupLoad},
		{"Breakdown", testRouteBreakdown},
		{"ClaimAssignForget", testRouteClaimAssignForget},
		{"ClaimOverflow", testRouteClaimOverflow},
		{"Idempotent", testRouteIdempotent},
		{"RebuildFromSnapshot", testRouteRebuild},
		{"NoState", testRouteNoState},
	}
	for _, b := range routerBackends {
		t.Run(b.name, func(t *testing.T) {
			rdb, prefix := b.open(t)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.run(t, rdb, prefix) })
			}
		})
	}
}

func testRouteLeastLoaded(t *testing.T, rdb redis.UniversalClient, prefix string) {
	h := newRouterHarness(t, rdb, prefix, RouterOptions{})
	h.agent("a1", AgentOnline, 3, "g1")
	h.agent("a2", AgentOnline, 2, "g1")
	h.agent("a3", AgentOnline, 1, "g1")
	var got []RouteResult
	for i := 1; i <= 7; i++ {
		got = append(got, h.route(fmt.Sprintf("t%d", i), "g1"))
	}
	want := []string{"t1>a1@g1 1/3", "t2>a2@g1 1/2", "t3>a3@g1 1/1", "t4>a1@g1 2/3",
		"t5>a2@g1 2/2", "t6>a1@g1 3/3", "t7 waits"}
	if diff := cmp.Diff(want, who(got...)); diff != "" {
		t.Errorf("assignments (-want +got):\n%s", diff)
	}
}

func testRouteCapacity(t *testing.T, rdb redis.UniversalClient, prefix string) {
	h := newRouterHarness(t, rdb, prefix, RouterOptions{})
	h.agent("a1", AgentOnline, 2, "g1")
	h.agent("a2", AgentOnline, 3, "g1", "g2")
	assigned := 0
	for i := range 12 {
		if r := h.route(fmt.Sprintf("t%02d", i), "g1", "g2"); r.Assigned {
			assigned++
			if r.Load > r.Capacity {
				t.Errorf("%s: load %d > capacity %d", r.TicketID, r.Load, r.Capacity)
			}
		}
	}
	if assigned != 5 || h.depth("g1") != 7 || h.depth("g2") != 7 {
		t.Errorf("assigned %d, depth g1 %d g2 %d; want 5, 7, 7", assigned, h.depth("g1"), h.depth("g2"))
	}
	// Lowering a1's capacity below its load: its releases free no slot until load < cap.
	h.agent("a1", AgentOnline, 1, "g1")
	if got := h.release("a1", "t00"); len(got) != 0 {
		t.Errorf("release at load = new capacity pulled %v", who(got...))
	}
	got := h.release("a1", "t03")
	want := map[string][2]int{"a1": {1, 1}, "a2": {3, 3}, "g1": {4, 4}, "g2": {3, 3}}
	if diff := cmp.Diff(want, h.loads("a1", "a2", "g1", "g2")); diff != "" || len(got) != 1 {
		t.Errorf("after releases pulled %v; loads (-want +got):\n%s", who(got...), diff)
	}
}

func testRouteNoAgentWaits(t *testing.T, rdb redis.UniversalClient, prefix string) {
	h := newRouterHarness(t, rdb, prefix, RouterOptions{})
	r := h.route("t1", "g1=0.5", "g2=0.9")
	if r.Assigned || r.GroupID != "g2" || r.Score.GroupLoad != 1 {
		t.Errorf("route without agents = %+v; want waiting, best group g2, group load 1", r)
	}
	if h.depth("g1") != 1 || h.depth("g2") != 1 {
		t.Errorf("depth g1 %d g2 %d; want 1 and 1", h.depth("g1"), h.depth("g2"))
	}
	h.agent("a1", AgentAway, 1, "g1")
	pulled := h.agent("a1", AgentOnline, 1, "g1")
	if diff := cmp.Diff([]string{"t1>a1@g1 1/1"}, who(pulled...)); diff != "" {
		t.Errorf("going online pulled (-want +got):\n%s", diff)
	}
	if pulled[0].Reason != "pull" || h.depth("g1") != 0 || h.depth("g2") != 0 {
		t.Errorf("reason %q, depth g1 %d g2 %d; want pull, 0, 0", pulled[0].Reason, h.depth("g1"), h.depth("g2"))
	}
	h.release("a1", "t1")
	h.agent("a1", AgentOffline, 1, "g1") // an idle agent leaving: zero load deltas
	if diff := cmp.Diff(map[string][2]int{"a1": {0, 1}, "g1": {0, 0}}, h.loads("a1", "g1")); diff != "" {
		t.Errorf("idle agent offline: loads (-want +got):\n%s", diff)
	}
}

func testRoutePullOnRelease(t *testing.T, rdb redis.UniversalClient, prefix string) {
	h := newRouterHarness(t, rdb, prefix, RouterOptions{})
	h.agent("a1", AgentOnline, 1, "g1")
	h.agent("b1", AgentOnline, 1, "g2")
	got := who(h.route("t1", "g1"), h.route("t2", "g1"), h.route("t3", "g2"), h.route("t4", "g1", "g2"))
	got = append(got, who(h.release("a1", "t1")...)...)
	got = append(got, who(h.release("b1", "t3")...)...)
	got = append(got, who(h.release("b1", "t4")...)...)
	want := []string{"t1>a1@g1 1/1", "t2 waits", "t3>b1@g2 1/1", "t4 waits",
		"t2>a1@g1 1/1", "t4>b1@g2 1/1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if _, err := h.r.Release(h.ctx, "a1", "t4"); !errors.Is(err, ErrNotFound) {
		t.Errorf("release of another agent's ticket: %v, want ErrNotFound", err)
	}
	h.agent("a1", AgentAway, 1, "g1")
	h.route("t5", "g1")
	if got := h.release("a1", "t2"); len(got) != 0 || h.depth("g1") != 1 {
		t.Errorf("away agent's release pulled %v (depth %d); want nothing", who(got...), h.depth("g1"))
	}
}

func testRoutePriorityOrder(t *testing.T, rdb redis.UniversalClient, prefix string) {
	h := newRouterHarness(t, rdb, prefix, RouterOptions{VIPBoost: 15 * time.Minute})
	tickets := []struct {
		id       string
		vip      int
		created  time.Duration // relative to T0
		deadline time.Duration // relative to T0; 0 = none (created + 24h)
	}{
		{"a-due60", 0, 0, 60 * time.Minute},
		{"b-due70-vip1", 1, 0, 70 * time.Minute},     // 55m
		{"c-due50", 0, 0, 50 * time.Minute},          // 50m
		{"d-nodeadline", 0, 0, 0},                    // 24h
		{"e-nodeadline-older", 0, -2 * time.Hour, 0}, // 22h
		{"f-due100-vip3", 3, 0, 100 * time.Minute},   // 55m, ties with b: ticket id decides
	}
	for _, tk := range tickets {
		req := RouteRequest{TicketID: tk.id, Groups: candidates("g1"), VIPTier: tk.vip,
			CreatedAt: routerT0.Add(tk.created)}
		if tk.deadline != 0 {
			req.Deadline = routerT0.Add(tk.deadline)
		}
		if _, err := h.r.Route(h.ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	var order []string
	res := h.agent("a1", AgentOnline, 1, "g1")
	for len(res) == 1 {
		order = append(order, res[0].TicketID)
		res = h.release("a1", res[0].TicketID)
	}
	want := []string{"c-due50", "b-due70-vip1", "f-due100-vip3", "a-due60", "e-nodeadline-older", "d-nodeadline"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("pull order (-want +got):\n%s", diff)
	}
}

func testRouteMultiGroupLoad(t *testing.T, rdb redis.UniversalClient, prefix string) {
	h := newRouterHarness(t, rdb, prefix, RouterOptions{})
	ids := []string{"a1", "a2", "g1", "g2"}
	h.agent("a1", AgentOnline, 2, "g1", "g2")
	h.agent("a2", AgentOnline, 1, "g1")
	steps := []struct {
		name string
		do   func() []RouteResult
		want map[string][2]int
	}{
		{"t1 to g2", func() []RouteResult { return []RouteResult{h.route("t1", "g2")} },
			map[string][2]int{"a1": {1, 2}, "a2": {0, 1}, "g1": {1, 3}, "g2": {1, 2}}},
		{"t2 to g1 (a2 freer)", func() []RouteResult { return []RouteResult{h.route("t2", "g1")} },
			map[string][2]int{"a1": {1, 2}, "a2": {1, 1}, "g1": {2, 3}, "g2": {1, 2}}},
		{"t3 to g1", func() []RouteResult { return []RouteResult{h.route("t3", "g1")} },
			map[string][2]int{"a1": {2, 2}, "a2": {1, 1}, "g1": {3, 3}, "g2": {2, 2}}},
		{"t4 waits in g2", func() []RouteResult { return []RouteResult{h.route("t4", "g2")} },
			map[string][2]int{"a1": {2, 2}, "a2": {1, 1}, "g1": {3, 3}, "g2": {2, 2}}},
		{"a1 offline", func() []RouteResult { return h.agent("a1", AgentOffline, 2, "g1", "g2") },
			map[string][2]int{"a1": {2, 2}, "a2": {1, 1}, "g1": {1, 1}, "g2": {0, 0}}},
		{"offline release", func() []RouteResult { return h.release("a1", "t1") },
			map[string][2]int{"a1": {1, 2}, "a2": {1, 1}, "g1": {1, 1}, "g2": {0, 0}}},
		{"a1 online pulls t4", func() []RouteResult { return h.agent("a1", AgentOnline, 2, "g1", "g2") },
			map[string][2]int{"a1": {2, 2}, "a2": {1, 1}, "g1": {3, 3}, "g2": {2, 2}}},
		{"a1 leaves g2", func() []RouteResult { return h.agent("a1", AgentOnline, 2, "g1") },
			map[string][2]int{"a1": {2, 2}, "a2": {1, 1}, "g1": {3, 3}, "g2": {0, 0}}},
		{"repeated group counts once", func() []RouteResult { return h.agent("a2", AgentOnline, 1, "g1", "g1") },
			map[string][2]int{"a1": {2, 2}, "a2": {1, 1}, "g1": {3, 3}, "g2": {0, 0}}},
	}
	for _, s := range steps {
		res := s.do()
		for _, r := range res {
			if r.Assigned && r.Load > r.Capacity {
				t.Errorf("%s: %v exceeds capacity", s.name, who(r))
			}
		}
		if diff := cmp.Diff(s.want, h.loads(ids...)); diff != "" {
			t.Errorf("%s: loads (-want +got):\n%s", s.name, diff)
		}
	}
}

func testRouteBreakdown(t *testing.T, rdb redis.UniversalClient, prefix string) {
	w := Weights{VIP: 0.25, Skill: 0.5, Load: 0.125, Wait: 0.125}
	// Dyadic weights and inputs keep every term exact in float64, whatever the order of sums.
	g1 := Breakdown{VIP: 0.25, SkillMatch: 0.375, Load: 0.09375, Wait: 0.0625, Total: 0.78125, GroupLoad: 0.25, Weights: w}
	cases := []struct {
		name    string
		g2Skill string
		want    RouteResult
	}{
		{"busier group wins on skill", "0.25", RouteResult{Assigned: true, TicketID: "t1", AgentID: "a1", GroupID: "g1",
			Load: 2, Capacity: 4, Reason: "route", Score: g1}},
		{"better total elsewhere", "1", RouteResult{Assigned: true, TicketID: "t1", AgentID: "b1", GroupID: "g2",
			Load: 1, Capacity: 1, Reason: "route", Score: Breakdown{VIP: 0.25, SkillMatch: 0.5, Load: 0.125,
				Wait: 0.0625, Total: 0.9375, GroupLoad: 0, Weights: w}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newRouterHarness(t, rdb, prefix, RouterOptions{Weights: w, AgingHorizon: 30 * time.Minute})
			h.agent("a1", AgentOnline, 4, "g1")
			h.agent("b1", AgentOnline, 1, "g2")
			h.route("t0", "g1") // group g1 at load 1/4
			h.clock.set(routerT0.Add(15 * time.Minute))
			got, err := h.r.Route(h.ctx, RouteRequest{TicketID: "t1", VIPTier: 3, CreatedAt: routerT0,
				Groups: candidates("g1=0.75", "g2="+c.g2Skill)})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got, cmpopts.IgnoreFields(RouteResult{}, "Seq")); diff != "" {
				t.Errorf("route (-want +got):\n%s", diff)
			}
			again, err := h.r.Route(h.ctx, RouteRequest{TicketID: "t1", Groups: candidates("g1")})
			if err != nil || !cmp.Equal(got, again) {
				t.Errorf("repeated route = %+v, %v; want the stored assignment %+v", again, err, got)
			}
		})
	}
	t.Run("weights change", func(t *testing.T) {
		h := newRouterHarness(t, rdb, prefix, RouterOptions{})
		h.r.SetWeights(w)
		got := h.route("t1", "g1=0.5")
		want := Breakdown{SkillMatch: 0.25, Total: 0.25, GroupLoad: 1, Weights: w}
		if diff := cmp.Diff(want, got.Score); diff != "" || h.r.Weights() != w {
			t.Errorf("waiting breakdown (-want +got):\n%s", diff)
		}
	})
}

func testRouteClaimAssignForget(t *testing.T, rdb redis.UniversalClient, prefix string) {
	h := newRouterHarness(t, rdb, prefix, RouterOptions{})
	snap := RouterSnapshot{
		Agents: []RouterAgent{{ID: "a1", Status: AgentOnline, Capacity: 1, Groups: []string{"g1"}},
			{ID: "a2", Status: AgentOnline, Capacity: 1, Groups: []string{"g1"}},
			{ID: "a3", Status: AgentOffline, Capacity: 2, Groups: []string{"g1"}},
			{ID: "a4", Status: AgentOnline, Capacity: 1, Groups: []string{"g9"}},
			{ID: "a5", Status: AgentOnline, Capacity: 1, Groups: []string{"g1", "g2"}}},
		Waiting: []RouterWaiting{{TicketID: "w1", Groups: candidates("g1"), CreatedAt: routerT0},
			{TicketID: "w2", Groups: candidates("g1", "g2=0.5"), CreatedAt: routerT0},
			{TicketID: "w3", Groups: candidates("g2"), CreatedAt: routerT0}},
		Assigned: []RouterAssigned{{TicketID: "x1", AgentID: "a2"}},
	}
	if err := h.r.Rebuild(h.ctx, snap); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		do      func() (RouteResult, error)
		want    string
		wantErr error
	}{
		{"claim", func() (RouteResult, error) { return h.r.Claim(h.ctx, "a1", "w1") }, "w1>a1@g1 1/1", nil},
		{"claim again", func() (RouteResult, error) { return h.r.Claim(h.ctx, "a1", "w1") }, "w1>a1@g1 1/1", nil},
		{"claim held by other", func() (RouteResult, error) { return h.r.Claim(h.ctx, "a2", "w1") }, "", ErrConflict},
		{"claim when full", func() (RouteResult, error) { return h.r.Claim(h.ctx, "a2", "w2") }, "", ErrNoCapacity},
		{"claim when offline", func() (RouteResult, error) { return h.r.Claim(h.ctx, "a3", "w2") }, "", ErrNoCapacity},
		{"claim outside groups", func() (RouteResult, error) { return h.r.Claim(h.ctx, "a4", "w2") }, "", ErrForbidden},
		{"claim unknown ticket", func() (RouteResult, error) { return h.r.Claim(h.ctx, "a5", "nope") }, "", ErrNotFound},
		{"claim unknown agent", func() (RouteResult, error) { return h.r.Claim(h.ctx, "ghost", "w2") }, "", ErrNotFound},
		{"claim best group", func() (RouteResult, error) { return h.r.Claim(h.ctx, "a5", "w2") }, "w2>a5@g1 1/1", nil},
		{"assign when full", func() (RouteResult, error) { return h.r.AssignTo(h.ctx, "a2", "w3", "g2") }, "", ErrNoCapacity},
		{"assign when offline", func() (RouteResult, error) { return h.r.AssignTo(h.ctx, "a3", "w3", "g2") }, "", ErrNoCapacity},
		{"assign held by other", func() (RouteResult, error) { return h.r.AssignTo(h.ctx, "a4", "x1", "") }, "", ErrConflict},
		{"assign unknown agent", func() (RouteResult, error) { return h.r.AssignTo(h.ctx, "ghost", "w3", "") }, "", ErrNotFound},
		{"assign", func() (RouteResult, error) { return h.r.AssignTo(h.ctx, "a4", "w3", "") }, "w3>a4@g9 1/1", nil},
		{"assign again", func() (RouteResult, error) { return h.r.AssignTo(h.ctx, "a4", "w3", "g2") }, "w3>a4@g9 1/1", nil},
	}
	for _, s := range steps {
		got, err := s.do()
		if !errors.Is(err, s.wantErr) || (err == nil && who(got)[0] != s.want) {
			t.Errorf("%s = %v, %v; want %q, %v", s.name, who(got), err, s.want, s.wantErr)
		}
	}
	if d := h.depth("g1") + h.depth("g2"); d != 0 {
		t.Errorf("wait sets hold %d tickets after claims; want 0", d)
	}
	h.route("w4", "g1", "g2")
	for _, c := range []struct {
		ticket  string
		wantErr error
	}{{"x1", ErrConflict}, {"w4", nil}, {"w4", nil}, {"never-seen", nil}} {
		if err := h.r.Forget(h.ctx, c.ticket); !errors.Is(err, c.wantErr) {
			t.Errorf("Forget(%s) = %v; want %v", c.ticket, err, c.wantErr)
		}
	}
	if _, err := h.r.Claim(h.ctx, "a1", "w4"); !errors.Is(err, ErrNotFound) || h.depth("g1")+h.depth("g2") != 0 {
		t.Errorf("claim of a forgotten ticket: %v; want ErrNotFound and empty wait sets", err)
	}
}

func testRouteIdempotent(t *testing.T, rdb redis.UniversalClient, prefix string) {
	h := newRouterHarness(t, rdb, prefix, RouterOptions{})
	h.agent("a1", AgentOnline, 2, "g1")
	first, second := h.route("t1", "g1"), h.route("t1", "g1")
	if diff := cmp.Diff(first, second); diff != "" || h.loads("a1")["a1"] != [2]int{1, 2} {
		t.Errorf("second route differs (-first +second):\n%s\nloads %v", diff, h.loads("a1"))
	}
	h.route("t2", "g1")
	h.route("t3", "g1")
	h.route("t3", "g1", "g2")
	h.route("t3", "g2")
	if h.depth("g1") != 0 || h.depth("g2") != 1 {
		t.Errorf("re-routed waiting ticket: depth g1 %d g2 %d; want 0 and 1", h.depth("g1"), h.depth("g2"))
	}
	for _, req := range []RouteRequest{{TicketID: "t9"}, {Groups: candidates("g1")},
		{TicketID: "t9", Groups: candidates("g,1")}} {
		if _, err := h.r.Route(h.ctx, req); !errors.Is(err, ErrInvalid) {
			t.Errorf("Route(%+v) = %v; want ErrInvalid", req, err)
		}
	}
}

func testRouteRebuild(t *testing.T, rdb redis.UniversalClient, prefix string) {
	h := newRouterHarness(t, rdb, prefix, RouterOptions{})
	h.agent("old", AgentOnline, 5, "g1", "g7")
	h.route("stale", "g7")
	snap := RouterSnapshot{
		Agents: []RouterAgent{{ID: "a1", Status: AgentOnline, Capacity: 2, Groups: []string{"g1", "g2"}},
			{ID: "a2", Status: AgentAway, Capacity: 3, Groups: []string{"g1"}}},
		Assigned: []RouterAssigned{{TicketID: "x1", AgentID: "a1"}, {TicketID: "x2", AgentID: "a1"},
			{TicketID: "x3", AgentID: "a2"}},
		Waiting: []RouterWaiting{{TicketID: "w2", Groups: candidates("g2"), CreatedAt: routerT0},
			{TicketID: "w1", Groups: candidates("g1", "g2"), CreatedAt: routerT0, VIPTier: 2}},
	}
	if err := h.r.Rebuild(h.ctx, snap); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int{"a1": {2, 2}, "a2": {1, 3}, "g1": {2, 2}, "g2": {2, 2}, "g7": {0, 0}}
	if diff := cmp.Diff(want, h.loads("a1", "a2", "g1", "g2", "g7")); diff != "" {
		t.Errorf("rebuilt loads (-want +got):\n%s", diff)
	}
	if _, _, err := h.r.AgentLoad(h.ctx, "old"); !errors.Is(err, ErrNotFound) || h.depth("g7") != 0 {
		t.Errorf("old state survived the rebuild: %v, depth g7 %d", err, h.depth("g7"))
	}
	got := append(h.release("a1", "x1"), h.release("a1", "x2")...)
	if diff := cmp.Diff([]string{"w1>a1@g1 2/2", "w2>a1@g2 2/2"}, who(got...)); diff != "" {
		t.Errorf("pulls after rebuild (-want +got):\n%s", diff)
	}
}

func testRouteNoState(t *testing.T, rdb redis.UniversalClient, prefix string) {
	h := newRouterHarness(t, rdb, prefix, RouterOptions{})
	if err := h.r.dropState(h.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.r.Route(h.ctx, RouteRequest{TicketID: "t1", Groups: candidates("g1")}); !errors.Is(err, ErrNoState) {
		t.Fatalf("route without state and Snapshot: %v; want ErrNoState", err)
	}
	calls := 0
	r := NewRedisRouter(rdb, RouterOptions{Prefix: h.r.opts.Prefix, Snapshot: func(context.Context) (RouterSnapshot, error) {
		calls++
		return RouterSnapshot{Agents: []RouterAgent{{ID: "a1", Status: AgentOnline, Capacity: 1, Groups: []string{"g1"}}}}, nil
	}})
	got, err := r.Route(h.ctx, RouteRequest{TicketID: "t1", Groups: candidates("g1")})
	if err != nil || calls != 1 || !cmp.Equal(who(got), []string{"t1>a1@g1 1/1"}) {
		t.Errorf("route with Snapshot = %v, %v after %d snapshots; want t1>a1 after 1", who(got), err, calls)
	}
}
