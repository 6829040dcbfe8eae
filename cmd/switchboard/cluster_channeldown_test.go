//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Scenario 5 of issue 20: the channel API down under load (the fake Telegram Bot API of
// cluster_channel_test.go), then back.

// channelDownFor is how long TestFaultChannelDown keeps the channel API down
// (SWITCHBOARD_FAULT_CHANNEL_DOWN, a Go duration; default 10 minutes, as issue 20 asks).
func channelDownFor(t *testing.T) time.Duration {
	v := os.Getenv("SWITCHBOARD_FAULT_CHANNEL_DOWN")
	if v == "" {
		return 10 * time.Minute
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 10*time.Second {
		t.Fatalf("SWITCHBOARD_FAULT_CHANNEL_DOWN=%q: want a duration of 10s or more", v)
	}
	return d
}

// TestFaultChannelDown: the Telegram Bot API is down under load — half the outage it
// answers 502, half it refuses connections — then comes back. The replicas' retry
// horizon (queue.retry_for) is half the outage, so one run shows both fates of a reply
// the channel refused: those queued in the outage's first half are given up as dead
// letters while it is still down; those queued later are still being retried when it
// returns and must arrive then, in order per chat. Then the dead letters must be
// visible (switchboard_queue_rows{state="failed"} on /metrics), and re-sent with
// `switchboard outbox retry` they must arrive too. Webhook updates keep being
// acknowledged throughout (the outage is outbound only) and nothing is lost.
func TestFaultChannelDown(t *testing.T) {
	needFaultTests(t)
	down := channelDownFor(t)
	horizon := down / 2
	var out channelDownResult
	name := fmt.Sprintf("Telegram API down %v (502, then refused; retry horizon %v)", down, horizon)
	rep := runFaultScenario(t, name, faultOptions{Telegram: 6, Env: []string{"SWITCHBOARD_QUEUE_RETRY_FOR=" + horizon.String()}},
		func(c *faultCluster, l *faultLoad) string {
			out = channelOutage(t, c, l, down)
			return out.String()
		})
	rep.Recovery = out.Recovery.Seconds()
	t.Logf("result: %s", rep.row())
	for _, f := range rep.failures(false) {
		t.Error(f)
	}
	if out.Backlog == 0 {
		t.Error("no reply was waiting when the API came back: the outage hit nothing")
	}
	if out.Dead == 0 {
		t.Error("no reply became a dead letter past the retry horizon")
	}
	if !out.Visible {
		t.Error(`the dead letters did not show in switchboard_queue_rows{state="failed"} on /metrics`)
	}
	if out.Requeued != out.Dead {
		t.Errorf("switchboard outbox retry re-queued %d of %d dead letters", out.Requeued, out.Dead)
	}
}

// channelDownResult is what the outage did.
type channelDownResult struct {
	Backlog  int           // turns and replies pending when the API came back
	Recovery time.Duration // from the API's return until that backlog was delivered
	Dead     int           // dead letters after the backlog was delivered
	Visible  bool          // they showed on a replica's /metrics
	Requeued int           // rows switchboard outbox retry re-queued
	Resent   time.Duration // from the re-queue until they were delivered
	Bad      int           // sendMessage calls the fake API answered 502
}

func (r channelDownResult) String() string {
	return fmt.Sprintf("; backlog %d delivered in %.1f s after the API returned; %d dead letters (on /metrics: %v), %d re-queued and delivered in %.1f s; %d sendMessage calls got 502",
		r.Backlog, r.Recovery.Seconds(), r.Dead, r.Visible, r.Requeued, r.Resent.Seconds(), r.Bad)
}

// channelOutage takes the fake API down for down, brings it back, waits for the backlog,
// then checks and re-sends the dead letters.
func channelOutage(t *testing.T, c *faultCluster, l *faultLoad, down time.Duration) (res channelDownResult) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	c.tg.setMode(t, "502")
	time.Sleep(down / 2)
	c.tg.setMode(t, "refused")
	time.Sleep(down - down/2)
	var turns []string
	var replies []int64
	err = conn.QueryRow(ctx, `SELECT
		coalesce((SELECT array_agg(message_id) FROM channel_messages WHERE channel = 'telegram' AND state = 'pending'), '{}'),
		coalesce((SELECT array_agg(id) FROM outbox WHERE channel = 'telegram' AND state = 'pending'), '{}')`).Scan(&turns, &replies)
	if err != nil {
		t.Fatal(err)
	}
	res.Backlog = len(turns) + len(replies)
	c.tg.setMode(t, "")
	up := time.Now()
	res.Recovery = waitSettled(t, ctx, conn, turns, replies, down)
	c.tg.mu.Lock()
	res.Bad = c.tg.bad
	c.tg.mu.Unlock()

	// The dead letters: visible, then re-sent. Their replies will arrive after newer ones.
	rows, _ := conn.Query(ctx, `SELECT message_id FROM outbox WHERE channel = 'telegram' AND state = 'failed' AND message_id IS NOT NULL
		UNION ALL SELECT (outcome->>'reply_id')::bigint FROM channel_messages WHERE channel = 'telegram' AND state = 'failed' AND outcome ? 'reply_id'`)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	l.tgResent = map[int64]bool{}
	for _, id := range ids {
		l.tgResent[id] = true
	}
	l.mu.Unlock()
	var deadTurns []string
	var deadIDs []int64
	conn.QueryRow(ctx, `SELECT coalesce((SELECT array_agg(message_id) FROM channel_messages WHERE channel = 'telegram' AND state = 'failed'), '{}'),
		coalesce((SELECT array_agg(id) FROM outbox WHERE channel = 'telegram' AND state = 'failed'), '{}')`).Scan(&deadTurns, &deadIDs)
	res.Dead = len(deadTurns) + len(deadIDs)
	res.Visible = deadLettersOnMetrics(c, res.Dead)
	for _, args := range [][]string{{"outbox", "retry", "--channel", "telegram"}, {"outbox", "retry", "--turns", "--channel", "telegram"}} {
		var n int
		fmt.Sscanf(runCLI(t, args...), "re-queued %d", &n)
		res.Requeued += n
	}
	resent := time.Now()
	waitSettled(t, ctx, conn, deadTurns, deadIDs, time.Minute)
	res.Resent = time.Since(resent)
	t.Logf("channel outage: API back at %s", up.Format("15:04:05"))
	return res
}

// waitSettled waits (within at most) until none of the given Telegram turns and outbox
// rows is pending, and returns how long that took.
func waitSettled(t *testing.T, ctx context.Context, conn *pgx.Conn, turns []string, replies []int64, within time.Duration) time.Duration {
	start := time.Now()
	for deadline := start.Add(within); ; time.Sleep(100 * time.Millisecond) {
		var n int
		err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM channel_messages WHERE channel = 'telegram' AND message_id = ANY($1) AND state = 'pending')
			+ (SELECT count(*) FROM outbox WHERE id = ANY($2) AND state = 'pending')`, turns, replies).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Errorf("%d Telegram turns and replies still pending %v after the API returned", n, within)
			return time.Since(start)
		}
	}
}

// deadLettersOnMetrics: some replica's /metrics shows the n Telegram dead letters (the
// gauge is refreshed every few seconds; 30 s at most).
func deadLettersOnMetrics(c *faultCluster, n int) bool {
	client := faultHTTPClient(5 * time.Second)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		resp, err := client.Get(c.replicas[0].base() + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		total := 0.0
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "switchboard_queue_rows{") && strings.Contains(line, `channel="telegram"`) && strings.Contains(line, `state="failed"`) {
				var v float64
				fmt.Sscanf(line[strings.LastIndexByte(line, ' ')+1:], "%g", &v)
				total += v
			}
		}
		if int(total) == n && n > 0 {
			return true
		}
	}
	return false
}
