package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/tickets"
)

type countingSender struct{ n atomic.Int64 }

func (c *countingSender) Send(context.Context, json.RawMessage, string) error { c.n.Add(1); return nil }

// TestWorkerKeepsItsLeaseWhileAnswering: an answer slower than the lease
// is not taken over by a second worker.
func TestWorkerKeepsItsLeaseWhileAnswering(t *testing.T) {
	in := newInstance(t, newPool(t), "lease"+t.Name())
	ctx := context.Background()
	if _, err := in.store.RecordInbound(ctx, tickets.Inbound{Channel: "webhook", ChannelMessageID: "slow-1",
		CustomerRef: "webhook:x", Text: "hello", ReplyTo: []byte(`{"customer_id":"x"}`)}); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int64
	slow := pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		runs.Add(1)
		time.Sleep(900 * time.Millisecond)
		t.Reply, t.Confidence = "done", 1
		return nil
	})
	proc := pipeline.New(pipeline.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler), pipeline.Step{Name: "slow", Stage: slow})
	sender := &countingSender{}
	w := &flow.Worker{Store: in.store, Process: proc, Outbound: map[string]flow.Sender{"webhook": sender}, Log: slog.New(slog.DiscardHandler),
		Lease: 300 * time.Millisecond}
	first := make(chan error, 1)
	go func() { _, err := w.Once(ctx); first <- err }()
	time.Sleep(600 * time.Millisecond) // twice the lease: without renewal the turn would be free again
	if did, err := w.Once(ctx); err != nil || did {
		t.Fatalf("a second worker took the turn while the first was answering (did %v, err %v)", did, err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if runs.Load() != 1 || sender.n.Load() != 1 {
		t.Fatalf("processed %d times, sent %d times; want 1 and 1", runs.Load(), sender.n.Load())
	}
}

type flakySender struct {
	fails atomic.Int64
	sent  atomic.Int64
	last  atomic.Value
}

func (f *flakySender) Send(_ context.Context, _ json.RawMessage, text string) error {
	if f.fails.Add(-1) >= 0 {
		return errors.New("channel API down")
	}
	f.sent.Add(1)
	f.last.Store(text)
	return nil
}

// TestAgentReplyDeliveryIsRetried: an agent's reply is queued with the reply
// itself and delivered by a worker, as the agent wrote it, retried after a
// failed send.
func TestAgentReplyDeliveryIsRetried(t *testing.T) {
	in := newInstance(t, newPool(t), "outbox"+t.Name())
	ctx := context.Background()
	svc := in.svc
	if _, err := svc.PutSkillGroup(ctx, "admin", tickets.SkillGroup{ID: "support"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutAgent(ctx, "admin", tickets.Agent{ID: "alice", Groups: []string{"support"}, Capacity: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetAgentStatus(ctx, "alice", tickets.AgentOnline, -1); err != nil {
		t.Fatal(err)
	}
	turn, err := in.store.RecordInbound(ctx, tickets.Inbound{Channel: "telegram", ChannelMessageID: "u1", CustomerRef: "tg:5",
		Text: "help", ReplyTo: []byte(`{"chat_id":5}`)})
	if err != nil {
		t.Fatal(err)
	}
	// the bot answered the turn (an agent's reply waits behind the turns sent before it)
	if err := in.store.CompleteTurn(ctx, "telegram", "u1", 0, nil); err != nil {
		t.Fatal(err)
	}
	tk, _, err := svc.CreateTicket(ctx, tickets.Actor{ID: "bot"}, tickets.NewTicket{Customer: tickets.Customer{PseudonymousID: "tg:5"},
		Channel: "telegram", ConversationID: turn.ConversationID})
	if err != nil || tk.AssigneeID != "alice" {
		t.Fatalf("ticket %+v, %v", tk, err)
	}
	if _, _, err := svc.Reply(ctx, tickets.Actor{ID: "alice"}, tk.ID, "call me back on 13812345678"); err != nil {
		t.Fatal(err)
	}
	flaky := &flakySender{}
	flaky.fails.Store(1)
	w := &flow.Worker{Store: in.store, Outbound: map[string]flow.Sender{"telegram": flaky}, Log: slog.New(slog.DiscardHandler)}
	deadline := time.Now().Add(10 * time.Second)
	for flaky.sent.Load() == 0 && time.Now().Before(deadline) {
		if _, err := w.DeliverOne(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if flaky.sent.Load() != 1 || flaky.last.Load() != "call me back on 13812345678" {
		t.Fatalf("delivered %d times, last %v; want one delivery of the agent's text after a retry", flaky.sent.Load(), flaky.last.Load())
	}
	if did, err := w.DeliverOne(ctx); did || err != nil {
		t.Fatalf("a delivered reply was claimed again (%v, %v)", did, err)
	}
}

// TestWorkerTurnMetricsFromReceipt: a queued turn's latency runs from its receipt (the
// wait in the queue included), not from the worker's claim; an attempt whose send failed
// and the later resend of the stored answer are counted by outcome but record no latency.
func TestWorkerTurnMetricsFromReceipt(t *testing.T) {
	in := newInstance(t, newPool(t), "turnmetrics"+t.Name())
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	proc := pipeline.New(pipeline.NewMetrics(reg), slog.New(slog.DiscardHandler), pipeline.Step{Name: "respond",
		Stage: pipeline.StageFunc(func(_ context.Context, t *pipeline.Turn) error { t.Reply, t.Confidence = "hi", 1; return nil })})
	sender := &flakySender{}
	w := &flow.Worker{Store: in.store, Process: proc, Outbound: map[string]flow.Sender{"webhook": sender}, Log: slog.New(slog.DiscardHandler)}
	receive := func(id string) {
		t.Helper()
		if _, err := in.store.RecordInbound(ctx, tickets.Inbound{Channel: "webhook", ChannelMessageID: id,
			CustomerRef: "webhook:" + id, Text: "hello", ReplyTo: []byte(`{"customer_id":"x"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	exec := func(sql, id string) {
		t.Helper()
		if _, err := in.store.Pool().Exec(ctx, sql, id); err != nil {
			t.Fatal(err)
		}
	}
	once := func() {
		t.Helper()
		if did, err := w.Once(ctx); err != nil || !did {
			t.Fatalf("Once: did %v, err %v", did, err)
		}
	}
	type view struct {
		Answered, Failed, Resent float64
		Latencies                uint64
		Seconds                  float64
	}
	observe := func() view {
		t.Helper()
		v := view{
			Answered: metricValue(t, reg, "switchboard_turns_total", map[string]string{"path": "queued", "outcome": "answered"}),
			Failed:   metricValue(t, reg, "switchboard_turns_total", map[string]string{"path": "queued", "outcome": "failed"}),
			Resent:   metricValue(t, reg, "switchboard_turns_total", map[string]string{"path": "queued", "outcome": "resent"}),
		}
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				if f.GetName() == "switchboard_turn_seconds" && m.GetLabel()[0].GetValue() == "queued" {
					v.Latencies, v.Seconds = m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
				}
			}
		}
		return v
	}

	// Waited 40 s in the queue, then answered in one go.
	receive("waited")
	exec(`UPDATE channel_messages SET received_at = now() - interval '40 seconds' WHERE message_id = $1`, "waited")
	once()
	if got := observe(); got.Answered != 1 || got.Latencies != 1 || got.Seconds < 40 || got.Seconds > 60 {
		t.Fatalf("after a turn that waited 40 s: %+v; want one answer of 40 s and a little", got)
	}
	// Answered, but the send fails; the retry only sends the stored answer again.
	sender.fails.Store(1)
	receive("resent")
	once()
	exec(`UPDATE channel_messages SET lease_until = NULL WHERE message_id = $1`, "resent")
	once()
	if got := observe(); got.Answered != 1 || got.Failed != 1 || got.Resent != 1 || got.Latencies != 1 {
		t.Fatalf("after a failed send and its resend: %+v; want them counted, and still one latency", got)
	}
	if sender.sent.Load() != 2 {
		t.Fatalf("%d replies sent, want 2", sender.sent.Load())
	}
}
