package tickets

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCreateTicketOncePerTurn: a second CreateTicket for the same originating message
// (an attempt of the turn that raced the one that stored the ticket) returns that
// ticket, whatever its status, without a second ticket, audit entry or routing; a
// ticket of another turn of the conversation opens as before.
func TestCreateTicketOncePerTurn(t *testing.T) {
	for _, tc := range []struct {
		name    string
		resolve bool
	}{
		{"first still open", false},
		{"first resolved", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestService(t)
			setupTeam(t, ts)
			ctx := context.Background()
			open := func(conv string, origin int64) (Ticket, *Assignment) {
				t.Helper()
				tk, a, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: "web:1"}, ConversationID: conv,
					Subject: "refund", Skills: []string{"billing"}, OriginMessageID: origin})
				if err != nil {
					t.Fatal(err)
				}
				return tk, a
			}
			first, a := open("", 42)
			if a == nil || first.OriginMessageID != 42 {
				t.Fatalf("first ticket %+v assignment %+v: want it assigned, from message 42", first, a)
			}
			if tc.resolve {
				if _, err := ts.Resolve(ctx, Actor{ID: "sam", Supervisor: true}, first.ID); err != nil {
					t.Fatal(err)
				}
			}
			again, a := open(first.ConversationID, 42)
			type got struct {
				ID     string
				Routed bool
				Status Status
			}
			wantStatus := StatusAssigned
			if tc.resolve {
				wantStatus = StatusResolved
			}
			if diff := cmp.Diff(got{first.ID, false, wantStatus}, got{again.ID, a != nil, again.Status}); diff != "" {
				t.Errorf("the turn's second CreateTicket (-want +got):\n%s", diff)
			}
			var tickets, creates int
			if err := ts.store.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM tickets),
				(SELECT count(*) FROM audit_events WHERE action = 'ticket.create' AND target = $1)`, first.ID).Scan(&tickets, &creates); err != nil {
				t.Fatal(err)
			}
			if tickets != 1 || creates != 1 {
				t.Errorf("%d tickets, %d ticket.create audit entries of the first; want 1 and 1", tickets, creates)
			}
			if tc.resolve {
				// another turn of the conversation escalates anew
				if next, _ := open(first.ConversationID, 43); next.ID == first.ID {
					t.Errorf("another turn's escalation got the resolved ticket %s", first.ID)
				}
			}
		})
	}
}
