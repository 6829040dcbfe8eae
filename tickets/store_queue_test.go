package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

func TestTurnQueueHandsEachTurnToOneWorker(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	for i := range 40 {
		_, err := s.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: fmt.Sprint(i), CustomerRef: fmt.Sprintf("tg:%d", i%5),
			Text: fmt.Sprintf("message %d", i), ReplyTo: []byte(fmt.Sprintf(`{"chat_id": %d}`, i%5))})
		if err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				p, ok, err := s.ClaimTurn(ctx, time.Minute, 0)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
				if p.Text != "message "+p.ChannelMessageID || len(p.ReplyTo) == 0 || p.CustomerRef == "" {
					t.Errorf("claimed turn %+v", p)
				}
				mu.Lock()
				seen[p.ChannelMessageID]++
				mu.Unlock()
				if err := s.CompleteTurn(ctx, p.Channel, p.ChannelMessageID, p.Attempts, map[string]string{"reply": "ok"}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != 40 {
		t.Fatalf("%d turns processed, want 40", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("turn %s processed %d times", id, n)
		}
	}
	stats, err := s.QueueStats(ctx)
	if err != nil || stats["done"] != 40 || stats["pending"] != 0 {
		t.Fatalf("queue stats %v, %v", stats, err)
	}
}

func TestTurnQueueLeasesRetriesAndGivesUp(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	// Processed inline by its receiver: workers leave it alone during the lease.
	if _, err := s.RecordInbound(ctx, Inbound{Channel: "rest", ChannelMessageID: "a", CustomerRef: "web:1", Text: "hi", Lease: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.ClaimTurn(ctx, time.Minute, 0); ok {
		t.Fatal("a leased turn was handed to a worker")
	}
	// A worker that crashes leaves a lease that runs out; the turn comes back.
	if _, err := s.RecordInbound(ctx, Inbound{Channel: "rest", ChannelMessageID: "b", CustomerRef: "web:1", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	p, ok, err := s.ClaimTurn(ctx, 50*time.Millisecond, 0)
	if err != nil || !ok || p.ChannelMessageID != "b" || p.Attempts != 1 {
		t.Fatalf("claim: %+v %v %v", p, ok, err)
	}
	time.Sleep(80 * time.Millisecond)
	p, ok, err = s.ClaimTurn(ctx, time.Minute, 0)
	if err != nil || !ok || p.ChannelMessageID != "b" || p.Attempts != 2 {
		t.Fatalf("reclaim after the lease ran out: %+v %v %v", p, ok, err)
	}
	// The turn keeps the time it was received, not the claim's.
	if waited := time.Since(p.ReceivedAt); waited < 80*time.Millisecond || waited > 10*time.Second {
		t.Fatalf("reclaimed turn received %v ago, want the time since RecordInbound (80 ms and a little)", waited)
	}
	// Failing twice with maxAttempts 2 gives up.
	if dead, err := s.FailTurn(ctx, "rest", "b", p.Attempts, errors.New("send failed"), RetryPolicy{MaxAttempts: 2}); err != nil || !dead {
		t.Fatal(dead, err)
	}
	var state, lastErr string
	if err := pool.QueryRow(ctx, `SELECT state, last_error FROM channel_messages WHERE message_id = 'b'`).Scan(&state, &lastErr); err != nil {
		t.Fatal(err)
	}
	if state != "failed" || lastErr != "send failed" {
		t.Fatalf("after the last attempt: %s %q", state, lastErr)
	}
}

// TestStalledAttemptCannotWriteAfterTakeover: writes are fenced by the
// attempt number, so a worker that lost its lease cannot record a second
// answer.
func TestStalledAttemptCannotWriteAfterTakeover(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	in, err := s.RecordInbound(ctx, Inbound{Channel: "webhook", ChannelMessageID: "f1", CustomerRef: "w:1", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := s.ClaimTurn(ctx, 30*time.Millisecond, 0)
	time.Sleep(50 * time.Millisecond)
	b, ok, _ := s.ClaimTurn(ctx, time.Minute, 0)
	if !ok || b.Attempts != a.Attempts+1 {
		t.Fatalf("takeover: %+v %v", b, ok)
	}
	if err := s.RecordReply(ctx, TurnReply{Channel: "webhook", ChannelMessageID: "f1", Attempt: a.Attempts,
		ConversationID: in.ConversationID, Text: "stale answer", Outcome: map[string]string{}}); !errors.Is(err, ErrConflict) {
		t.Fatalf("stalled attempt wrote: %v", err)
	}
	if err := s.RecordReply(ctx, TurnReply{Channel: "webhook", ChannelMessageID: "f1", Attempt: b.Attempts,
		ConversationID: in.ConversationID, Text: "fresh answer", Outcome: map[string]string{}, Done: true}); err != nil {
		t.Fatal(err)
	}
	var bots int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE author = 'bot'`).Scan(&bots); err != nil || bots != 1 {
		t.Fatalf("%d bot messages (%v), want 1", bots, err)
	}
}

// TestOutboxKeepsOrderAndFencing: a conversation's replies are claimed one
// at a time in order; a stalled attempt cannot fail a taken-over turn.
func TestOutboxKeepsOrderAndFencing(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	in, err := s.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: "o1", CustomerRef: "tg:1", Text: "hi", ReplyTo: []byte(`{"chat_id":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"first", "second"} {
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return s.QueueReplyTx(ctx, tx, Message{ConversationID: in.ConversationID, Text: text}, text)
		}); err != nil {
			t.Fatal(err)
		}
	}
	a, ok, err := s.ClaimOutbound(ctx, time.Minute, 0)
	if err != nil || !ok || a.Text != "first" {
		t.Fatalf("first claim %+v %v %v", a, ok, err)
	}
	if b, ok, _ := s.ClaimOutbound(ctx, time.Minute, 0); ok {
		t.Fatalf("the second reply %q was claimed while the first was in flight", b.Text)
	}
	if _, err := s.FinishOutbound(ctx, a, nil, RetryPolicy{}); err != nil {
		t.Fatal(err)
	}
	b, ok, _ := s.ClaimOutbound(ctx, time.Minute, 0)
	if !ok || b.Text != "second" {
		t.Fatalf("after the first was sent: %+v %v", b, ok)
	}
	if _, err := s.FinishOutbound(ctx, b, nil, RetryPolicy{}); err != nil { // the turn waits behind it
		t.Fatal(err)
	}
	// Fencing: attempt 1 stalls, attempt 2 takes over; attempt 1's failure changes nothing.
	p1, _, _ := s.ClaimTurn(ctx, 20*time.Millisecond, 0)
	time.Sleep(40 * time.Millisecond)
	p2, ok, _ := s.ClaimTurn(ctx, time.Minute, 0)
	if !ok || p2.Attempts != p1.Attempts+1 {
		t.Fatalf("takeover %+v", p2)
	}
	if _, err := s.FailTurn(ctx, p1.Channel, p1.ChannelMessageID, p1.Attempts, errors.New("stale"), RetryPolicy{MaxAttempts: 1}); err != nil {
		t.Fatal(err)
	}
	var state string
	if err := pool.QueryRow(ctx, `SELECT state FROM channel_messages WHERE message_id = 'o1'`).Scan(&state); err != nil || state != "pending" {
		t.Fatalf("a stale attempt's failure marked the turn %q (%v)", state, err)
	}
}

// TestQueuesKeepAConversationsOrder: turns are handed out to be answered at once, but a
// conversation's replies go out in its order, also while the channel fails: an answer
// waits (ReplyDue, DeferTurn, ClaimTurn) behind the conversation's older pending turns
// and the agents' replies logged before it, and an agent's reply behind the turns sent
// before it — until a row is given up (a dead letter holds nothing). RetryChannelNow
// ends one channel's backoffs.
func TestQueuesKeepAConversationsOrder(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	record := func(id string) InboundResult {
		t.Helper()
		in, err := s.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: id, CustomerRef: "tg:1", Thread: "chat:1",
			Text: "turn " + id, ReplyTo: []byte(`{"chat_id":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	claim := func(want string) PendingTurn {
		t.Helper()
		p, ok, err := s.ClaimTurn(ctx, time.Minute, 0)
		if err != nil || ok != (want != "") || p.ChannelMessageID != want {
			t.Fatalf("claimed %q (%v, %v), want %q", p.ChannelMessageID, ok, err, want)
		}
		return p
	}
	answer := func(p PendingTurn) {
		t.Helper()
		if err := s.RecordReply(ctx, TurnReply{Channel: p.Channel, ChannelMessageID: p.ChannelMessageID, Attempt: p.Attempts,
			ConversationID: p.ConversationID, Text: "answer " + p.ChannelMessageID, Outcome: map[string]string{"reply": "answer"}}); err != nil {
			t.Fatal(err)
		}
	}
	due := func(p PendingTurn, want bool) {
		t.Helper()
		if got, err := s.ReplyDue(ctx, p.ConversationID, p.MessageID); err != nil || got != want {
			t.Fatalf("the answer to turn %s due: %v (%v), want %v", p.ChannelMessageID, got, err, want)
		}
	}
	down := errors.New("502 Bad Gateway")
	slow := RetryPolicy{Backoff: time.Hour, MaxBackoff: time.Hour}
	record("1")
	record("2")
	// Another channel's turn, failing too: RetryChannelNow("telegram") leaves it.
	if _, err := s.RecordInbound(ctx, Inbound{Channel: "webhook", ChannelMessageID: "w", CustomerRef: "w:1", Text: "other"}); err != nil {
		t.Fatal(err)
	}
	p1, p2, pw := claim("1"), claim("2"), claim("w") // answered in parallel
	answer(p1)
	answer(p2)
	due(p1, true)
	due(p2, false) // 1 goes first
	if err := s.DeferTurn(ctx, "telegram", "2", p2.Attempts, 0); err != nil {
		t.Fatal(err)
	}
	claim("") // 2 waits behind 1, in flight
	for _, p := range []PendingTurn{p1, pw} {
		if dead, err := s.FailTurn(ctx, p.Channel, p.ChannelMessageID, p.Attempts, down, slow); err != nil || dead {
			t.Fatal(dead, err)
		}
	}
	claim("") // 2 still waits behind 1, now backing off
	// An agent's reply logged now waits behind turns 1 and 2.
	var agentMsg int64
	if err := pool.QueryRow(ctx, `INSERT INTO messages (conversation_id, author, body) VALUES ($1, 'agent:a', 'agent reply') RETURNING id`,
		p1.ConversationID).Scan(&agentMsg); err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return s.QueueReplyTx(ctx, tx, Message{ID: agentMsg, ConversationID: p1.ConversationID, Text: "agent reply"}, "agent reply")
	}); err != nil {
		t.Fatal(err)
	}
	if o, ok, _ := s.ClaimOutbound(ctx, time.Minute, 0); ok {
		t.Fatalf("the agent's reply %q overtook the answers to turns 1 and 2", o.Text)
	}
	if n, err := s.RetryChannelNow(ctx, "telegram"); err != nil || n != 1 {
		t.Fatalf("RetryChannelNow moved %d rows (%v), want 1", n, err)
	}
	p1 = claim("1")
	var out struct {
		ReplyID int64 `json:"reply_id"`
	}
	if err := json.Unmarshal(p1.Outcome, &out); err != nil || out.ReplyID == 0 {
		t.Fatalf("the outcome %s names no reply_id (%v)", p1.Outcome, err)
	}
	if err := s.CompleteTurn(ctx, p1.Channel, "1", p1.Attempts, nil); err != nil {
		t.Fatal(err)
	}
	p2 = claim("2")
	if o, ok, _ := s.ClaimOutbound(ctx, time.Minute, 0); ok {
		t.Fatalf("the agent's reply %q overtook the answer to turn 2", o.Text)
	}
	if err := s.CompleteTurn(ctx, p2.Channel, "2", p2.Attempts, nil); err != nil {
		t.Fatal(err)
	}
	o, ok, err := s.ClaimOutbound(ctx, time.Minute, 0)
	if err != nil || !ok || o.MessageID != agentMsg {
		t.Fatalf("the agent's reply after turn 2: %+v %v %v", o, ok, err)
	}
	// Turn 3, sent after the reply, is answered at once; its answer waits for the reply.
	record("3")
	p3 := claim("3")
	answer(p3)
	due(p3, false)
	if _, err := s.FinishOutbound(ctx, o, nil, RetryPolicy{}); err != nil {
		t.Fatal(err)
	}
	due(p3, true)
	if err := s.CompleteTurn(ctx, p3.Channel, "3", p3.Attempts, nil); err != nil {
		t.Fatal(err)
	}
	// A turn given up (a dead letter) holds nothing.
	record("4")
	record("5")
	p4, p5 := claim("4"), claim("5")
	answer(p4)
	answer(p5)
	if dead, err := s.FailTurn(ctx, p4.Channel, "4", p4.Attempts, down, RetryPolicy{MaxAttempts: 1}); err != nil || !dead {
		t.Fatal(dead, err)
	}
	due(p5, true)
}

// TestInlineLeaseRenewalAndTurnState: an inline turn's lease runs on the database's
// clock from its storage; its receiver renews it, and only while the turn is still its
// attempt's (a renewal after a takeover or after the answer is refused with
// ErrConflict); TurnState says what a redelivery waits on at each step.
func TestInlineLeaseRenewalAndTurnState(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	const lease = 400 * time.Millisecond
	in, err := s.RecordInbound(ctx, Inbound{Channel: "rest", ChannelMessageID: "i1", CustomerRef: "web:1", Text: "hi", Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordInbound(ctx, Inbound{Channel: "rest", ChannelMessageID: "v1", CustomerRef: "web:1", Text: "[voice message]",
		Facts: TurnFacts{VoicePending: true}}); err != nil {
		t.Fatal(err)
	}
	state := func(id string) TurnState {
		t.Helper()
		st, err := s.TurnState(ctx, "rest", id)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	extend := func(attempt int) error { return s.ExtendLease(ctx, "rest", "i1", attempt, lease) }
	check := func(step string, got, want TurnState) {
		t.Helper()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: turn state (-want +got):\n%s", step, diff)
		}
	}
	check("stored", state("i1"), TurnState{State: "pending", Leased: true})
	check("a voice note for the queue", state("v1"), TurnState{State: "pending", VoicePending: true})
	if _, err := s.TurnState(ctx, "rest", "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown turn's state: %v, want ErrNotFound", err)
	}
	// Renewed for three leases: no worker takes it.
	for range 6 {
		time.Sleep(lease / 2)
		if err := extend(1); err != nil {
			t.Fatal(err)
		}
		if p, ok, err := s.ClaimTurn(ctx, time.Minute, 0); err != nil || (ok && p.ChannelMessageID == "i1") {
			t.Fatalf("a renewed inline turn was claimed: %+v %v %v", p, ok, err)
		}
	}
	// Its receiver dies: the lease runs out and a worker takes the turn over.
	time.Sleep(lease + 100*time.Millisecond)
	check("its lease ran out", state("i1"), TurnState{State: "pending"})
	p, ok, err := s.ClaimTurn(ctx, time.Minute, 0)
	if err != nil || !ok || p.ChannelMessageID != "i1" || p.Attempts != 2 {
		t.Fatalf("takeover: %+v %v %v", p, ok, err)
	}
	if err := extend(1); !errors.Is(err, ErrConflict) {
		t.Errorf("the first attempt renewed a lease taken over: %v, want ErrConflict", err)
	}
	if err := s.RecordReply(ctx, TurnReply{Channel: "rest", ChannelMessageID: "i1", Attempt: 2, ConversationID: in.ConversationID,
		Text: "answer", Outcome: map[string]string{"reply": "answer"}, Done: true}); err != nil {
		t.Fatal(err)
	}
	var replyID int64
	if err := pool.QueryRow(ctx, `SELECT id FROM messages WHERE conversation_id = $1 AND author = 'bot'`, in.ConversationID).Scan(&replyID); err != nil {
		t.Fatal(err)
	}
	// the outcome names the reply it logged (reply_id), which orders its delivery
	check("answered", state("i1"), TurnState{State: "done", Outcome: fmt.Appendf(nil, `{"reply": "answer", "reply_id": %d}`, replyID)})
	if err := extend(2); !errors.Is(err, ErrConflict) {
		t.Errorf("a renewal after the answer: %v, want ErrConflict", err)
	}
}

// TestReleaseTurnHandsItToAWorkerAtOnce: a turn leased to its receiver, whose inline
// answer failed, is handed back: a worker claims it at once, as a settled (not an
// abandoned) attempt; a release by an attempt that was taken over does nothing.
func TestReleaseTurnHandsItToAWorkerAtOnce(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	if _, err := s.RecordInbound(ctx, Inbound{Channel: "rest", ChannelMessageID: "r1", CustomerRef: "web:1", Text: "hi", Lease: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.ClaimTurn(ctx, time.Minute, 0); ok {
		t.Fatal("a leased turn was handed to a worker before its release")
	}
	if err := s.ReleaseTurn(ctx, "rest", "r1", 1); err != nil {
		t.Fatal(err)
	}
	p, ok, err := s.ClaimTurn(ctx, time.Minute, 0)
	if err != nil || !ok || p.ChannelMessageID != "r1" || p.Attempts != 2 {
		t.Fatalf("claim after the release: %+v %v %v", p, ok, err)
	}
	var abandoned int
	if err := pool.QueryRow(ctx, `SELECT abandoned FROM channel_messages WHERE message_id = 'r1'`).Scan(&abandoned); err != nil || abandoned != 0 {
		t.Fatalf("abandoned %d (%v); want 0: the released attempt was settled", abandoned, err)
	}
	// the stale attempt 1 cannot release the worker's attempt 2
	if err := s.ReleaseTurn(ctx, "rest", "r1", 1); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.ClaimTurn(ctx, time.Minute, 0); ok {
		t.Fatal("a stale release freed the worker's lease")
	}
}

// TestAgentReplyCommittingLateKeepsItsPlace: an agent's reply takes its id, then a
// customer's turn arrives in the same conversation before the reply's transaction
// commits. The turn must not take a later id while the reply is still invisible, or
// its answer would be due (ReplyDue) before the reply is queued and overtake it: the
// turn waits for the reply's commit (the conversation's row lock), so the reply goes
// out first and the answer after it. With and without secrets (whose message id is
// taken before the statement).
func TestAgentReplyCommittingLateKeepsItsPlace(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	for i, c := range []struct {
		name    string
		secrets []Secret
	}{
		{"plain turn", nil},
		{"turn with secrets", []Secret{{Placeholder: "[PHONE_1]", Kind: "PHONE", Value: "13812345678"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			customer, chat := fmt.Sprintf("tg:late%d", i), fmt.Sprintf(`{"chat_id": %d}`, 900+i)
			first, err := s.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: customer + "-1", CustomerRef: customer,
				Thread: "chat", Text: "hello", ReplyTo: []byte(chat)})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.CompleteTurn(ctx, "telegram", customer+"-1", 0, nil); err != nil {
				t.Fatal(err)
			}
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			agent, err := InsertMessageTx(ctx, tx, Message{ConversationID: first.ConversationID, Author: "agent:a", Text: "agent reply"})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.QueueReplyTx(ctx, tx, agent, agent.Text); err != nil {
				t.Fatal(err)
			}
			type stored struct {
				in  InboundResult
				err error
			}
			done := make(chan stored, 1)
			go func() {
				in, err := s.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: customer + "-2", CustomerRef: customer,
					Thread: "chat", Text: "are you there [PHONE_1]", ReplyTo: []byte(chat), Secrets: c.secrets})
				done <- stored{in, err}
			}()
			answerDue := func(id string) bool {
				t.Helper()
				p, ok, err := s.ClaimTurn(ctx, time.Minute, 0)
				if err != nil || !ok || p.ChannelMessageID != id {
					t.Fatalf("claimed %+v (%v, %v), want turn %s", p, ok, err, id)
				}
				if err := s.RecordReply(ctx, TurnReply{Channel: p.Channel, ChannelMessageID: id, Attempt: p.Attempts,
					ConversationID: p.ConversationID, Text: "answer", Outcome: map[string]string{"reply": "answer"}}); err != nil {
					t.Fatal(err)
				}
				due, err := s.ReplyDue(ctx, p.ConversationID, p.MessageID)
				if err != nil {
					t.Fatal(err)
				}
				return due
			}
			select {
			case r := <-done:
				// Stored while the agent's reply is uncommitted: its answer must not be due.
				if r.err != nil {
					t.Fatal(r.err)
				}
				if r.in.MessageID > agent.ID && answerDue(customer+"-2") {
					t.Fatalf("turn %d, stored after the agent's reply %d took its id but before it committed, is due first: its answer overtakes the reply",
						r.in.MessageID, agent.ID)
				}
				t.Fatalf("turn %d was stored while the agent's reply %d held the conversation", r.in.MessageID, agent.ID)
			case <-time.After(300 * time.Millisecond):
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			r := <-done
			if r.err != nil || r.in.ConversationID != first.ConversationID {
				t.Fatalf("turn stored in %s (%v), want %s", r.in.ConversationID, r.err, first.ConversationID)
			}
			if r.in.MessageID < agent.ID {
				t.Fatalf("the turn's id %d is below the agent's reply's %d, which committed first", r.in.MessageID, agent.ID)
			}
			if answerDue(customer + "-2") {
				t.Fatal("the answer is due before the agent's reply logged before its turn went out")
			}
			o, ok, err := s.ClaimOutbound(ctx, time.Minute, 0)
			if err != nil || !ok || o.MessageID != agent.ID {
				t.Fatalf("the agent's reply is not the next send: %+v %v %v", o, ok, err)
			}
			if _, err := s.FinishOutbound(ctx, o, nil, RetryPolicy{}); err != nil {
				t.Fatal(err)
			}
			if due, err := s.ReplyDue(ctx, r.in.ConversationID, r.in.MessageID); err != nil || !due {
				t.Fatalf("the answer after the agent's reply went out: due %v (%v), want true", due, err)
			}
			if err := s.CompleteTurn(ctx, "telegram", customer+"-2", 1, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCompleteTurnKeepsTheReplyID: a turn answered, then completed with an outcome of
// its own (as a worker does after delivering a deferred or retried answer), still
// names the reply it logged (reply_id); an outcome that is not an object is stored as
// given.
func TestCompleteTurnKeepsTheReplyID(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	for i, c := range []struct {
		name    string
		outcome any
		want    func(replyID int64) any
	}{
		{"an object", map[string]string{"reply": "answer", "intent": "refund"},
			func(id int64) any {
				return map[string]any{"reply": "answer", "intent": "refund", "reply_id": float64(id)}
			}},
		{"null", nil, func(int64) any { return nil }},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("keep%d", i)
			if _, err := s.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: id, CustomerRef: "tg:" + id, Text: "hi",
				ReplyTo: []byte(`{"chat_id": 5}`)}); err != nil {
				t.Fatal(err)
			}
			p, ok, err := s.ClaimTurn(ctx, time.Minute, 0)
			if err != nil || !ok || p.ChannelMessageID != id {
				t.Fatalf("claimed %+v (%v, %v)", p, ok, err)
			}
			if err := s.RecordReply(ctx, TurnReply{Channel: p.Channel, ChannelMessageID: id, Attempt: p.Attempts, ConversationID: p.ConversationID,
				Text: "answer", Outcome: map[string]string{"reply": "answer"}}); err != nil {
				t.Fatal(err)
			}
			var replyID int64
			if err := pool.QueryRow(ctx, `SELECT id FROM messages WHERE conversation_id = $1 AND author = 'bot'`, p.ConversationID).Scan(&replyID); err != nil {
				t.Fatal(err)
			}
			if err := s.CompleteTurn(ctx, p.Channel, id, p.Attempts, c.outcome); err != nil {
				t.Fatal(err)
			}
			st, err := s.TurnState(ctx, p.Channel, id)
			if err != nil {
				t.Fatal(err)
			}
			var got any
			if err := json.Unmarshal(st.Outcome, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want(replyID), got); diff != "" || st.State != "done" {
				t.Errorf("state %s, outcome (-want +got):\n%s", st.State, diff)
			}
		})
	}
}

// TestBotAnswerCommitsAfterAMessageWithALowerID: a web-chat session reads the ids after
// the last it sent (MessagesAfter), so within a conversation a message must never
// commit under a lower id than one already visible. An agent's message still being
// written (its transaction holds the conversation's row lock) makes the bot's answer
// wait: a reader polling meanwhile and after both commits sees both.
func TestBotAnswerCommitsAfterAMessageWithALowerID(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	in, err := s.RecordInbound(ctx, Inbound{Channel: "webchat", ChannelMessageID: "m1", CustomerRef: "web:1", Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	p, ok, err := s.ClaimTurn(ctx, time.Minute, 0)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	var last int64
	seen := map[int64]string{}
	read := func() {
		t.Helper()
		msgs, err := s.MessagesAfter(ctx, in.ConversationID, last)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			seen[m.ID], last = m.Author, m.ID
		}
	}
	read()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	agent, err := InsertMessageTx(ctx, tx, Message{ConversationID: in.ConversationID, Author: "agent:a", Text: "an agent writes"})
	if err != nil {
		t.Fatal(err)
	}
	replied := make(chan error, 1)
	go func() {
		replied <- s.RecordReply(ctx, TurnReply{Channel: p.Channel, ChannelMessageID: p.ChannelMessageID, Attempt: p.Attempts,
			ConversationID: in.ConversationID, Text: "the bot answers", Outcome: map[string]string{"reply": "x"}, Done: true})
	}()
	var replyErr error
	early := false
	select {
	case replyErr = <-replied: // without the lock: committed under a higher id than the agent's
		early = true
	case <-time.After(300 * time.Millisecond):
	}
	read() // a session's flush meanwhile
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !early {
		replyErr = <-replied
	}
	if replyErr != nil {
		t.Fatal(replyErr)
	}
	if early {
		t.Errorf("the bot's answer committed while the agent's message (id %d) was not yet", agent.ID)
	}
	read()
	var all []string
	rows, _ := pool.Query(ctx, `SELECT author FROM messages WHERE conversation_id = $1 ORDER BY id`, in.ConversationID)
	all, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, id := range sortedKeys(seen) {
		got = append(got, seen[id])
	}
	if diff := cmp.Diff(all, got); diff != "" {
		t.Fatalf("what a session polling MessagesAfter received (-stored +received):\n%s", diff)
	}
}

func sortedKeys(m map[int64]string) []int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestClaimBehindABacklogDoesNotReadIt: behind a channel that was down, the turn queue
// holds thousands of answered turns, each waiting for the one before it in its chat. A
// claim visits each chat's oldest turn (leased here: nothing is claimable) and the turns
// not yet answered, so its cost does not grow with the backlog: ten times the backlog,
// at most three times the time (it used to read every pending row and probe each: 100 ms
// for 1,300 rows on an idle machine, ten times that for ten times the rows). A turn not
// yet answered, the newest of all, is still claimed at once.
func TestClaimBehindABacklogDoesNotReadIt(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO customers (id, pseudonymous_id) SELECT gen_random_uuid(), 'tg:' || g FROM generate_series(1, 6) g`)
	exec(`INSERT INTO conversations (id, customer_id, channel) SELECT gen_random_uuid(), id, 'telegram' FROM customers`)
	backlog := func(from, to int) { // answered turns from..to, spread over the 6 chats, in order
		t.Helper()
		exec(`INSERT INTO channel_messages (channel, message_id, conversation_id, customer_id, log_id, outcome, received_at)
			SELECT 'telegram', 'p' || g, c.id, c.customer_id, g, '{"reply_id": 1}', now() - interval '1 hour' + g * interval '10 ms'
			FROM generate_series($1::int, $2::int) g JOIN (SELECT id, customer_id, row_number() OVER () - 1 AS n FROM conversations) c ON c.n = g % 6`, from, to)
		exec(`UPDATE channel_messages SET lease_until = now() + interval '1 hour' WHERE (conversation_id, log_id) IN
			(SELECT conversation_id, min(log_id) FROM channel_messages WHERE state = 'pending' GROUP BY conversation_id)`)
		exec(`ANALYZE channel_messages`)
	}
	claims := func() time.Duration {
		t.Helper()
		var times []time.Duration
		for range 9 {
			start := time.Now()
			if _, ok, err := s.ClaimTurn(ctx, time.Minute, 0); err != nil || ok {
				t.Fatalf("claimed a turn behind its chat's leased one (%v, %v)", ok, err)
			}
			times = append(times, time.Since(start))
		}
		slices.Sort(times)
		return times[len(times)/2]
	}
	// and what a day of traffic leaves: 30,000 turns done, in 200 other conversations
	exec(`INSERT INTO customers (id, pseudonymous_id) SELECT gen_random_uuid(), 'tg:done:' || g FROM generate_series(1, 200) g`)
	exec(`INSERT INTO conversations (id, customer_id, channel) SELECT gen_random_uuid(), id, 'telegram' FROM customers WHERE pseudonymous_id LIKE 'tg:done:%'`)
	exec(`INSERT INTO channel_messages (channel, message_id, conversation_id, customer_id, log_id, outcome, state, received_at)
		SELECT 'telegram', 'd' || g, c.id, c.customer_id, 100000 + g, '{}', 'done', now() - interval '1 day' + g * interval '1 s'
		FROM generate_series(1, 30000) g JOIN (SELECT id, customer_id, row_number() OVER () - 1 AS n FROM conversations c
			WHERE EXISTS (SELECT 1 FROM customers WHERE id = c.customer_id AND pseudonymous_id LIKE 'tg:done:%')) c ON c.n = g % 200`)
	backlog(1, 1300)
	small := claims()
	backlog(1301, 13000)
	large := claims()
	t.Logf("an empty claim behind 1,300 pending turns in 6 chats: %v; behind 13,000: %v (medians of 9)", small, large)
	if large > 3*small+time.Millisecond {
		t.Errorf("an empty claim took %v behind 13,000 pending turns, %v behind 1,300: it reads the backlog", large, small)
	}
	in, err := s.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: "new", CustomerRef: "tg:1", Text: "a new question",
		ReplyTo: []byte(`{"chat_id": 1}`)})
	if err != nil {
		t.Fatal(err)
	}
	p, ok, err := s.ClaimTurn(ctx, time.Minute, 0)
	if err != nil || !ok || p.ChannelMessageID != "new" || p.ConversationID != in.ConversationID {
		t.Fatalf("claimed %+v (%v, %v); want the new turn, not yet answered, behind the backlog", p, ok, err)
	}
}
