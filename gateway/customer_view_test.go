package gateway

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestCustomersSeeStaffAsAgentNeverBySubject: an agent's reply reaches the customer as
// author "agent" with the agent's display name, over web chat and in the transcript; a
// supervisor without a display name is just "agent"; staff still see the subjects.
func TestCustomersSeeStaffAsAgentNeverBySubject(t *testing.T) {
	in := newInstanceWith(t, newPool(t), "custview"+strings.ToLower(t.Name()), scriptedBrain{})
	base := in.http.URL
	sup, agent, cust := in.token(t, "sam", RoleSupervisor), in.token(t, "alice", RoleAgent), in.token(t, "web:kim", RoleCustomer)
	mustCall(t, 200, base, sup, "PUT", "/v1/skill-groups/support", map[string]any{}, nil)
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/alice", map[string]any{"name": "Alice Chen", "groups": []string{"support"}, "capacity": 2}, nil)
	mustCall(t, 200, base, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := dialChat(t, ctx, base, cust, "")
	c.say("I want a human", "h1")
	frames := c.until(func(f ChatFrame) bool { return f.Type == "reply" && f.Reply.Escalated })
	ticket := frames[len(frames)-1].Reply.TicketID
	conv := frames[len(frames)-1].Reply.ConversationID
	mustCall(t, 201, base, agent, "POST", "/v1/tickets/"+ticket+"/replies", map[string]string{"text": "Hello, checking now."}, nil)
	mustCall(t, 201, base, sup, "POST", "/v1/tickets/"+ticket+"/replies", map[string]string{"text": "A supervisor here."}, nil)
	live := c.until(func(f ChatFrame) bool { return f.Text == "A supervisor here." })
	var staff []ChatFrame
	for _, f := range live {
		if f.Type == "message" && f.Author != "customer" && f.Author != "bot" {
			staff = append(staff, f)
		}
	}
	if len(staff) != 2 || staff[0].Author != "agent" || staff[0].AuthorName != "Alice Chen" || staff[1].Author != "agent" || staff[1].AuthorName != "" {
		t.Fatalf("staff messages over web chat: %+v; want agent/Alice Chen, then agent without a name", staff)
	}

	var raw json.RawMessage
	mustCall(t, 200, base, cust, "GET", "/v1/conversations/"+conv, nil, &raw)
	if strings.Contains(string(raw), "agent:") || strings.Contains(string(raw), "sam") {
		t.Fatalf("the customer's transcript names staff subjects: %s", raw)
	}
	var view struct {
		Messages []CustomerMessage `json:"messages"`
	}
	json.Unmarshal(raw, &view)
	var names []string
	for _, m := range view.Messages {
		if m.Author == "agent" {
			names = append(names, m.AuthorName)
		}
	}
	if strings.Join(names, "|") != "Alice Chen|" {
		t.Fatalf("agent names in the customer's transcript %q, want Alice Chen then none", names)
	}

	mustCall(t, 200, base, sup, "GET", "/v1/conversations/"+conv, nil, &raw)
	if !strings.Contains(string(raw), `"agent:alice"`) || !strings.Contains(string(raw), `"agent:sam"`) {
		t.Fatalf("staff view lost the authors' subjects: %s", raw)
	}
}

// TestAgentsCannotRaiseVIPOrRewriteContacts: through POST /v1/tickets an agent may open a
// ticket for a new or known customer, but not give a VIP tier, replace a known email or
// phone, or attach the ticket to a conversation they cannot see; a supervisor may.
func TestAgentsCannotRaiseVIPOrRewriteContacts(t *testing.T) {
	in := newInstanceWith(t, newPool(t), "selfservice"+strings.ToLower(t.Name()), scriptedBrain{})
	base := in.http.URL
	sup, agent := in.token(t, "sam", RoleSupervisor), in.token(t, "alice", RoleAgent)
	newTicket := func(tok string, customer map[string]any, conv string) (int, string) {
		t.Helper()
		var out ErrorBody
		body := map[string]any{"customer": customer, "subject": "call back"}
		if conv != "" {
			body["conversation_id"] = conv
		}
		return call(t, base, tok, "POST", "/v1/tickets", body, &out), out.Error
	}
	for _, tc := range []struct {
		name     string
		token    string
		customer map[string]any
		want     int
	}{
		{"agent, new customer with a VIP tier", agent, map[string]any{"pseudonymous_id": "crm:1", "vip_tier": 2}, 403},
		{"agent, new customer with contacts", agent, map[string]any{"pseudonymous_id": "crm:1", "email": "kim@example.com"}, 201},
		{"agent, known customer's email replaced", agent, map[string]any{"pseudonymous_id": "crm:1", "email": "eve@example.com"}, 403},
		{"agent, known customer's email repeated, phone added", agent, map[string]any{"pseudonymous_id": "crm:1", "email": "kim@example.com", "phone": "+8613800138000"}, 201},
		{"agent, known customer's phone replaced", agent, map[string]any{"pseudonymous_id": "crm:1", "phone": "+8613900139000"}, 403},
		{"agent, VIP tier raised", agent, map[string]any{"pseudonymous_id": "crm:1", "vip_tier": 3}, 403},
		{"supervisor, VIP tier and email", sup, map[string]any{"pseudonymous_id": "crm:1", "vip_tier": 3, "email": "kim@new.example.com"}, 201},
		{"agent, the tier as stored", agent, map[string]any{"pseudonymous_id": "crm:1", "vip_tier": 3}, 201},
	} {
		code, msg := newTicket(tc.token, tc.customer, "")
		if code != tc.want || (code == 403 && !strings.Contains(msg, "only a supervisor")) {
			t.Errorf("%s: %d %q, want %d", tc.name, code, msg, tc.want)
		}
	}
	var row struct {
		tier  int
		email string
	}
	c, err := in.store.FindCustomerByContact(context.Background(), "email", "kim@new.example.com")
	if err == nil {
		row.tier, row.email = c.VIPTier, c.Email
	}
	if row.tier != 3 || row.email != "kim@new.example.com" || c.Phone != "+8613800138000" {
		t.Fatalf("customer after the tickets: %+v (%v); want the supervisor's tier and email, the agent's added phone", c, err)
	}

	// A conversation the agent has no ticket in cannot be borrowed for a new ticket.
	var reply MessageReply
	mustCall(t, 200, base, in.token(t, "web:lou", RoleCustomer), "POST", "/v1/messages", map[string]any{"text": "where is my refund?"}, &reply)
	if reply.Escalated {
		t.Fatalf("fixture conversation escalated: %+v", reply)
	}
	if code, msg := newTicket(agent, map[string]any{"pseudonymous_id": "web:lou"}, reply.ConversationID); code != 403 {
		t.Errorf("agent naming a conversation they cannot see: %d %q, want 403", code, msg)
	}
	if code, msg := newTicket(sup, map[string]any{"pseudonymous_id": "web:lou"}, reply.ConversationID); code != 201 {
		t.Errorf("supervisor naming the conversation: %d %q, want 201", code, msg)
	}
}
