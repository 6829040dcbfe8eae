package gateway

import (
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/tickets"
)

// TestCannedResponsesAPI: a supervisor keeps the shared canned responses, an agent
// their own; the agent lists both and inserts one by its shortcut into a reply on their
// ticket, filled in for the customer in their language; each change is audited.
func TestCannedResponsesAPI(t *testing.T) {
	in := newInstance(t, newPool(t), "canned"+strings.ToLower(t.Name()))
	base := in.http.URL
	sup, agent, other := in.token(t, "sam", RoleSupervisor), in.token(t, "alice", RoleAgent), in.token(t, "carol", RoleAgent)
	mustCall(t, 200, base, sup, "PUT", "/v1/skill-groups/billing", map[string]any{"skills": []string{"refunds"}}, nil)
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/alice", map[string]any{"name": "Alice", "groups": []string{"billing"}, "capacity": 2}, nil)
	mustCall(t, 200, base, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)

	var shared, mine tickets.CannedResponse
	mustCall(t, 201, base, sup, "POST", "/v1/canned-responses", map[string]any{"shortcut": "/refund", "lang": "zh", "shared": true,
		"title": "退款", "body": "{{customer.name}}您好，我是{{agent.name}}，工单{{ticket.id}}的退款已经原路退回。"}, &shared)
	mustCall(t, 201, base, sup, "POST", "/v1/canned-responses", map[string]any{"shortcut": "refund", "lang": "en", "shared": true,
		"body": "Hi {{customer.name}}, this is {{agent.name}}: the refund for ticket {{ticket.id}} is on its way."}, nil)
	mustCall(t, 201, base, agent, "POST", "/v1/canned-responses", map[string]any{"shortcut": "thanks", "body": "Thanks, {{customer.name}}!"}, &mine)
	mustCall(t, 403, base, agent, "POST", "/v1/canned-responses", map[string]any{"shortcut": "x", "body": "y", "shared": true}, nil)
	mustCall(t, 400, base, sup, "POST", "/v1/canned-responses", map[string]any{"shortcut": "x", "body": "{{customer.phone}}", "shared": true}, nil)
	mustCall(t, 409, base, sup, "POST", "/v1/canned-responses", map[string]any{"shortcut": "refund", "lang": "zh", "body": "again", "shared": true}, nil)
	mustCall(t, 403, base, agent, "DELETE", "/v1/canned-responses/"+strconv.FormatInt(shared.ID, 10), nil, nil)
	mustCall(t, 404, base, other, "PUT", "/v1/canned-responses/"+strconv.FormatInt(mine.ID, 10), map[string]any{"shortcut": "thanks", "body": "mine"}, nil)
	mustCall(t, 400, base, agent, "DELETE", "/v1/canned-responses/abc", nil, nil)

	var list struct {
		Canned    []tickets.CannedResponse `json:"canned_responses"`
		Variables []string                 `json:"variables"`
	}
	mustCall(t, 200, base, agent, "GET", "/v1/canned-responses", nil, &list)
	if len(list.Canned) != 3 || len(list.Variables) != 3 {
		t.Fatalf("alice's canned responses: %+v", list)
	}
	mustCall(t, 200, base, other, "GET", "/v1/canned-responses", nil, &list)
	if len(list.Canned) != 2 {
		t.Fatalf("carol sees %d, want the 2 shared", len(list.Canned))
	}

	var created ticketResponse
	mustCall(t, 201, base, sup, "POST", "/v1/tickets", map[string]any{"customer": map[string]any{"pseudonymous_id": "tg:77", "display_name": "Wang Wei"},
		"subject": "退款", "message": "退款还没到账", "skills": []string{"refunds"}}, &created)
	id := created.Ticket.ID
	var r tickets.RenderedCanned
	mustCall(t, 200, base, agent, "GET", "/v1/tickets/"+id+"/canned/refund?lang=zh", nil, &r)
	if want := "Wang Wei您好，我是Alice，工单" + id + "的退款已经原路退回。"; r.Text != want {
		t.Errorf("rendered %q, want %q", r.Text, want)
	}
	mustCall(t, 200, base, agent, "GET", "/v1/tickets/"+id+"/canned/refund?lang=en", nil, &r)
	if !strings.HasPrefix(r.Text, "Hi Wang Wei, this is Alice") {
		t.Errorf("rendered in English: %q", r.Text)
	}
	mustCall(t, 404, base, agent, "GET", "/v1/tickets/"+id+"/canned/none", nil, nil)
	mustCall(t, 403, base, other, "GET", "/v1/tickets/"+id+"/canned/refund", nil, nil)

	mustCall(t, 204, base, agent, "DELETE", "/v1/canned-responses/"+strconv.FormatInt(mine.ID, 10), nil, nil)
	var log struct {
		Events []tickets.AuditEvent `json:"events"`
	}
	mustCall(t, 200, base, in.token(t, "audrey", RoleAuditor), "GET", "/v1/audit", nil, &log)
	var got []string
	for _, e := range log.Events {
		if strings.HasPrefix(e.Action, "canned.") {
			got = append(got, e.Actor+" "+e.Action+" "+e.Target)
		}
	}
	want := []string{"sam canned.put /refund", "sam canned.put /refund", "alice canned.put /thanks", "alice canned.delete /thanks"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audited %q, want %q", got, want)
	}
}
