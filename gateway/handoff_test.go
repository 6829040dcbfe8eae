package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/tickets"
)

// unsureBrain answers every question from one FAQ entry, below the escalation bar, and
// hears a frustrated customer in "!!!".
type unsureBrain struct{}

func (unsureBrain) Understand(_ context.Context, text string) (flow.Understanding, error) {
	return flow.Understanding{Language: "en", Intent: "refund", Confidence: 0.8, WantsHuman: strings.Contains(text, "human"),
		Frustrated: strings.Contains(text, "!!!")}, nil
}

func (unsureBrain) Answer(context.Context, string) (flow.Answer, error) {
	return flow.Answer{Text: "Refunds arrive within 5 working days.", Confidence: 0.3,
		Citations: []pipeline.Citation{{ChunkID: "faq#1", Source: "faq.csv", Title: "Refund timing"}, {ChunkID: "faq#2", Source: "faq.csv", Title: "Refund timing"}}}, nil
}

// TestHandoffSummary: the ticket an escalation opens carries the bot's summary — why it
// handed over, what the customer asked (redacted), the answer it had and its sources,
// the customer's mood — and the agent reads it with the ticket.
func TestHandoffSummary(t *testing.T) {
	in := newInstanceWith(t, newPool(t), "handoff"+strings.ToLower(t.Name()), unsureBrain{})
	base := in.http.URL
	sup, agent := in.token(t, "sam", RoleSupervisor), in.token(t, "alice", RoleAgent)
	supportAgent(t, base, sup, "alice", 3)
	mustCall(t, 200, base, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)
	for _, c := range []struct {
		customer, text string
		want           tickets.Handoff
	}{
		{"web:h1", "my refund is late!!! call 13812345678", tickets.Handoff{Reason: tickets.HandoffLowConfidence,
			Asked: "my refund is late!!! call [PHONE_1]", Intent: "refund", Language: "en", BotAnswer: "Refunds arrive within 5 working days.",
			Confidence: 0.3, Sources: []string{"Refund timing"}, Frustrated: true}},
		{"web:h2", "a human please", tickets.Handoff{Reason: tickets.HandoffAskedForHuman, Asked: "a human please", Intent: "refund",
			Language: "en", Confidence: 0.3}},
	} {
		var r MessageReply
		mustCall(t, 200, base, in.token(t, c.customer, RoleCustomer), "POST", "/v1/messages", map[string]any{"text": c.text}, &r)
		if !r.Escalated {
			t.Fatalf("%q: not escalated: %+v", c.text, r)
		}
		var d tickets.TicketDetail
		mustCall(t, 200, base, agent, "GET", "/v1/tickets/"+r.TicketID, nil, &d)
		if d.Ticket.Handoff == nil {
			t.Fatalf("%q: no handoff summary", c.text)
		}
		if diff := cmp.Diff(c.want, *d.Ticket.Handoff); diff != "" {
			t.Errorf("%q: handoff (-want +got):\n%s", c.text, diff)
		}
	}
	var manual ticketResponse
	mustCall(t, 201, base, sup, "POST", "/v1/tickets", map[string]any{"customer": map[string]any{"pseudonymous_id": "crm:1"}, "subject": "x"}, &manual)
	if manual.Ticket.Handoff != nil {
		t.Errorf("a ticket a person opened has a handoff: %+v", manual.Ticket.Handoff)
	}
}
