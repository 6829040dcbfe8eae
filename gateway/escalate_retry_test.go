package gateway

import (
	"context"
	"errors"
	"fmt"
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

// failAfterCommitDesk opens tickets through the real desk, and fails its first
// CreateTicket after the ticket committed, as a timeout of the audit append or of
// routing does (the soak's "escalate: audit: timeout").
type failAfterCommitDesk struct {
	flow.Desk
	failed atomic.Bool
}

func (d *failAfterCommitDesk) CreateTicket(ctx context.Context, actor tickets.Actor, n tickets.NewTicket) (tickets.Ticket, *tickets.Assignment, error) {
	tk, a, err := d.Desk.CreateTicket(ctx, actor, n)
	if err == nil && d.failed.CompareAndSwap(false, true) {
		return tickets.Ticket{}, nil, fmt.Errorf("route ticket %s: %w", tk.ID, context.DeadlineExceeded)
	}
	return tk, a, err
}

// TestEscalationRetriedAfterCommitReusesItsTicket: a turn's first attempt commits its
// ticket and then fails; an agent resolves the ticket (or it still waits in the queue);
// when the lease runs out a queue worker answers the turn again. The retry names the
// first ticket and sends the handover once: no second ticket, no second audit of it,
// and the ticket is neither reopened nor routed again.
func TestEscalationRetriedAfterCommitReusesItsTicket(t *testing.T) {
	for _, tc := range []struct {
		name    string
		resolve bool
		status  tickets.Status
	}{
		{"resolved meanwhile", true, tickets.StatusResolved},
		{"still queued", false, tickets.StatusOpen},
	} {
		t.Run(tc.name, func(t *testing.T) { escalationRetried(t, tc.resolve, tc.status) })
	}
}

func escalationRetried(t *testing.T, resolve bool, wantStatus tickets.Status) {
	const lease = 300 * time.Millisecond
	pool := newPool(t)
	var proc *pipeline.Pipeline
	in := newInstanceWith(t, pool, "escretry"+strings.ToLower(t.Name()), scriptedBrain{},
		func(o *Options) { o.InlineLease, proc = lease, o.Process },
		func(d *flow.Deps) { d.Desk = &failAfterCommitDesk{Desk: d.Desk} })
	sup := in.token(t, "sam", RoleSupervisor)
	supportAgent(t, in.http.URL, sup, "alice", 2) // offline: the ticket waits in the queue
	cust := in.token(t, "web:retry", RoleCustomer)
	ctx := context.Background()

	if code := call(t, in.http.URL, cust, "POST", "/v1/messages", map[string]any{"message_id": "m-1", "text": "let me talk to a human"}, nil); code == 200 {
		t.Fatalf("the first attempt answered (200); want it to fail after its ticket committed")
	}
	var first, conv string
	if err := pool.QueryRow(ctx, `SELECT id::text, conversation_id::text FROM tickets`).Scan(&first, &conv); err != nil {
		t.Fatalf("the first attempt's ticket: %v", err)
	}
	if resolve {
		if _, err := in.svc.Resolve(ctx, tickets.Actor{ID: "sam", Supervisor: true}, first); err != nil {
			t.Fatal(err)
		}
	}

	// a queue worker, as another replica runs it, takes the turn once its lease ran out
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	w := &flow.Worker{Store: in.store, Process: proc, Log: slog.New(slog.DiscardHandler), Lease: lease, Poll: 20 * time.Millisecond}
	wg.Go(func() { w.Run(wctx) })

	type turnRow struct {
		State            string
		Attempts         int
		Tickets          int
		TicketCreates    int
		Handovers        int
		Status           tickets.Status
		OutcomeTicket    string
		OutcomeEscalated bool
	}
	key := restMessageKey("web:retry", "m-1")
	var got turnRow
	for deadline := time.Now().Add(10 * time.Second); got.State != "done" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		err := pool.QueryRow(ctx, `SELECT cm.state, cm.attempts,
				(SELECT count(*) FROM tickets WHERE conversation_id = cm.conversation_id),
				(SELECT count(*) FROM audit_events WHERE action = 'ticket.create'),
				(SELECT count(*) FROM messages m WHERE m.conversation_id = cm.conversation_id AND m.author = 'bot' AND m.body = $2),
				(SELECT status FROM tickets WHERE id = $3::uuid),
				coalesce(cm.outcome->>'ticket_id', ''), coalesce((cm.outcome->>'escalated')::boolean, false)
			FROM channel_messages cm WHERE cm.channel = 'rest' AND cm.message_id = $1`, key, flow.HandoverText("en"), first).
			Scan(&got.State, &got.Attempts, &got.Tickets, &got.TicketCreates, &got.Handovers, &got.Status, &got.OutcomeTicket, &got.OutcomeEscalated)
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	}
	want := turnRow{State: "done", Attempts: 2, Tickets: 1, TicketCreates: 1, Handovers: 1, Status: wantStatus,
		OutcomeTicket: first, OutcomeEscalated: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the retried turn (-want +got):\n%s", diff)
	}
}
