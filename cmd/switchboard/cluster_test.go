//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// The fault scenarios of issue 20. Each starts 3 replicas, drives load through them
// for faultDuration, injects its fault a third of the way in, lets the agents finish,
// and runs the invariant checker; it logs one row of the table in docs/benchmarks.md.
// Run them with `make test-faults` (SWITCHBOARD_FAULT_TEST=1).

// faultDuration is how long the load runs (SWITCHBOARD_FAULT_SECONDS, default 30).
func faultDuration() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("SWITCHBOARD_FAULT_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 30 * time.Second
}

func needFaultTests(t *testing.T) {
	if os.Getenv("SWITCHBOARD_FAULT_TEST") != "1" {
		t.Skip("fault scenario: set SWITCHBOARD_FAULT_TEST=1 (make test-faults)")
	}
}

// runFaultScenario runs the load for o.Duration with fault injected at a third of
// it and returns the checker's report.
func runFaultScenario(t *testing.T, name string, o faultOptions, fault func(*faultCluster, *faultLoad) string) faultReport {
	t.Helper()
	needFaultTests(t)
	c := startFaultCluster(t, o)
	l := newFaultLoad(c, c.opts.Think)
	ctx, stop := context.WithCancel(context.Background())
	agentsCtx, stopAgents := context.WithCancel(context.Background())
	defer stopAgents()
	start := time.Now()
	customers, agents := l.run(ctx, agentsCtx, c.opts.Customers, c.opts.Agents)
	time.Sleep(c.opts.Duration / 3)
	note := ""
	if fault != nil {
		l.faultAt.Store(time.Now().UnixNano())
		note = fault(c, l)
	}
	time.Sleep(time.Until(start.Add(c.opts.Duration)))
	stopAgents() // no agent writes to a conversation whose customer has gone
	agents.Wait()
	stop()
	took := time.Since(start)
	customers.Wait()
	rep := l.check(t, name, took)
	rep.Note = note
	t.Logf("result: %s", rep.row())
	t.Logf("load: %+v", rep.Stats)
	for _, f := range l.failed {
		t.Logf("failed: %s", f)
	}
	return rep
}

// TestFaultBaseline: no fault, the invariants hold and nothing failed. Then the
// checker is shown to see faults: a stored message deleted, one stored twice, raw PII
// written into a message, a photo stored without its label and a voice note without its
// transcript, a closed ticket left in an agent's slot and a wrong load in Redis are each
// found.
func TestFaultBaseline(t *testing.T) {
	var l *faultLoad
	rep := runFaultScenario(t, "baseline (no fault)", faultOptions{}, func(_ *faultCluster, load *faultLoad) string {
		l = load
		load.faultAt.Store(0) // none: only l is wanted
		return ""
	})
	for _, f := range rep.failures(false) {
		t.Error(f)
	}
	if t.Failed() {
		return
	}
	ctx := context.Background()
	pool := testenv.Pool(t, l.c.dsn)
	for _, q := range []string{
		`DELETE FROM messages WHERE id = (SELECT min(id) FROM messages WHERE author = 'customer')`,
		`INSERT INTO messages (conversation_id, author, body) SELECT conversation_id, author, body FROM messages
			WHERE id = (SELECT max(id) FROM messages WHERE author = 'customer')`,
		`UPDATE messages SET body = body || ' ` + fakePhone + `' WHERE id = (SELECT max(id) FROM messages WHERE author = 'bot')`,
		// a photo stored unlabelled, a voice note untranscribed
		`UPDATE messages SET body = regexp_replace(body, '\[photo: [^]]*\]', '[photo]') WHERE id = (SELECT min(id) FROM messages WHERE body LIKE '%[photo: %')`,
		`UPDATE messages SET body = replace(body, 'clubs', '') WHERE id = (SELECT min(id) FROM messages WHERE author = 'customer' AND body LIKE '%clubs%')`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rdb := l.c.redisClient()
	defer rdb.Close()
	tag := "{" + l.c.prefix + "}:"
	rdb.HSet(ctx, tag+"asg", "00000000-0000-0000-0000-000000000001", "agent0,1")
	rdb.HIncrBy(ctx, tag+"a:agent1", "load", 1)
	bad := l.check(t, "tampered", time.Duration(rep.Seconds*float64(time.Second)))
	got := [7]int{bad.Lost, bad.Duplicated, bad.PIIHits, bad.Misplaced, bad.LoadMismatch, bad.PhotosUnlabelled, bad.VoicesUntranscribed}
	want := [7]int{1, 1, 1, 1, 1, 0, 0}
	if l.c.media.photos != nil {
		want[5] = 1
	}
	if l.c.media.voices != nil {
		want[6] = 1
	}
	if got != want {
		t.Errorf("after tampering the checker found lost, duplicated, PII, misplaced, load≠, photos unlabelled, voice notes untranscribed %v; want %v", got, want)
	}
}

// TestFaultKill9: replica 1 is killed with SIGKILL under load. Its REST clients retry
// the same message ids on another replica, its web-chat clients reconnect to another
// with ?after= the last seq they saw; nothing acknowledged is lost or stored twice,
// and every web-chat customer received every message of its conversation.
func TestFaultKill9(t *testing.T) {
	rep := runFaultScenario(t, "kill -9 of 1 of 3 replicas", faultOptions{}, func(c *faultCluster, l *faultLoad) string {
		n, m := l.awaitTarget(1, 2, 2)
		c.kill(1)
		return fmt.Sprintf("; killed with %d web-chat sockets open, %d turns in flight", n, m)
	})
	for _, f := range rep.failures(true) { // requests in flight on the killed replica fail, and are retried
		t.Error(f)
	}
	if rep.Stats.Resumed == 0 {
		t.Error("no web-chat client resumed its conversation on another replica: the kill hit nobody")
	}
}

// TestFaultSIGTERM: replica 1 gets SIGTERM under load, as in a rolling deploy, and
// starts again. It must exit 0 within http.shutdown_timeout (10 s here) having drained:
// no request it accepted fails (clients see refused connections and go elsewhere), its
// web-chat clients are told "going away" and resume on another replica with ?after=.
func TestFaultSIGTERM(t *testing.T) {
	const shutdown = 10 * time.Second
	var drain time.Duration
	var exitErr error
	rep := runFaultScenario(t, "SIGTERM of 1 of 3 replicas (rolling deploy)", faultOptions{Shutdown: shutdown}, func(c *faultCluster, l *faultLoad) string {
		n, m := l.awaitTarget(1, 2, 2)
		drain, exitErr = c.term(1, shutdown+20*time.Second)
		c.start(1) // the new version comes up
		return fmt.Sprintf("; drained and exited in %.1f s (%v) with %d web-chat sockets open, %d turns in flight", drain.Seconds(), exitErr, n, m)
	})
	for _, f := range rep.failures(false) {
		t.Error(f)
	}
	if exitErr != nil || drain > shutdown {
		t.Errorf("SIGTERM: exited after %v with %v; want 0 within http.shutdown_timeout %v", drain, exitErr, shutdown)
	}
	if rep.Stats.Resumed == 0 {
		t.Error("no web-chat client resumed its conversation on another replica: the shutdown closed no live socket")
	}
}
