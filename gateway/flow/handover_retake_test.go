package flow

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/tickets"
)

// oneTicket is a conversation's open ticket.
type oneTicket struct{ tk tickets.Ticket }

func (o oneTicket) OpenTicketFor(context.Context, string) (tickets.Ticket, error) {
	if o.tk.ID == "" {
		return tickets.Ticket{}, tickets.ErrNotFound
	}
	return o.tk, nil
}
func (oneTicket) BotSpokeSince(context.Context, string, time.Time) (bool, error) { return true, nil }

// agentDesk records which tickets went back to their agent.
type agentDesk struct {
	recordingDesk
	replied []string
}

func (d *agentDesk) CustomerReplied(_ context.Context, id string) error {
	d.replied = append(d.replied, id)
	return nil
}

// TestHandoverOnlyForOlderTickets: a turn goes to the agent who holds the
// conversation's ticket only when the ticket is older than the turn. A ticket younger
// than the turn is its own escalation by an earlier attempt that failed before it
// recorded its answer (PostgreSQL went away): the worker that takes the turn over must
// answer it as that attempt would have (the escalate stage joins the ticket), not pass
// it to the agent without a bot message.
func TestHandoverOnlyForOlderTickets(t *testing.T) {
	received := time.Now()
	for _, tc := range []struct {
		name        string
		ticket      tickets.Ticket
		wantAgent   bool
		wantTicket  string
		wantReplied []string
	}{
		{"no ticket", tickets.Ticket{}, false, "", nil},
		{"an agent's ticket from before", tickets.Ticket{ID: "t-old", Status: tickets.StatusAssigned, CreatedAt: received.Add(-time.Minute)},
			true, "t-old", []string{"t-old"}},
		{"this turn's own, made by a failed attempt", tickets.Ticket{ID: "t-own", Status: tickets.StatusAssigned, CreatedAt: received.Add(time.Second)},
			false, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			desk := &agentDesk{}
			turn := &pipeline.Turn{ConversationID: "c-1", ReceivedAt: received}
			if err := handoverStage(desk, oneTicket{tc.ticket}).Process(context.Background(), turn); err != nil {
				t.Fatal(err)
			}
			got := []any{turn.WithAgent, turn.TicketID, desk.replied}
			if diff := cmp.Diff([]any{tc.wantAgent, tc.wantTicket, tc.wantReplied}, got); diff != "" {
				t.Errorf("with agent, ticket, handed back (-want +got):\n%s", diff)
			}
		})
	}
}
