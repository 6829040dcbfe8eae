package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cs/switchboard/tickets"
)

// TestMergeTicketsRoute: alice merges a duplicate ticket of one customer into the other
// over POST /v1/tickets/:id/merge; her console (on another replica) is told the
// duplicate closed as merged; the survivor's detail lists the duplicate with its
// messages and carries its tags and notes; the duplicate says merged_into; bad requests
// are 4xx with a message, an agent who does not hold the tickets 403; it is audited.
func TestMergeTicketsRoute(t *testing.T) {
	pool := newPool(t)
	prefix := "merge" + strings.ToLower(t.Name())
	gw1, gw2 := newInstance(t, pool, prefix), newInstance(t, pool, prefix)
	base := gw1.http.URL
	sup, alice, bob := gw1.token(t, "sam", RoleSupervisor), gw1.token(t, "alice", RoleAgent), gw1.token(t, "bob", RoleAgent)
	mustCall(t, 200, base, sup, "PUT", "/v1/skill-groups/support", map[string]any{}, nil)
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/alice", map[string]any{"groups": []string{"support"}, "capacity": 3}, nil)
	mustCall(t, 200, base, alice, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(gw2.http.URL, "http", "ws", 1)+"/v1/me/ws?access_token="+alice, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	readPush(t, ctx, ws, "hello")

	var first, dup ticketResponse
	mustCall(t, 201, base, sup, "POST", "/v1/tickets", map[string]any{"customer": map[string]any{"pseudonymous_id": "tg:5"},
		"subject": "refund", "message": "where is my refund"}, &first)
	mustCall(t, 201, base, sup, "POST", "/v1/tickets", map[string]any{"customer": map[string]any{"pseudonymous_id": "tg:5"},
		"subject": "refund?", "message": "refund for order 12345 please"}, &dup)
	if first.Ticket.AssigneeID != "alice" || dup.Ticket.AssigneeID != "alice" {
		t.Fatalf("fixture: %s and %s, want both alice's", first.Ticket.AssigneeID, dup.Ticket.AssigneeID)
	}
	id, into := dup.Ticket.ID, first.Ticket.ID
	mustCall(t, 200, base, alice, "PUT", "/v1/tickets/"+id+"/tags", map[string]any{"tags": []string{"refund"}}, nil)
	mustCall(t, 201, base, alice, "POST", "/v1/tickets/"+id+"/notes", map[string]any{"text": "same as the other one"}, nil)

	for _, c := range []struct {
		name string
		body any
		want int
	}{
		{"no body", nil, 400},
		{"no target", map[string]any{}, 400},
		{"an unknown field", map[string]any{"into": into, "force": true}, 400},
		{"itself", map[string]any{"into": id}, 400},
		{"not a ticket", map[string]any{"into": "nope"}, 400},
	} {
		var e ErrorBody
		mustCall(t, c.want, base, alice, "POST", "/v1/tickets/"+id+"/merge", c.body, &e)
		if e.Error == "" || e.Code != "invalid" {
			t.Errorf("%s: %+v, want an explanation", c.name, e)
		}
	}
	mustCall(t, 403, base, bob, "POST", "/v1/tickets/"+id+"/merge", map[string]any{"into": into}, nil)

	var out struct {
		Ticket, Into map[string]any
	}
	mustCall(t, 200, base, alice, "POST", "/v1/tickets/"+id+"/merge", map[string]any{"into": into}, &out)
	if out.Ticket["merged_into"] != into || out.Ticket["status"] != "closed" || out.Into["id"] != into {
		t.Errorf("merge answer %+v", out)
	}
	for { // after the pushes of the tags and the note
		p := readPush(t, ctx, ws, "ticket.updated")
		if p.Event.TicketID == id && p.Event.MergedInto != "" {
			if p.Event.MergedInto != into || p.Event.Status != tickets.StatusClosed {
				t.Errorf("alice's push %+v", p)
			}
			break
		}
	}
	var d struct {
		Ticket map[string]any `json:"ticket"`
		Notes  []tickets.Note `json:"notes"`
		Merged []struct {
			Ticket   map[string]any    `json:"ticket"`
			Messages []tickets.Message `json:"messages"`
		} `json:"merged"`
	}
	mustCall(t, 200, base, alice, "GET", "/v1/tickets/"+into, nil, &d)
	if len(d.Merged) != 1 || d.Merged[0].Ticket["id"] != id || len(d.Merged[0].Messages) != 1 ||
		!strings.HasPrefix(d.Merged[0].Messages[0].Text, "refund for order") {
		t.Errorf("survivor's merged tickets %+v", d.Merged)
	}
	if tags, _ := d.Ticket["tags"].([]any); len(tags) != 1 || tags[0] != "refund" {
		t.Errorf("survivor's tags %v", d.Ticket["tags"])
	}
	if len(d.Notes) != 1 || d.Notes[0].MergedFrom != id {
		t.Errorf("survivor's notes %+v", d.Notes)
	}
	mustCall(t, 200, base, alice, "GET", "/v1/tickets/"+id, nil, &d)
	if d.Ticket["merged_into"] != into || len(d.Merged) != 0 {
		t.Errorf("duplicate's detail: %+v, merged %+v", d.Ticket, d.Merged)
	}
	// no chains: the survivor is not merged away, nothing goes into the duplicate
	var e ErrorBody
	mustCall(t, 409, base, sup, "POST", "/v1/tickets/"+into+"/merge", map[string]any{"into": id}, &e)
	if !strings.Contains(e.Error, "merged into") {
		t.Errorf("merging into a merged ticket: %+v", e)
	}
	var log struct {
		Events []tickets.AuditEvent `json:"events"`
	}
	mustCall(t, 200, base, gw1.token(t, "audrey", RoleAuditor), "GET", "/v1/audit", nil, &log)
	var merges int
	for _, ev := range log.Events {
		if ev.Action == "ticket.merge" && ev.Actor == "alice" && ev.Target == id {
			merges++
		}
	}
	if merges != 1 {
		t.Errorf("%d ticket.merge events by alice, want 1", merges)
	}
}

// mergeCase is the object case of POST /v1/tickets/:id/merge: a ticket of ann's that
// alice holds, merged into another of hers that alice holds.
func mergeCase() objectCase {
	var into string
	return objectCase{
		setup: func(r *objectRig, t *testing.T) objectRef {
			into = r.heldTicket(t)[":id"]
			return r.heldTicket(t)
		},
		body:   func(t *testing.T) (string, []byte) { return jsonBody(map[string]string{"into": into})(t) },
		owners: []string{"alice", "sam"}, want: 200,
	}
}
