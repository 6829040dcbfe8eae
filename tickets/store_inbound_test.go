package tickets

import (
	"context"
	"errors"
	"sync"
	"testing"
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
