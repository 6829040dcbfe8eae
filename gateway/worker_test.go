package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
	if _, err := in.svc.Store.RecordInbound(ctx, tickets.Inbound{Channel: "webhook", ChannelMessageID: "slow-1",
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
	w := &Worker{Store: in.svc.Store, Process: proc, Outbound: map[string]Sender{"webhook": sender}, Log: slog.New(slog.DiscardHandler),
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
