//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// TestFaultRedisCluster is TestFaultRedisDown on a Redis Cluster: the replicas use a
// private cluster of 3 masters without replicas (redis.cluster_addrs, Redis's default
// cluster-node-timeout of 15 s), and under load one master is killed with SIGKILL, stays
// down for redisDownFor and is restarted on its port with its nodes-*.conf: it rejoins
// owning its slots, empty. By default the master killed is the one holding the
// router's hash tag — the routing state, presence and leases are lost with it;
// SWITCHBOARD_FAULT_CLUSTER_NODE=other kills another one (the routing state outlives
// the outage, stale). Until the others mark it failed, only its slots fail to connect;
// from then on every master answers CLUSTERDOWN, and the cluster serves again once
// they see it back. Meanwhile turns are answered and escalations wait in PostgreSQL;
// then the reconciler routes them. The invariant checker finds nothing lost,
// duplicated or misplaced, and every agent's slot count equal to its open tickets.
// Recovery is the seconds from the master's restart to the last ticket opened while it
// was down assigned; the row notes when every node served again (cluster_state:ok).
func TestFaultRedisCluster(t *testing.T) {
	needFaultTests(t)
	cl := testenv.PrivateRedisCluster(t, testenv.ClusterOptions{})
	down := redisDownFor()
	var killedAt, failedAt, restartedAt, okAt time.Time // the master killed, the cluster failed, restarted, ok again
	var out redisOutage
	var cluster *faultCluster
	var load *faultLoad
	ready := 0 // a replica's /readyz while the cluster is down
	which := "the router's master"
	if os.Getenv("SWITCHBOARD_FAULT_CLUSTER_NODE") == "other" {
		which = "another master"
	}
	// The cluster comes back about 2 node timeouts after the master failed: the load
	// goes on for a while after that.
	o := faultOptions{RedisCluster: cl.Addrs(), Duration: max(faultDuration(), down*3)}
	if os.Getenv("SWITCHBOARD_FAULT_LOG_DIR") != "" {
		o.Env = append(o.Env, "SWITCHBOARD_LOG_LEVEL=info") // the routing recovery's steps, for the logs kept
	}
	name := fmt.Sprintf("Redis Cluster: %s killed (SIGKILL) for %v under load, back empty", which, down)
	rep := runFaultScenario(t, name, o, func(c *faultCluster, l *faultLoad) string {
		cluster, load = c, l
		ctx := context.Background()
		rdb := c.redisClient()
		defer rdb.Close()
		victim := cl.NodeOf(t, "{"+c.prefix+"}")
		if which != "the router's master" {
			victim = (victim + 1) % len(cl.Addrs())
		}
		out.KeysBefore = clusterKeys(t, ctx, rdb)
		node := redis.NewClient(&redis.Options{Addr: cl.Addrs()[victim]})
		held := node.DBSize(ctx).Val()
		node.Close()
		killedAt = time.Now()
		cl.Kill(victim)
		failed := "not failed"
		if down >= 20*time.Second { // the others mark it failed after the node timeout (15 s) and a gossip round
			failedAt = killedAt.Add(cl.WaitFailed(t, down-time.Second))
			failed = fmt.Sprintf("failed %.1f s after the kill", failedAt.Sub(killedAt).Seconds())
		} else {
			time.Sleep(down / 2)
		}
		ready = readyCode(c.replicas[0].base())
		time.Sleep(time.Until(killedAt.Add(down)))
		cl.Restart(t, victim)
		restartedAt = time.Now()
		okAt = restartedAt.Add(cl.WaitOK(t, 2*time.Minute))
		out.KeysAfter = clusterKeys(t, ctx, rdb)
		return fmt.Sprintf("; master %s (%d keys of %d) down %.1f s, cluster %s (/readyz %d meanwhile), "+
			"every node serving again %.1f s after the restart; %d keys right after",
			cl.Addrs()[victim], held, out.KeysBefore, restartedAt.Sub(killedAt).Seconds(), failed, ready,
			okAt.Sub(restartedAt).Seconds(), out.KeysAfter)
	})
	conn := faultDatabase(t, cluster)
	if dir := os.Getenv("SWITCHBOARD_FAULT_LOG_DIR"); dir != "" {
		keepEvidence(t, conn, cluster, dir)
	}
	// Counted over the whole time the cluster did not serve every slot (until okAt).
	readOutage(t, conn, killedAt, okAt, &out)
	// Recovery runs from the restart: the restarted master serves its own slots at once,
	// before the others take it back (okAt), so with the router's slot on it tickets are
	// assigned from then on. It ends with the last ticket opened while the master was
	// down assigned (later ones are routed as they come once routing works).
	var whileDown redisOutage
	readOutage(t, conn, killedAt, restartedAt, &whileDown)
	out.Recovery = 0
	if !whileDown.LastAssigned.IsZero() {
		out.Recovery = max(0, whileDown.LastAssigned.Sub(restartedAt).Seconds())
	}
	rep.Recovery = out.Recovery
	t.Logf("outage: %+v", out)
	t.Logf("result (recovery: the master restarted → the last ticket opened while it was down assigned): %s", rep.row())
	out.judge(t, rep, ready, "the cluster")
	if out.AssignedTwice > 0 {
		logAssignedTwice(t, conn, cluster)
	}
	probeClusterChecker(t, load, conn, cl)
}

// probeClusterChecker shows that the checker reads the whole cluster: raw PII planted
// on each master is found, and so is a ticket planted in an agent's slot.
func probeClusterChecker(t *testing.T, l *faultLoad, conn *pgx.Conn, cl *testenv.RedisClusterServers) {
	ctx := context.Background()
	rdb := l.c.redisClient()
	defer rdb.Close()
	var keys []string
	on := map[int]bool{}
	for k := 0; len(on) < len(cl.Addrs()) && k < 1000; k++ {
		key := fmt.Sprintf("{%s:probe%d}", l.c.prefix, k)
		if i := cl.NodeOf(t, key); !on[i] {
			on[i] = true
			keys = append(keys, key)
		}
	}
	for _, k := range keys {
		if err := rdb.Set(ctx, k, "call me on "+fakePhone, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		defer rdb.Del(ctx, k) // one by one: the keys are in different slots
	}
	if n := piiHits(t, ctx, conn, rdb, l.c.prefix); n != len(keys) {
		t.Errorf("the checker found %d PII hits after one was planted on each of %d masters; want %d", n, len(keys), len(keys))
	}
	const planted = "00000000-0000-0000-0000-000000000001"
	asg := "{" + l.c.prefix + "}:asg"
	if err := rdb.HSet(ctx, asg, planted, "agent0,general,1").Err(); err != nil {
		t.Fatal(err)
	}
	defer rdb.HDel(ctx, asg, planted)
	drift := l.ticketDrift(t, ctx, conn)
	if !slices.ContainsFunc(drift, func(d string) bool { return strings.Contains(d, planted) }) {
		t.Errorf("the checker did not see a ticket planted in agent0's slot: %q", drift)
	}
}

// logAssignedTwice logs, for each ticket with more than one assignment record, its
// assignments, its audit entries and the replicas' log lines naming it.
func logAssignedTwice(t *testing.T, conn *pgx.Conn, c *faultCluster) {
	ctx := context.Background()
	rows, _ := conn.Query(ctx, `SELECT ticket_id::text FROM assignments GROUP BY 1 HAVING count(*) > 1`)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		var status, assignee string
		var created time.Time
		conn.QueryRow(ctx, `SELECT status, coalesce(assignee, ''), created_at FROM tickets WHERE id = $1`, id).Scan(&status, &assignee, &created)
		t.Logf("ticket %s: %s, assignee %q, opened %s", id, status, assignee, created.Format("15:04:05.000"))
		rows, _ := conn.Query(ctx, `SELECT at, actor, action, detail::text FROM audit_events WHERE target = $1 ORDER BY id`, id)
		var at time.Time
		var actor, action, detail string
		pgx.ForEachRow(rows, []any{&at, &actor, &action, &detail}, func() error {
			t.Logf("  %s audit %s %s %s", at.Format("15:04:05.000"), actor, action, detail)
			return nil
		})
		for _, r := range c.replicas {
			data, _ := os.ReadFile(r.logPath)
			for _, line := range strings.Split(string(data), "\n") {
				if strings.Contains(line, id) {
					t.Logf("  replica %d: %s", r.idx, line)
				}
			}
		}
	}
}

// clusterKeys is the number of keys on every master of the cluster (the test's own:
// the cluster is private).
func clusterKeys(t *testing.T, ctx context.Context, rdb redis.UniversalClient) int64 {
	var n atomic.Int64
	err := forEachRedisNode(ctx, rdb, func(ctx context.Context, node *redis.Client) error {
		k, err := node.DBSize(ctx).Result()
		n.Add(k)
		return err
	})
	if err != nil {
		t.Errorf("count the cluster's keys: %v", err)
	}
	return n.Load()
}

// keepEvidence copies the replicas' logs into dir, with the audit log and the
// assignments of the run, to read after the test has removed its files.
func keepEvidence(t *testing.T, conn *pgx.Conn, c *faultCluster, dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, r := range c.replicas {
		data, _ := os.ReadFile(r.logPath)
		os.WriteFile(filepath.Join(dir, filepath.Base(r.logPath)), data, 0o644)
	}
	var b strings.Builder
	rows, _ := conn.Query(context.Background(), `SELECT at, actor, action, target, detail::text FROM audit_events ORDER BY id`)
	var at time.Time
	var actor, action, target, detail string
	pgx.ForEachRow(rows, []any{&at, &actor, &action, &target, &detail}, func() error {
		fmt.Fprintf(&b, "%s %s %s %s %s\n", at.Format("15:04:05.000000"), actor, action, target, detail)
		return nil
	})
	os.WriteFile(filepath.Join(dir, "audit.txt"), []byte(b.String()), 0o644)
	t.Logf("replica logs and the audit log kept in %s", dir)
}
