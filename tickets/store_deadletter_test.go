package tickets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// TestTurnThatCrashesItsWorkerIsGivenUp (M7): a turn whose worker dies while answering
// (claimed, never failed or completed, lease runs out) comes back at most
// maxAbandoned times, then it is a dead letter with a clear last_error; an outbox row
// is bounded the same way.
func TestTurnThatCrashesItsWorkerIsGivenUp(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	_, err := s.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: "crash", CustomerRef: "tg:1", Text: "boom",
		ReplyTo: []byte(`{"chat_id":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	// The reply is another chat's: in one conversation, an unanswered turn waits behind a pending reply.
	other, err := s.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: "other", CustomerRef: "tg:2", Text: "hi",
		ReplyTo: []byte(`{"chat_id":2}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteTurn(ctx, "telegram", "other", 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return s.QueueReplyTx(ctx, tx, Message{ConversationID: other.ConversationID, Text: "reply"}, "reply")
	}); err != nil {
		t.Fatal(err)
	}
	const lease, maxAbandoned = 30 * time.Millisecond, 3
	runs, sends := 0, 0
	for range 10 { // "crash": claim and never report back
		if _, ok, err := s.ClaimTurn(ctx, lease, maxAbandoned); err != nil {
			t.Fatal(err)
		} else if ok {
			runs++
		}
		if _, ok, err := s.ClaimOutbound(ctx, lease, maxAbandoned); err != nil {
			t.Fatal(err)
		} else if ok {
			sends++
		}
		time.Sleep(2 * lease)
	}
	if runs != maxAbandoned || sends != maxAbandoned {
		t.Fatalf("a crashing turn ran %d times and a crashing reply %d times, want %d each", runs, sends, maxAbandoned)
	}
	gave, err := s.GiveUpAbandoned(ctx, maxAbandoned)
	if err != nil {
		t.Fatal(err)
	}
	want := []QueueCount{{Queue: QueueTurns, Channel: "telegram", State: "failed", N: 1}, {Queue: QueueOutbox, Channel: "telegram", State: "failed", N: 1}}
	if diff := cmp.Diff(want, gave); diff != "" {
		t.Fatalf("given up (-want +got):\n%s", diff)
	}
	for _, q := range []string{`SELECT state, last_error FROM channel_messages WHERE message_id = 'crash'`, `SELECT state, last_error FROM outbox`} {
		var state, lastErr string
		if err := pool.QueryRow(ctx, q).Scan(&state, &lastErr); err != nil {
			t.Fatal(err)
		}
		if state != "failed" || !strings.Contains(lastErr, "3 abandoned attempts") || !strings.Contains(lastErr, "outbox retry") {
			t.Errorf("%s: %s %q", q, state, lastErr)
		}
	}
	// A turn that fails properly (FailTurn) is not abandoned: it keeps being retried.
	if _, err := s.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: "flaky", CustomerRef: "tg:2", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	fast := RetryPolicy{Backoff: time.Millisecond, MaxBackoff: time.Millisecond}
	for i := range 6 {
		p, ok, err := s.ClaimTurn(ctx, lease, maxAbandoned)
		for deadline := time.Now().Add(time.Second); err == nil && !ok && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
			p, ok, err = s.ClaimTurn(ctx, lease, maxAbandoned)
		}
		if err != nil || !ok {
			t.Fatalf("attempt %d of a failing turn: %v %v", i+1, ok, err)
		}
		if dead, err := s.FailTurn(ctx, p.Channel, p.ChannelMessageID, p.Attempts, errors.New("API down"), fast); err != nil || dead {
			t.Fatalf("attempt %d: dead %v, %v", i+1, dead, err)
		}
	}
}

// TestRetriesLastUntilTheRetryWindowEnds (M6): a failing row is retried with a
// jittered, growing delay for as long as the window lasts, however many attempts that
// takes, then it is a dead letter; re-queueing gives it a fresh window and is audited.
func TestRetriesLastUntilTheRetryWindowEnds(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	in, err := s.RecordInbound(ctx, Inbound{Channel: "slack", ChannelMessageID: "e1", CustomerRef: "slack:T:U", Text: "hi",
		ReplyTo: []byte(`{"channel":"D1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return s.QueueReplyTx(ctx, tx, Message{ConversationID: in.ConversationID, Text: "hello"}, "hello")
	}); err != nil {
		t.Fatal(err)
	}
	hours := RetryPolicy{For: time.Hour, Backoff: 2 * time.Second, MaxBackoff: 10 * time.Minute}
	for attempt := 1; attempt <= 12; attempt++ { // more than the old budget of 5
		if _, err := pool.Exec(ctx, `UPDATE outbox SET lease_until = NULL`); err != nil { // skip the wait
			t.Fatal(err)
		}
		o, ok, err := s.ClaimOutbound(ctx, time.Minute, 0)
		if err != nil || !ok {
			t.Fatalf("attempt %d not handed out: %v %v", attempt, ok, err)
		}
		dead, err := s.FinishOutbound(ctx, o, errors.New("channel API down"), hours)
		if err != nil || dead {
			t.Fatalf("attempt %d: dead %v, %v; want a retry", attempt, dead, err)
		}
		var ms int64
		if err := pool.QueryRow(ctx, `SELECT (extract(epoch FROM lease_until - now()) * 1000)::bigint FROM outbox`).Scan(&ms); err != nil {
			t.Fatal(err)
		}
		wait := time.Duration(ms) * time.Millisecond
		bound := min(2*time.Second<<(attempt-1), 10*time.Minute)
		if wait < -time.Second || wait > bound+time.Second {
			t.Fatalf("attempt %d waits %s, want within (0, %s]", attempt, wait, bound)
		}
	}
	// The window has passed: the next failure makes it a dead letter.
	if _, err := pool.Exec(ctx, `UPDATE outbox SET created_at = now() - interval '2 hours', lease_until = NULL`); err != nil {
		t.Fatal(err)
	}
	o, ok, err := s.ClaimOutbound(ctx, time.Minute, 0)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if dead, err := s.FinishOutbound(ctx, o, errors.New("still down"), hours); err != nil || !dead {
		t.Fatalf("past the window: dead %v, %v", dead, err)
	}
	counts, err := s.QueueCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []QueueCount{{Queue: QueueOutbox, Channel: "slack", State: "failed", N: 1}, {Queue: QueueTurns, Channel: "slack", State: "pending", N: 1}}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Fatalf("queue counts (-want +got):\n%s", diff)
	}
	ds, err := s.Deliveries(ctx, in.ConversationID)
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries %v, %v", ds, err)
	}
	for _, d := range ds {
		if d.State != "failed" || d.Attempts != 13 || d.Error != "still down" {
			t.Fatalf("delivery %+v", d)
		}
	}
	// Re-queued: a fresh window, audited.
	if _, err := s.RequeueFailed(ctx, "cli", Requeue{Turns: true, ID: 1}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("an id with turns: %v", err)
	}
	n, err := s.RequeueFailed(ctx, "cli", Requeue{Channel: "slack"})
	if err != nil || n != 1 {
		t.Fatalf("re-queued %d, %v", n, err)
	}
	o, ok, err = s.ClaimOutbound(ctx, time.Minute, 0)
	if err != nil || !ok {
		t.Fatalf("re-queued row not handed out: %v %v", ok, err)
	}
	if dead, err := s.FinishOutbound(ctx, o, errors.New("down again"), hours); err != nil || dead {
		t.Fatalf("a re-queued row failing once: dead %v, %v", dead, err)
	}
	var audited int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'outbox.retry' AND actor = 'cli'
		AND detail::jsonb @> '{"rows": 1, "channel": "slack"}'`).Scan(&audited); err != nil || audited != 1 {
		t.Fatalf("%d audit rows (%v), want 1", audited, err)
	}
}

// TestAgentOriginalIsHeldUntilDelivered: the reply is stored redacted; the original is
// sealed for the push channel's outbox and deleted when it is sent, or held for a pull
// channel's customer until the read grace (or the retention) ends.
func TestAgentOriginalIsHeldUntilDelivered(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	pool := ts.store.Pool()
	ts.store.HoldOriginals(300*time.Millisecond, time.Hour)
	hotline := "call 400-820-1234"
	reply := func(channel, ref string) Message {
		t.Helper()
		in, err := ts.store.RecordInbound(ctx, Inbound{Channel: channel, ChannelMessageID: ref, CustomerRef: ref, Text: "help",
			ReplyTo: []byte(`{"chat_id":7}`)})
		if err != nil {
			t.Fatal(err)
		}
		// answered: an agent's reply waits for the answers to the turns before it
		if err := ts.store.CompleteTurn(ctx, channel, ref, 0, nil); err != nil {
			t.Fatal(err)
		}
		tk, as, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: ref}, Channel: channel,
			ConversationID: in.ConversationID, Skills: []string{"billing"}})
		if err != nil || as == nil {
			t.Fatalf("ticket %+v %v", as, err)
		}
		_, m, err := ts.Reply(ctx, Actor{ID: tk.AssigneeID}, tk.ID, hotline)
		if err != nil {
			t.Fatal(err)
		}
		if m.Text != "call [NUM]-[NUM]-[NUM]" {
			t.Fatalf("stored reply %q", m.Text)
		}
		return m
	}
	// Push: sealed in the outbox, opened for the send, gone once sent.
	pushed := reply("telegram", "tg:held")
	o, ok, err := ts.store.ClaimOutbound(ctx, time.Minute, 0)
	if err != nil || !ok || o.Text != pushed.Text || o.Sealed == nil || o.MessageID != pushed.ID {
		t.Fatalf("outbox row %+v %v %v", o, ok, err)
	}
	if got, err := ts.store.OpenOriginal(o); err != nil || got != hotline {
		t.Fatalf("opened %q, %v", got, err)
	}
	tampered := o
	tampered.MessageID++
	if _, err := ts.store.OpenOriginal(tampered); err == nil {
		t.Fatal("a sealed reply opened for another message")
	}
	if _, err := ts.store.FinishOutbound(ctx, o, nil, RetryPolicy{}); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE original_enc IS NOT NULL`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d sealed originals left after the send (%v)", left, err)
	}
	// Pull: held for the customer's reads, for the grace after the first one.
	pulled := reply("rest", "web:held")
	view := func() string {
		msgs, err := ts.store.ListMessages(ctx, pulled.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		if err := ts.store.CustomerView(ctx, pulled.ConversationID, msgs); err != nil {
			t.Fatal(err)
		}
		return msgs[len(msgs)-1].Text
	}
	if got := view(); got != hotline {
		t.Fatalf("the customer reads %q, want the agent's text", got)
	}
	if got := view(); got != hotline {
		t.Fatalf("a second read within the grace: %q", got)
	}
	time.Sleep(400 * time.Millisecond)
	if got := view(); got != pulled.Text {
		t.Fatalf("after the grace the customer reads %q, want the stored text", got)
	}
	if n, err := ts.store.ReleaseOriginals(ctx); err != nil || n != 1 {
		t.Fatalf("released %d, %v", n, err)
	}
	// Unread: gone after the retention.
	ts.store.HoldOriginals(time.Minute, 200*time.Millisecond)
	unread := reply("api", "crm:held")
	time.Sleep(300 * time.Millisecond)
	if n, err := ts.store.ReleaseOriginals(ctx); err != nil || n != 1 {
		t.Fatalf("released %d unread, %v", n, err)
	}
	msgs := []Message{unread}
	if err := ts.store.CustomerView(ctx, unread.ConversationID, msgs); err != nil || msgs[0].Text != unread.Text {
		t.Fatalf("after the retention: %q, %v", msgs[0].Text, err)
	}
	var held int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM held_originals`).Scan(&held); err != nil || held != 0 {
		t.Fatalf("%d held originals left (%v)", held, err)
	}
}
