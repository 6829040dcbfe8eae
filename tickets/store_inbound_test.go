package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/internal/fieldcrypt"
)

func TestRecordInboundIsIdempotentPerChannelMessage(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	in := Inbound{Channel: "telegram", ChannelMessageID: "update-77", CustomerRef: "tg:9", CustomerName: "Li", Text: "hello [PHONE_1]"}
	var wg sync.WaitGroup
	results := make([]InboundResult, 8)
	for i := range results {
		wg.Go(func() {
			r, err := s.RecordInbound(ctx, in)
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		})
	}
	wg.Wait()
	firsts := 0
	for _, r := range results {
		if !r.Duplicate {
			firsts++
		}
		if r.ConversationID != results[0].ConversationID || r.MessageID != results[0].MessageID {
			t.Fatalf("deliveries disagree: %+v vs %+v", r, results[0])
		}
	}
	if firsts != 1 {
		t.Fatalf("%d deliveries were processed as new, want 1", firsts)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM messages`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d message rows (%v), want 1", n, err)
	}
	if err := s.SaveOutcome(ctx, "telegram", "update-77", map[string]string{"reply": "hi"}); err != nil {
		t.Fatal(err)
	}
	again, err := s.RecordInbound(ctx, in)
	if err != nil || !again.Duplicate || string(again.Outcome) != `{"reply": "hi"}` {
		t.Fatalf("redelivery: %+v %s, %v", again, again.Outcome, err)
	}
	// The same customer continues the conversation; another customer may not.
	next, err := s.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: "update-78", CustomerRef: "tg:9",
		ConversationID: results[0].ConversationID, Text: "more"})
	if err != nil || next.Duplicate || next.ConversationID != results[0].ConversationID {
		t.Fatalf("follow-up: %+v, %v", next, err)
	}
	_, err = s.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: "update-79", CustomerRef: "tg:10",
		ConversationID: results[0].ConversationID, Text: "sneaky"})
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("other customer's conversation: %v, want ErrForbidden", err)
	}
}

// TestVaultSurvivesKeyRotation: secrets sealed before a key rotation still
// reveal after it; new ones use the new key.
func TestVaultSurvivesKeyRotation(t *testing.T) {
	pool := migratedPool(t)
	path := t.TempDir() + "/ring.json"
	ring, err := fieldcrypt.LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(pool, nil, ring)
	ctx := context.Background()
	first, err := s.RecordInbound(ctx, Inbound{Channel: "rest", CustomerRef: "web:v", Text: "call [PHONE_1]",
		Secrets: []Secret{{Placeholder: "[PHONE_1]", Kind: "PHONE", Value: "13812345678"}}})
	if err != nil {
		t.Fatal(err)
	}
	oldKey := ring.ActiveKeyID()
	if _, err := ring.Rotate(path); err != nil {
		t.Fatal(err)
	}
	second, err := s.RecordInbound(ctx, Inbound{Channel: "rest", CustomerRef: "web:v", ConversationID: first.ConversationID,
		Text: "mail [EMAIL_1]", Secrets: []Secret{{Placeholder: "[EMAIL_1]", Kind: "EMAIL", Value: "v@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		msg  int64
		want string
	}{{first.MessageID, "13812345678"}, {second.MessageID, "v@example.com"}} {
		got, err := s.RevealSecrets(ctx, first.ConversationID, tc.msg)
		if err != nil || len(got) != 1 || got[0].Value != tc.want {
			t.Fatalf("reveal message %d: %+v, %v", tc.msg, got, err)
		}
	}
	var enc []byte
	if err := pool.QueryRow(ctx, `SELECT value_enc FROM pii_vault WHERE message_id = $1`, second.MessageID).Scan(&enc); err != nil {
		t.Fatal(err)
	}
	if id, _ := fieldcrypt.KeyID(enc); id == oldKey || id != ring.ActiveKeyID() {
		t.Fatalf("new secret sealed with key %q, want the rotated key %q", id, ring.ActiveKeyID())
	}
	// A secret moved to another message does not decrypt (bound by AAD).
	if _, err := pool.Exec(ctx, `UPDATE pii_vault SET message_id = $1 WHERE message_id = $2`, second.MessageID+1000, first.MessageID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevealSecrets(ctx, first.ConversationID, second.MessageID+1000); err == nil {
		t.Fatal("a secret moved to another message decrypted")
	}
}

// TestRecordInboundOutcomes covers each way one statement can store a
// message or refuse it, and what the result says.
func TestRecordInboundOutcomes(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	first, err := s.RecordInbound(ctx, Inbound{Channel: "rest", ChannelMessageID: "m1", CustomerRef: "web:a", CustomerName: "Ann", Text: "hi"})
	if err != nil || !first.NewConversation || first.Duplicate {
		t.Fatalf("first contact: %+v, %v", first, err)
	}
	if _, err := s.RecordInbound(ctx, Inbound{Channel: "rest", ChannelMessageID: "other", CustomerRef: "web:b", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      Inbound
		wantErr error
		wantNew bool
		wantDup bool
	}{
		{"continues its conversation", Inbound{ChannelMessageID: "m2", CustomerRef: "web:a", ConversationID: first.ConversationID}, nil, false, false},
		{"a new display name is stored with the message", Inbound{ChannelMessageID: "m3", CustomerRef: "web:a", CustomerName: "Ann B"}, nil, true, false},
		{"redelivery, acknowledged after a flush", Inbound{ChannelMessageID: "m1", CustomerRef: "web:a", DeferFlush: true}, nil, false, true},
		{"unknown conversation", Inbound{ChannelMessageID: "m4", CustomerRef: "web:a", ConversationID: "00000000-0000-0000-0000-000000000000"}, ErrNotFound, false, false},
		{"malformed conversation id", Inbound{ChannelMessageID: "m5", CustomerRef: "web:a", ConversationID: "nope"}, ErrNotFound, false, false},
		{"someone else's conversation", Inbound{ChannelMessageID: "m6", CustomerRef: "web:b", ConversationID: first.ConversationID}, ErrForbidden, false, false},
		{"first contact into someone's conversation", Inbound{ChannelMessageID: "m7", CustomerRef: "web:new", ConversationID: first.ConversationID}, ErrForbidden, false, false},
		{"deferred flush, new message", Inbound{ChannelMessageID: "m8", CustomerRef: "web:a", DeferFlush: true, Lease: time.Minute}, nil, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Channel, tc.in.Text = "rest", "text of "+tc.in.ChannelMessageID
			got, err := s.RecordInbound(ctx, tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if got.NewConversation != tc.wantNew || got.Duplicate != tc.wantDup || got.ConversationID == "" || got.MessageID == 0 {
				t.Fatalf("got %+v, want new=%v duplicate=%v", got, tc.wantNew, tc.wantDup)
			}
		})
	}
	c, err := s.GetCustomer(ctx, first.CustomerID)
	if err != nil || c.DisplayName != "Ann B" {
		t.Fatalf("customer after the name change: %+v, %v", c, err)
	}
	// Refused messages left nothing behind: one message per stored turn.
	var turns, msgs int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM channel_messages), (SELECT count(*) FROM messages)`).Scan(&turns, &msgs); err != nil {
		t.Fatal(err)
	}
	if turns != 5 || msgs != 5 {
		t.Fatalf("%d turns and %d messages stored, want 5 and 5", turns, msgs)
	}
}

// TestThreadedMessagesContinueTheLiveConversation: a channel thread's messages share a
// conversation while it is active or has an open ticket; other threads, other customers
// and a thread silent for longer than the idle window get conversations of their own.
func TestThreadedMessagesContinueTheLiveConversation(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	n := 0
	send := func(customer, thread string) InboundResult {
		t.Helper()
		n++
		r, err := s.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: fmt.Sprint("u", n), CustomerRef: customer,
			Thread: thread, ThreadIdle: time.Hour, Text: "hello", ReplyTo: json.RawMessage(fmt.Sprintf(`{"chat_id":%d}`, n))})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	age := func(conv string, by time.Duration) {
		t.Helper()
		if _, err := pool.Exec(ctx, `UPDATE conversations SET last_message_at = now() - $2 * interval '1 second' WHERE id = $1`,
			conv, by.Seconds()); err != nil {
			t.Fatal(err)
		}
	}
	first := send("tg:1", "chat:1")
	again := send("tg:1", "chat:1")
	if !first.NewConversation || again.NewConversation || again.ConversationID != first.ConversationID {
		t.Fatalf("same chat: %+v then %+v, want one conversation", first, again)
	}
	var replyTo string
	if err := pool.QueryRow(ctx, `SELECT reply_to::text FROM conversations WHERE id = $1`, first.ConversationID).Scan(&replyTo); err != nil || replyTo != `{"chat_id": 2}` {
		t.Fatalf("reply address %s (%v): want the latest message's", replyTo, err)
	}
	for _, tc := range []struct{ customer, thread string }{{"tg:1", "chat:2"}, {"tg:2", "chat:1"}} {
		if r := send(tc.customer, tc.thread); !r.NewConversation || r.ConversationID == first.ConversationID {
			t.Fatalf("%s on %s joined %s", tc.customer, tc.thread, first.ConversationID)
		}
	}

	// silent for two hours with a ticket still open: the agent's conversation continues
	tk, err := s.InsertTicket(ctx, Ticket{CustomerID: first.CustomerID, ConversationID: first.ConversationID, Status: StatusOpen,
		Priority: PriorityNormal, CreatedAt: time.Now()}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	age(first.ConversationID, 2*time.Hour)
	if r := send("tg:1", "chat:1"); r.ConversationID != first.ConversationID {
		t.Fatalf("with an open ticket: new conversation %s", r.ConversationID)
	}
	// resolved and silent: the next message starts afresh
	if _, err := pool.Exec(ctx, `UPDATE tickets SET status = 'resolved', resolved_at = now() WHERE id = $1`, tk.ID); err != nil {
		t.Fatal(err)
	}
	age(first.ConversationID, 2*time.Hour)
	if r := send("tg:1", "chat:1"); !r.NewConversation || r.ConversationID == first.ConversationID {
		t.Fatalf("after the idle window: %+v, want a new conversation", r)
	}
}
