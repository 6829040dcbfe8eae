package gateway

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cs/switchboard/tickets"
)

// TestNotesMentionsAndTags: an agent's internal note on her ticket, redacted, mentions a
// colleague, whose console is told at once (note.mention) though the ticket is not his,
// and who may then read it and answer with a note of his own, not reply to the customer;
// the customer's conversation never shows it; the agent tags the ticket and a supervisor
// lists the tickets with that tag; both changes are audited.
func TestNotesMentionsAndTags(t *testing.T) {
	in := newInstance(t, newPool(t), "notes"+strings.ToLower(t.Name()))
	base := in.http.URL
	sup, alice, bob := in.token(t, "sam", RoleSupervisor), in.token(t, "alice", RoleAgent), in.token(t, "bob", RoleAgent)
	mustCall(t, 200, base, sup, "PUT", "/v1/skill-groups/billing", map[string]any{"skills": []string{"refunds"}}, nil)
	mustCall(t, 200, base, sup, "PUT", "/v1/skill-groups/tech", map[string]any{"skills": []string{"tech"}}, nil)
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/alice", map[string]any{"groups": []string{"billing"}, "capacity": 2}, nil)
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/bob", map[string]any{"groups": []string{"tech"}, "capacity": 2}, nil)
	mustCall(t, 200, base, alice, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+"/v1/me/ws?access_token="+bob, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	readPush(t, ctx, ws, "hello")

	var created ticketResponse
	mustCall(t, 201, base, sup, "POST", "/v1/tickets", map[string]any{"customer": map[string]any{"pseudonymous_id": "tg:5"},
		"subject": "refund", "message": "where is my refund", "skills": []string{"refunds"}}, &created)
	id := created.Ticket.ID
	mustCall(t, 400, base, alice, "POST", "/v1/tickets/"+id+"/notes", map[string]any{"text": "@ghost?"}, nil)
	mustCall(t, 403, base, bob, "POST", "/v1/tickets/"+id+"/notes", map[string]any{"text": "not mine"}, nil)
	var note struct {
		Note tickets.Note `json:"note"`
	}
	mustCall(t, 201, base, alice, "POST", "/v1/tickets/"+id+"/notes", map[string]any{"text": "@bob is this card 6222 0202 0011 2233 446 one of the tech faults?"}, &note)
	if strings.Contains(note.Note.Text, "6222") || !slices.Equal(note.Note.Mentions, []string{"bob"}) {
		t.Errorf("note %+v", note.Note)
	}
	p := readPush(t, ctx, ws, "note.mention")
	if p.Event.TicketID != id || p.Event.Author != "alice" {
		t.Errorf("bob's push %+v", p)
	}
	// mentioned, bob may now read the ticket (and answer with a note), not reply
	mustCall(t, 200, base, bob, "GET", "/v1/tickets/"+id, nil, nil)
	mustCall(t, 201, base, bob, "POST", "/v1/tickets/"+id+"/notes", map[string]any{"text": "yes, known fault"}, nil)
	mustCall(t, 403, base, bob, "POST", "/v1/tickets/"+id+"/replies", map[string]any{"text": "hello"}, nil)

	var tagged struct {
		Ticket tickets.Ticket `json:"ticket"`
	}
	mustCall(t, 200, base, alice, "PUT", "/v1/tickets/"+id+"/tags", map[string]any{"tags": []string{"Refund", "card"}}, &tagged)
	mustCall(t, 400, base, alice, "PUT", "/v1/tickets/"+id+"/tags", map[string]any{"tags": []string{"two words"}}, nil)
	var list struct {
		Tickets []tickets.Ticket `json:"tickets"`
	}
	mustCall(t, 200, base, sup, "GET", "/v1/tickets?tag=refund", nil, &list)
	if len(list.Tickets) != 1 || list.Tickets[0].ID != id || !slices.Equal(list.Tickets[0].Tags, []string{"refund", "card"}) {
		t.Errorf("tickets tagged refund: %+v", list.Tickets)
	}
	// agents list and search their own tickets only
	mustCall(t, 200, base, alice, "GET", "/v1/tickets?q=refund", nil, &list)
	if len(list.Tickets) != 1 || list.Tickets[0].ID != id {
		t.Errorf("alice's search: %+v", list.Tickets)
	}
	mustCall(t, 403, base, bob, "GET", "/v1/tickets?q=refund&assignee=alice", nil, nil) // bob may not list alice's tickets
	mustCall(t, 200, base, bob, "GET", "/v1/tickets?q=refund", nil, &list)
	if len(list.Tickets) != 0 {
		t.Errorf("bob lists alice's tickets: %+v", list.Tickets)
	}
	for _, bad := range []string{"view=everything", "sla=late", "channel=" + strings.Repeat("x", 201)} {
		mustCall(t, 400, base, sup, "GET", "/v1/tickets?"+bad, nil, nil)
	}
	var d tickets.TicketDetail
	mustCall(t, 200, base, alice, "GET", "/v1/tickets/"+id, nil, &d)
	if len(d.Notes) != 2 || d.Notes[0].Author != "alice" || d.Notes[1].Author != "bob" {
		t.Errorf("detail notes %+v", d.Notes)
	}
	for _, m := range d.Messages {
		if strings.Contains(m.Text, "tech faults") {
			t.Errorf("the note shows in the conversation: %+v", m)
		}
	}
	var log struct {
		Events []tickets.AuditEvent `json:"events"`
	}
	mustCall(t, 200, base, in.token(t, "audrey", RoleAuditor), "GET", "/v1/audit", nil, &log)
	var got []string
	for _, e := range log.Events {
		if e.Action == "ticket.note" || e.Action == "ticket.tags" {
			got = append(got, e.Actor+" "+e.Action)
		}
	}
	if !slices.Equal(got, []string{"alice ticket.note", "bob ticket.note", "alice ticket.tags"}) {
		t.Errorf("audited %v", got)
	}
}
