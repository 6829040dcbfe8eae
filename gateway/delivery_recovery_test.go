package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/tickets"
)

// recordingSender fails while down and records, per chat, what it sent.
type recordingSender struct {
	mu   sync.Mutex
	down bool
	sent map[string][]string
}

func (r *recordingSender) Send(_ context.Context, replyTo json.RawMessage, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return errors.New("telegram: POST https://api.telegram.org/bot…/sendMessage: 502 Bad Gateway")
	}
	if r.sent == nil {
		r.sent = map[string][]string{}
	}
	r.sent[string(replyTo)] = append(r.sent[string(replyTo)], text)
	return nil
}

func (r *recordingSender) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.sent {
		n += len(s)
	}
	return n
}

// TestChannelBackSendsItsBacklogAtOnce (issue 20, scenario 5): replies that failed while
// their channel was down wait out a backoff (here an hour) — until a send on that
// channel succeeds again: then the worker makes them due at once, and they go out in
// order per chat.
func TestChannelBackSendsItsBacklogAtOnce(t *testing.T) {
	in := newInstance(t, newPool(t), "back"+strings.ToLower(t.Name()))
	ctx := context.Background()
	ticket := replyOnTelegram(t, in, 11, "first")
	if _, _, err := in.svc.Reply(ctx, tickets.Actor{ID: "alice"}, ticket, "second"); err != nil {
		t.Fatal(err)
	}
	tg := &recordingSender{down: true}
	w := &flow.Worker{Store: in.store, Outbound: map[string]flow.Sender{"telegram": tg}, Log: slog.New(slog.DiscardHandler),
		Retry: tickets.RetryPolicy{Backoff: time.Hour, MaxBackoff: time.Hour}}
	if did, err := w.DeliverOne(ctx); !did || err != nil { // "first" fails, and waits up to an hour
		t.Fatalf("delivery while down: %v %v", did, err)
	}
	if did, _ := w.DeliverOne(ctx); did {
		t.Fatal(`"second" overtook "first", which waits out its backoff`)
	}
	tg.mu.Lock()
	tg.down = false
	tg.mu.Unlock()
	replyOnTelegram(t, in, 12, "another chat")                 // the channel's first send after the outage succeeds…
	deliverUntil(t, w, func() bool { return tg.count() == 3 }) // …and the backlog follows at once
	want := map[string][]string{`{"chat_id": 11}`: {"first", "second"}, `{"chat_id": 12}`: {"another chat"}}
	tg.mu.Lock()
	defer tg.mu.Unlock()
	for chat, texts := range want {
		if got := tg.sent[chat]; strings.Join(got, "|") != strings.Join(texts, "|") {
			t.Errorf("chat %s received %q, want %q (all sent: %q)", chat, got, texts, tg.sent)
		}
	}
}
