package gateway

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/tickets"
)

// slowBrain answers like scriptedBrain, after delay for texts containing "slow", and
// counts the turns it understood.
type slowBrain struct {
	scriptedBrain
	delay time.Duration
	runs  *atomic.Int64
}

func (b slowBrain) Understand(ctx context.Context, text string) (flow.Understanding, error) {
	b.runs.Add(1)
	if strings.Contains(text, "slow") {
		select {
		case <-time.After(b.delay):
		case <-ctx.Done():
			return flow.Understanding{}, ctx.Err()
		}
	}
	return b.scriptedBrain.Understand(ctx, text)
}

// TestInlineTurnLeaseAndRedelivery: a REST turn is held under a short lease that its
// request renews while it answers, so a queue worker (another replica's) never takes
// over a slow answer of a live receiver, yet takes over within about the lease the turn
// of a receiver that died; and a redelivery of the message (the client's retry) waits
// for the answer and returns it instead of an empty acknowledgement. Each turn is
// answered once: one run of the pipeline, one bot message.
func TestInlineTurnLeaseAndRedelivery(t *testing.T) {
	const lease = 300 * time.Millisecond
	const slow = 4 * lease // an answer far slower than the lease
	runs := &atomic.Int64{}
	var proc *pipeline.Pipeline
	in := newInstanceWith(t, newPool(t), "inlinelease"+strings.ToLower(t.Name()), slowBrain{delay: slow, runs: runs},
		func(o *Options) { o.InlineLease, proc = lease, o.Process })
	ctx, stop := context.WithCancel(context.Background())
	var wg, firsts sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	// a queue worker, as another replica runs it
	w := &flow.Worker{Store: in.store, Process: proc, Log: slog.New(slog.DiscardHandler), Lease: lease, Poll: 20 * time.Millisecond}
	wg.Go(func() { w.Run(ctx) })

	type turnRow struct {
		Attempts, BotMessages int
		State                 string
	}
	for _, tc := range []struct {
		name string
		text string
		// first delivers the message first: a request still answering it (alive), or
		// the ingress of a replica that died before it answered
		first        func(t *testing.T, tok, subject, mid string)
		wantAttempts int
		within       time.Duration // the retry's answer, from the first delivery
	}{
		{"receiver alive and slow", "slow: refund please", func(t *testing.T, tok, subject, mid string) {
			firsts.Go(func() {
				var r MessageReply
				if code := call(t, in.http.URL, tok, "POST", "/v1/messages", map[string]any{"message_id": mid, "text": "slow: refund please"}, &r); code != 200 || r.Reply == "" || r.Duplicate {
					t.Errorf("the first delivery: %d %+v; want its answer", code, r)
				}
			})
			// it is stored, and being answered past its lease
			for _, err := in.store.TurnState(ctx, "rest", restMessageKey(subject, mid)); err != nil; _, err = in.store.TurnState(ctx, "rest", restMessageKey(subject, mid)) {
				if !errors.Is(err, tickets.ErrNotFound) {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(2 * lease)
		}, 1, slow + 3*time.Second},
		{"receiver died", "refund please", func(t *testing.T, _, subject, mid string) {
			_, err := in.store.RecordInbound(ctx, tickets.Inbound{Channel: "rest", ChannelMessageID: restMessageKey(subject, mid),
				CustomerRef: subject, Text: "refund please", Lease: lease})
			if err != nil {
				t.Fatal(err)
			}
		}, 2, lease + 3*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs.Store(0)
			subject := "web:" + strings.ReplaceAll(tc.name, " ", "-")
			tok, mid := in.token(t, subject, RoleCustomer), "m-1"
			start := time.Now()
			tc.first(t, tok, subject, mid)
			var r MessageReply
			mustCall(t, 200, in.http.URL, tok, "POST", "/v1/messages", map[string]any{"message_id": mid, "text": tc.text}, &r)
			if took := time.Since(start); !r.Duplicate || r.Reply != "Refunds arrive within 5 working days." || took > tc.within {
				t.Errorf("the retry: %+v after %v; want the first delivery's answer as a redelivery within %v", r, took, tc.within)
			}
			firsts.Wait() // the first delivery's request, when there is one
			var got turnRow
			// a worker completes the turn just after it recorded the answer
			for deadline := time.Now().Add(5 * time.Second); got.State != "done" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				err := in.store.Pool().QueryRow(ctx, `SELECT cm.attempts, cm.state,
					(SELECT count(*) FROM messages m WHERE m.conversation_id = cm.conversation_id AND m.author = 'bot')
					FROM channel_messages cm WHERE cm.channel = 'rest' AND cm.message_id = $1`, restMessageKey(subject, mid)).
					Scan(&got.Attempts, &got.State, &got.BotMessages)
				if err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(turnRow{Attempts: tc.wantAttempts, BotMessages: 1, State: "done"}, got); diff != "" {
				t.Errorf("the stored turn (-want +got):\n%s", diff)
			}
			if runs.Load() != 1 {
				t.Errorf("the pipeline understood the turn %d times; want once", runs.Load())
			}
		})
	}
}
