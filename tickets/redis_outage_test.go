package tickets

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// outageService is a ticket core on a private redis-server the test can stop.
func outageService(t *testing.T) (*testService, *testenv.RedisServer) {
	t.Helper()
	srv := testenv.PrivateRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, DialTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	return newTestServiceOn(t, migratedPool(t), rdb, "outage"), srv
}

// stopRedis shuts the server down without saving and waits until it refuses connections.
func stopRedis(t *testing.T, ts *testService, srv *testenv.RedisServer) {
	t.Helper()
	ts.rdb.ShutdownNoSave(context.Background()) // the reply is the connection closing
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", srv.Addr, time.Second)
		if err != nil {
			return
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("redis-server still accepts connections after SHUTDOWN NOSAVE")
		}
	}
}

// TestRoutingRidesOutRedisOutage: with Redis stopped, an escalation is stored and
// waits (no error), a resolve commits and a heartbeat is accepted; Redis comes back
// empty (no persistence), a new ticket arrives at once, and the reconciler — woken by
// the routing steps that failed — rebuilds the state from PostgreSQL and assigns the
// ticket that waited: every ticket assigned once, Redis equal to PostgreSQL.
func TestRoutingRidesOutRedisOutage(t *testing.T) {
	ts, srv := outageService(t)
	rideOutOutage(t, ts, "Redis is down", func() { stopRedis(t, ts, srv) }, func() {
		srv.Restart(t) // same port, empty
	})
}

// rideOutOutage takes a team through an outage of the routing state: the first ticket is
// assigned; during the outage (down) an escalation is stored and waits (no error), a
// resolve commits and a heartbeat is accepted, while the reconciler's recovery passes
// fail; once the routing state is back (up) a new ticket arrives, and assertRecovered
// checks that both tickets are assigned, once each, and Redis equals PostgreSQL.
func rideOutOutage(t *testing.T, ts *testService, what string, down, up func()) {
	t.Helper()
	setupTeam(t, ts) // alice billing ×1, bob billing+tech ×2, carol tech ×1, all online
	ctx := context.Background()
	held := createFor(t, ts, "c1", "alice", "billing")
	loop, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); ts.RunReconciler(loop, time.Hour) }() // only the recovery runs in the test's time
	t.Cleanup(func() { stop(); <-done })

	down()
	waited, a := create(t, ts, "c2", "billing")
	if a != nil || waited.Status != StatusOpen {
		t.Fatalf("escalation while %s: %s, %s; want it waiting in PostgreSQL", what, agentOf(a), waited.Status)
	}
	if _, err := ts.Resolve(ctx, Actor{ID: "alice"}, held.ID); err != nil {
		t.Fatalf("resolve while %s: %v", what, err)
	}
	if _, err := ts.Heartbeat(ctx, "bob"); err != nil {
		t.Fatalf("heartbeat while %s: %v", what, err)
	}
	time.Sleep(1500 * time.Millisecond) // a recovery pass or two fail meanwhile

	up()
	later, _ := create(t, ts, "c3", "billing")
	assertRecovered(t, ts, waited.ID, later.ID)
}

// assertRecovered waits until the tickets are assigned, then checks that no ticket was
// assigned twice and that the routing state equals PostgreSQL.
func assertRecovered(t *testing.T, ts *testService, waitedID, laterID string) {
	t.Helper()
	ctx := context.Background()
	var got map[string]string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got = map[string]string{}
		for _, id := range []string{waitedID, laterID} {
			tk, err := ts.store.GetTicket(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			got[id] = string(tk.Status)
		}
		if got[waitedID] == string(StatusAssigned) && got[laterID] == string(StatusAssigned) {
			break
		}
	}
	want := map[string]string{waitedID: string(StatusAssigned), laterID: string(StatusAssigned)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("tickets after Redis came back (-want +got):\n%s", diff)
	}
	var twice int
	if err := ts.store.primary.QueryRow(ctx, `SELECT count(*) FROM (SELECT ticket_id FROM assignments GROUP BY 1 HAVING count(*) > 1) x`).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if twice != 0 {
		t.Errorf("%d tickets assigned twice", twice)
	}
	var drift []Drift
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var err error
		if drift, err = ts.routingDrift(ctx); err == nil && len(drift) == 0 {
			break
		}
	}
	if len(drift) != 0 {
		t.Errorf("routing state differs from PostgreSQL after the recovery: %+v", drift)
	}
}

// TestApplyingAnAssignmentAgainRecordsItOnce: a router decision PostgreSQL already holds
// (a ticket pulled again by the same agent after a rebuild raced with its first pull)
// changes nothing: one assignment record, one audit entry, the same version.
func TestApplyingAnAssignmentAgainRecordsItOnce(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	tk := createFor(t, ts, "c1", "alice", "billing")
	again, b, err := ts.apply(ctx, RouteResult{Assigned: true, TicketID: tk.ID, AgentID: "alice", GroupID: "billing"}, "pull")
	if err != nil || agentOf(b) != "alice" {
		t.Fatalf("applying alice's assignment again: %s, %v", agentOf(b), err)
	}
	if again.Version != tk.Version || again.Status != StatusAssigned {
		t.Errorf("ticket after the repeat: version %d %s, want version %d assigned", again.Version, again.Status, tk.Version)
	}
	var rows, audits int
	err = ts.store.primary.QueryRow(ctx, `SELECT (SELECT count(*) FROM assignments WHERE ticket_id = $1),
		(SELECT count(*) FROM audit_events WHERE action = 'ticket.assign' AND target = $1::text)`, tk.ID).Scan(&rows, &audits)
	if err != nil {
		t.Fatal(err)
	}
	if rows != 1 || audits != 1 {
		t.Errorf("%d assignment records and %d audit entries, want 1 each", rows, audits)
	}
	if _, _, err := ts.apply(ctx, RouteResult{Assigned: true, TicketID: tk.ID, AgentID: "bob", GroupID: "billing"}, "pull"); !errors.Is(err, ErrConflict) {
		t.Errorf("applying bob on alice's ticket: %v, want ErrConflict", err)
	}
}

// TestApplyingAnAssignmentToAFinishedTicketIsAConflict: a routing state older than
// PostgreSQL (rebuilt from a snapshot read before the ticket was resolved, or a slot
// whose release could not reach Redis) may hand a resolved ticket to the agent who
// resolved it. Recording that would reopen the ticket with a second assignment: it is
// a conflict, and the ticket stays resolved with its one assignment.
func TestApplyingAnAssignmentToAFinishedTicketIsAConflict(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	tk := createFor(t, ts, "c1", "alice", "billing")
	done, err := ts.Resolve(ctx, Actor{ID: "alice"}, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, agent := range []string{"alice", "bob"} {
		if _, _, err := ts.apply(ctx, RouteResult{Assigned: true, TicketID: tk.ID, AgentID: agent, GroupID: "billing"}, "pull"); !errors.Is(err, ErrConflict) {
			t.Errorf("applying %s on the resolved ticket: %v, want ErrConflict", agent, err)
		}
	}
	after, err := ts.store.GetTicket(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := ts.store.primary.QueryRow(ctx, `SELECT count(*) FROM assignments WHERE ticket_id = $1`, tk.ID).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if after.Status != StatusResolved || after.Version != done.Version || rows != 1 {
		t.Errorf("ticket after the stale assignment: %s, version %d, %d assignment records; want resolved, version %d, 1",
			after.Status, after.Version, rows, done.Version)
	}
}

// TestRoutingRidesOutClusterMasterLoss is TestRoutingRidesOutRedisOutage on a Redis
// Cluster of 3 masters without replicas that loses a master to a SIGKILL — the one
// holding the router's slot (its keys then fail to connect), or another (the router's
// state lives on): once the other masters mark it failed they refuse every command with
// CLUSTERDOWN, the whole cluster is down. An escalation then still waits in PostgreSQL,
// a resolve commits and a heartbeat is accepted; the master restarts empty on its port
// and rejoins owning its slots, and the reconciler routes the ticket that waited.
func TestRoutingRidesOutClusterMasterLoss(t *testing.T) {
	for _, tc := range []struct {
		name        string
		routersNode bool
	}{{"the router's master", true}, {"another master", false}} {
		t.Run(tc.name, func(t *testing.T) {
			cl := testenv.PrivateRedisCluster(t, testenv.ClusterOptions{NodeTimeout: time.Second})
			rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs(), DialTimeout: time.Second})
			t.Cleanup(func() { rdb.Close() })
			ts := newTestServiceOn(t, migratedPool(t), rdb, "outage")
			var victim int
			rideOutOutage(t, ts, "the cluster is down", func() {
				victim = cl.NodeOf(t, "{outage}")
				if !tc.routersNode {
					victim = (victim + 1) % len(cl.Addrs())
				}
				cl.Kill(victim)
				cl.WaitFailed(t, 20*time.Second) // CLUSTERDOWN on every live master from here
			}, func() {
				cl.Restart(t, victim) // same port and nodes-*.conf: its slots, no keys
				cl.WaitOK(t, 30*time.Second)
			})
		})
	}
}

// TestCacheInvalidationsMissedInAClusterOutageAreWrittenAfter: a Redis Cluster that
// loses a master keeps the other masters' keys — cached tickets among them. A ticket
// resolved while the cluster is down cannot have its cached copy invalidated; once the
// cluster serves again the invalidation is written, so another instance reading the
// cache no longer gets the ticket as it was before (not for the rest of the TTL).
func TestCacheInvalidationsMissedInAClusterOutageAreWrittenAfter(t *testing.T) {
	cl := testenv.PrivateRedisCluster(t, testenv.ClusterOptions{NodeTimeout: time.Second})
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs(), DialTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	ts := newTestServiceOn(t, migratedPool(t), rdb, "outage")
	other := NewTicketCache(rdb, "outage", time.Minute) // another instance's view of the cache
	setupTeam(t, ts)
	ctx := context.Background()
	tk := createFor(t, ts, "c1", "alice", "billing")
	if _, err := ts.GetTicket(ctx, tk.ID); err != nil { // cached
		t.Fatal(err)
	}
	if c, ok, err := other.Get(ctx, tk.ID); err != nil || !ok || c.Status != StatusAssigned {
		t.Fatalf("cached before the outage: %s, %v, %v; want the assigned ticket", c.Status, ok, err)
	}
	loop, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); ts.RunReconciler(loop, time.Hour) }() // only the recovery runs in the test's time
	t.Cleanup(func() { stop(); <-done })

	victim := (cl.NodeOf(t, other.keys(tk.ID)[0]) + 1) % len(cl.Addrs()) // the cached copy survives
	cl.Kill(victim)
	cl.WaitFailed(t, 20*time.Second)
	resolved, err := ts.Resolve(ctx, Actor{ID: "alice"}, tk.ID)
	if err != nil {
		t.Fatalf("resolve while the cluster is down: %v", err)
	}
	cl.Restart(t, victim)
	cl.WaitOK(t, 30*time.Second)

	var got string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		c, ok, err := other.Get(ctx, tk.ID)
		switch {
		case err != nil:
			got = err.Error()
		case !ok:
			return // invalidated: the next read comes from PostgreSQL
		case c.Version >= resolved.Version:
			return
		default:
			got = fmt.Sprintf("v%d %s", c.Version, c.Status)
		}
	}
	t.Errorf("5 s after the cluster came back the cache still serves %s; want the resolved v%d or nothing", got, resolved.Version)
}
