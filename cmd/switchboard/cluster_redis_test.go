//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// redisDownFor is how long TestFaultRedisDown keeps Redis stopped
// (SWITCHBOARD_FAULT_REDIS_DOWN_SECONDS, default 30).
func redisDownFor() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("SWITCHBOARD_FAULT_REDIS_DOWN_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 30 * time.Second
}

// redisOutage is what happened around a Redis outage, read from PostgreSQL.
type redisOutage struct {
	KeysBefore, KeysAfter int64 // keys in Redis when it was stopped, and once it was back
	Answered              int   // bot messages (answers and handovers) written while Redis was down
	Escalated             int   // tickets opened while Redis was down
	Unassigned            int   // of which never assigned to an agent
	AssignedTwice         int   // tickets of the whole run with an agent's assignment recorded twice
	Recovery              float64
	LastAssigned          time.Time // when the last ticket opened while Redis was down was first assigned
}

// TestFaultRedisDown: the replicas' Redis (a private redis-server without persistence)
// is stopped under load with SHUTDOWN NOSAVE for redisDownFor and started again on the
// same port, empty, as a crashed cache comes back. While it is down turns are answered
// (rate limits fail open; presence, the ticket cache and routing degrade; /readyz stays
// 200) and escalations wait in PostgreSQL; once it is back the routing state is rebuilt from
// PostgreSQL and the waiting tickets are assigned. The invariant checker then finds
// nothing lost, duplicated or misplaced, and every agent's slot count equal to its open
// tickets. Recovery is the seconds from Redis back to the last ticket opened during the
// outage assigned to an agent.
func TestFaultRedisDown(t *testing.T) {
	needFaultTests(t)
	srv := testenv.PrivateRedis(t)
	down := redisDownFor()
	var downAt, upAt time.Time
	var out redisOutage
	var cluster *faultCluster
	ready := 0 // a replica's /readyz while Redis is down
	o := faultOptions{RedisAddr: srv.Addr, Duration: max(faultDuration(), down*5/2)}
	rep := runFaultScenario(t, fmt.Sprintf("Redis stopped for %v under load, back empty", down), o, func(c *faultCluster, l *faultLoad) string {
		cluster = c
		ctx := context.Background()
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
		defer rdb.Close()
		out.KeysBefore = rdb.DBSize(ctx).Val()
		downAt = time.Now()
		rdb.ShutdownNoSave(ctx) // the connection ends with the server: no reply to check
		if err := waitRedisGone(srv.Addr, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(down / 2)
		ready = readyCode(c.replicas[0].base())
		time.Sleep(time.Until(downAt.Add(down)))
		srv.Restart(t) // the same port, no persistence: empty
		upAt = time.Now()
		out.KeysAfter = rdb.DBSize(ctx).Val()
		return fmt.Sprintf("; Redis down %.1f s (/readyz %d meanwhile): %d keys before, %d right after it came back",
			upAt.Sub(downAt).Seconds(), ready, out.KeysBefore, out.KeysAfter)
	})
	conn := faultDatabase(t, cluster)
	readOutage(t, conn, downAt, upAt, &out)
	rep.Recovery = out.Recovery
	t.Logf("outage: %+v", out)
	t.Logf("result (recovery: Redis back → the last ticket opened while it was down assigned): %s", rep.row())
	out.judge(t, rep, ready, "Redis")
}

// judge fails t on what a Redis outage (of what: "Redis", "the cluster") must not do:
// the checker's findings, no turn answered or no ticket opened meanwhile (the outage tested
// nothing), a /readyz other than 200 while it lasted (ready), a ticket of the outage never
// assigned or assigned twice.
func (out redisOutage) judge(t *testing.T, rep faultReport, ready int, what string) {
	t.Helper()
	for _, f := range rep.failures(false) {
		t.Error(f)
	}
	switch {
	case out.Answered == 0:
		t.Errorf("no turn was answered while %s was down", what)
	case out.Escalated == 0:
		t.Errorf("no ticket was opened while %s was down: the outage tested no escalation", what)
	}
	if ready != 200 {
		t.Errorf("/readyz answered %d while %s was down; want 200 (Redis is optional: the replicas degrade)", ready, what)
	}
	if out.Unassigned > 0 {
		t.Errorf("%d tickets opened while %s was down were never assigned to an agent", out.Unassigned, what)
	}
	if out.AssignedTwice > 0 {
		t.Errorf("%d tickets were assigned twice", out.AssignedTwice)
	}
}

// readyCode is the status of base's /readyz (0 when it does not answer).
func readyCode(base string) int {
	resp, err := faultHTTPClient(5 * time.Second).Get(base + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitRedisGone waits until nothing accepts connections at addr.
func waitRedisGone(addr string, within time.Duration) error {
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return nil
		}
		conn.Close()
	}
	return fmt.Errorf("redis at %s still accepts connections %v after SHUTDOWN NOSAVE", addr, within)
}

// readOutage reads from PostgreSQL what was answered and escalated while Redis was down
// (from downAt to upAt), when the last of those tickets was first assigned, and how many
// tickets of the run hold two assignment records (the harness never transfers or
// reopens one, so a second is a ticket assigned twice).
func readOutage(t *testing.T, conn *pgx.Conn, downAt, upAt time.Time, out *redisOutage) {
	t.Helper()
	ctx := context.Background()
	err := conn.QueryRow(ctx, `SELECT count(*) FROM messages WHERE author = 'bot' AND created_at BETWEEN $1 AND $2`,
		downAt, upAt).Scan(&out.Answered)
	if err != nil {
		t.Fatal(err)
	}
	var last *time.Time
	err = conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE a.first IS NULL), max(a.first) FROM tickets t
		LEFT JOIN LATERAL (SELECT min(created_at) AS first FROM assignments WHERE ticket_id = t.id) a ON true
		WHERE t.created_at BETWEEN $1 AND $2`, downAt, upAt).Scan(&out.Escalated, &out.Unassigned, &last)
	if err != nil {
		t.Fatal(err)
	}
	if last != nil {
		out.LastAssigned = *last
		out.Recovery = max(0, last.Sub(upAt).Seconds())
	}
	err = conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT ticket_id FROM assignments GROUP BY 1 HAVING count(*) > 1) x`).
		Scan(&out.AssignedTwice)
	if err != nil {
		t.Fatal(err)
	}
}

// faultDatabase connects to the database of the cluster a Redis outage scenario ran on
// (nil: the fault was never injected, which fails the test), closed with the test.
func faultDatabase(t *testing.T, cluster *faultCluster) *pgx.Conn {
	t.Helper()
	if cluster == nil {
		t.Fatal("the fault was not injected")
	}
	conn, err := pgx.Connect(context.Background(), cluster.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
