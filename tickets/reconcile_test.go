package tickets

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// crashAfterRoute does what CreateTicket does up to the routing decision and then
// "crashes": the ticket is open in PostgreSQL, the Lua script has assigned it in Redis,
// and the PostgreSQL apply never runs (security review M8).
func crashAfterRoute(t *testing.T, ts *testService, customer string) Ticket {
	t.Helper()
	ctx := context.Background()
	cust, err := ts.store.UpsertCustomer(ctx, Customer{PseudonymousID: customer}, false)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := ts.store.CreateConversation(ctx, cust.ID, "api")
	if err != nil {
		t.Fatal(err)
	}
	tk, err := ts.store.InsertTicket(ctx, Ticket{CustomerID: cust.ID, ConversationID: conv, Status: StatusOpen,
		Priority: PriorityNormal, Skills: []string{"billing"}, GroupID: "billing", CreatedAt: ts.Now()}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ts.Router.Route(ctx, RouteRequest{TicketID: tk.ID, Groups: []GroupCandidate{{ID: "billing", SkillMatch: 1}},
		Priority: tk.Priority, CreatedAt: tk.CreatedAt})
	if err != nil || !res.Assigned {
		t.Fatalf("routing decision before the crash: %+v, %v", res, err)
	}
	return tk
}

type driftKey struct{ Kind, ID string }

func driftKeys(d []Drift) []driftKey {
	out := []driftKey{}
	for _, x := range d {
		out = append(out, driftKey{x.Kind, x.ID})
	}
	return out
}

// TestReconcileRepairsCrashBetweenRedisAndPostgres injects the crash between the Redis
// routing decision and the PostgreSQL write: alice's only slot is held by a ticket that
// PostgreSQL has open, so new tickets wait. One reconcile finds the differences, rebuilds
// from PostgreSQL and routes the stranded ticket; afterwards Redis and PostgreSQL agree.
func TestReconcileRepairsCrashBetweenRedisAndPostgres(t *testing.T) {
	ts := newTestService(t)
	ts.ReconcileSettle = 10 * time.Millisecond
	setupTeam(t, ts)
	ctx := context.Background()
	for _, id := range []string{"bob", "carol"} {
		if _, err := ts.SetAgentStatus(ctx, id, AgentAway, -1); err != nil {
			t.Fatal(err)
		}
	}
	stranded := crashAfterRoute(t, ts, "c1")
	ts.clock.t = ts.clock.t.Add(time.Second)
	later, a := create(t, ts, "c2", "billing")
	if a != nil {
		t.Fatalf("second ticket went to %s although alice's one slot is taken in Redis", a.AgentID)
	}

	rep, err := ts.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []driftKey{{"agent_load", "alice"}, {"free_agent", "alice"}, {"group_counter", "billing"},
		{"phantom_assignment", stranded.ID}, {"stranded_ticket", stranded.ID}}
	if diff := cmp.Diff(want, driftKeys(rep.Drift)); diff != "" || !rep.Rebuilt || rep.Pulled != 1 {
		t.Fatalf("reconcile report %+v; drift (-want +got):\n%s", rep, diff)
	}
	got, _ := ts.GetTicket(ctx, stranded.ID)
	if got.Status != StatusAssigned || got.AssigneeID != "alice" {
		t.Fatalf("stranded ticket after reconcile: %s/%q, want assigned to alice", got.Status, got.AssigneeID)
	}
	if got, _ := ts.GetTicket(ctx, later.ID); got.Status != StatusOpen {
		t.Fatalf("younger ticket %s, want still waiting", got.Status)
	}
	// Slots equal open tickets: every agent's Redis load is its PostgreSQL count, and
	// nothing else differs.
	assertLoads(t, ts, map[string]int{"alice": 1, "bob": 0, "carol": 0})
	if d, err := ts.routingDrift(ctx); err != nil || len(d) != 0 {
		t.Fatalf("after reconcile: drift %+v, %v", d, err)
	}
	if n := testutil.ToFloat64(ts.Metrics.ReconcileFixes.WithLabelValues("phantom_assignment")); n != 1 {
		t.Fatalf("phantom_assignment fixes %v, want 1", n)
	}
	if rep, err := ts.Reconcile(ctx); err != nil || rep.Rebuilt || len(rep.Drift) != 0 {
		t.Fatalf("second reconcile: %+v, %v; want nothing to do", rep, err)
	}
}

// TestReconcileFindsEveryKindOfDrift tampers with the Redis state in each way the
// reconciler knows and checks that each is reported, and repaired.
func TestReconcileFindsEveryKindOfDrift(t *testing.T) {
	ts := newTestService(t)
	ts.ReconcileSettle = time.Millisecond
	setupTeam(t, ts)
	ctx := context.Background()
	held, _ := create(t, ts, "c1", "tech") // bob or carol
	tag := "{" + ts.prefix + "}:"
	for _, cmd := range [][]any{
		{"hdel", tag + "asg", held.ID},                      // missing_assignment
		{"hset", tag + "a:alice", "cap", 7},                 // agent
		{"zadd", tag + "wait:tech", 1, "not-a-ticket"},      // stale_wait
		{"zrem", tag + "avail:billing", "alice"},            // free_agent
		{"hincrby", tag + "g:tech", "load", 5},              // group_counter
		{"hset", tag + "a:ghost", "st", "online", "cap", 1}, // agent
		{"sadd", tag + "agents", "ghost"},
	} {
		if err := ts.rdb.Do(ctx, cmd...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := ts.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []driftKey{{"agent", "alice"}, {"agent", "ghost"}, {"free_agent", "alice"}, {"group_counter", "tech"},
		{"missing_assignment", held.ID}, {"stale_wait", "not-a-ticket"}}
	if diff := cmp.Diff(want, driftKeys(rep.Drift)); diff != "" || !rep.Rebuilt {
		t.Fatalf("reconcile %+v; drift (-want +got):\n%s", rep, diff)
	}
	if d, err := ts.routingDrift(ctx); err != nil || len(d) != 0 {
		t.Fatalf("after reconcile: drift %+v, %v", d, err)
	}
}

// TestReconcileRebuildsFromPostgresAsOfTheRebuild: a reconcile that found a difference
// rebuilds while replicas go on routing and resolving. A ticket resolved (and its slot
// released) between the reconciler's read of PostgreSQL and its rebuild must not come
// back into its agent's slot: the state is rebuilt from PostgreSQL as it is when the
// rebuild runs, with routing held off in between. The test holds the rebuild lock
// (another replica rebuilding) to put the resolve in that gap.
func TestReconcileRebuildsFromPostgresAsOfTheRebuild(t *testing.T) {
	ts := newTestService(t)
	ts.ReconcileSettle = 10 * time.Millisecond
	setupTeam(t, ts)
	ctx := context.Background()
	held := createFor(t, ts, "c1", "alice", "billing")
	tag := "{" + ts.prefix + "}:"
	if err := ts.rdb.HSet(ctx, tag+"a:carol", "cap", 7).Err(); err != nil { // a difference to reconcile
		t.Fatal(err)
	}
	lock := tag + "rebuild"
	if ok, err := ts.rdb.SetNX(ctx, lock, "test", time.Minute).Result(); err != nil || !ok {
		t.Fatalf("take the rebuild lock: %v, %v", ok, err)
	}
	reconciled := make(chan error, 1)
	go func() { _, err := ts.Reconcile(ctx); reconciled <- err }()
	time.Sleep(300 * time.Millisecond) // it found the difference twice and waits for the lock
	resolved := make(chan error, 1)
	go func() { _, err := ts.Resolve(ctx, Actor{ID: "alice"}, held.ID); resolved <- err }()
	time.Sleep(300 * time.Millisecond)
	if err := ts.rdb.Del(ctx, lock).Err(); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan error{reconciled, resolved} {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("reconcile or resolve still running 10 s after the lock was freed")
		}
	}
	if d, err := ts.routingDrift(ctx); err != nil || len(d) != 0 {
		t.Errorf("after the reconcile: drift %+v, %v", d, err)
	}
	assertLoads(t, ts, map[string]int{"alice": 0, "bob": 0, "carol": 0})
}

// TestRouterLeaseIsExclusive: of two sweepers one gets the lease per interval.
func TestRouterLeaseIsExclusive(t *testing.T) {
	ts := newTestService(t)
	ctx := context.Background()
	first, err := ts.Router.lease(ctx, "reconcile", time.Minute)
	if err != nil || !first {
		t.Fatalf("first lease: %v, %v", first, err)
	}
	other := NewRedisRouter(ts.rdb, RouterOptions{Prefix: ts.prefix})
	if second, err := other.lease(ctx, "reconcile", time.Minute); err != nil || second {
		t.Fatalf("second lease while the first holds: %v, %v", second, err)
	}
	if p, err := other.lease(ctx, "presence", time.Minute); err != nil || !p {
		t.Fatalf("another lease name: %v, %v", p, err)
	}
}

// BenchmarkReconcileCompare measures one comparison of the router's Redis state with a
// PostgreSQL snapshot (the dump script's round trip plus the diff) on a large state:
// 200 agents, 2,000 assigned and 5,000 waiting tickets. PostgreSQL's share (the
// snapshot query) is not included.
func BenchmarkReconcileCompare(b *testing.B) {
	rdb, prefix := testenv.Redis(b)
	r := NewRedisRouter(rdb, RouterOptions{Prefix: prefix})
	var snap RouterSnapshot
	for i := range 200 {
		g := fmt.Sprintf("g%d", i%5)
		snap.Agents = append(snap.Agents, RouterAgent{ID: fmt.Sprintf("a%d", i), Status: AgentOnline, Capacity: 10, Groups: []string{g}})
	}
	for i := range 2000 {
		snap.Assigned = append(snap.Assigned, RouterAssigned{TicketID: fmt.Sprintf("x%d", i), AgentID: fmt.Sprintf("a%d", i%200)})
	}
	for i := range 5000 {
		snap.Waiting = append(snap.Waiting, RouterWaiting{TicketID: fmt.Sprintf("w%d", i),
			Groups: []GroupCandidate{{ID: fmt.Sprintf("g%d", i%5), SkillMatch: 1}}, CreatedAt: time.Now()})
	}
	ctx := context.Background()
	if err := r.Rebuild(ctx, snap); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.dropState(context.Background()) })
	b.ResetTimer()
	for b.Loop() {
		st, err := r.dump(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if d := diffRouting(snap, st); len(d) != 0 {
			b.Fatalf("drift on an untouched state: %v", d[:1])
		}
	}
}
