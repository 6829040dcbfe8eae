package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/tickets"
)

// TestCSATAfterResolution: resolving a customer's ticket asks them, in their
// conversation and language, to rate the help; their reply "5 …" is the rating (with the
// rest as a comment), thanked and not taken for a new question; a later "5" is a question
// again, as is any number when nothing waits for a rating.
func TestCSATAfterResolution(t *testing.T) {
	in := newInstance(t, newPool(t), "csat"+strings.ToLower(t.Name()))
	base := in.http.URL
	sup, agent := in.token(t, "sam", RoleSupervisor), in.token(t, "alice", RoleAgent)
	mustCall(t, 200, base, sup, "PUT", "/v1/skill-groups/support", map[string]any{}, nil)
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/alice", map[string]any{"groups": []string{"support"}, "capacity": 5}, nil)
	mustCall(t, 200, base, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)

	for _, c := range []struct {
		customer, ask, prompt, rate, thanks, comment string
		rating                                        int
	}{
		{"web:en", "I want to talk to a human", "How did we do?", "5 - quick and kind", "Thank you for your rating!", "quick and kind", 5},
		{"web:zh", "我要人工客服", "请为本次服务打分", "4分，很快", "感谢您的评价！", "很快", 4},
	} {
		cust := in.token(t, c.customer, RoleCustomer)
		var first MessageReply
		mustCall(t, 200, base, cust, "POST", "/v1/messages", map[string]any{"text": c.ask}, &first)
		if !first.Escalated {
			t.Fatalf("%s: not escalated: %+v", c.customer, first)
		}
		mustCall(t, 200, base, agent, "POST", "/v1/tickets/"+first.TicketID+"/resolve", nil, nil)
		var conv struct {
			Messages []tickets.Message `json:"messages"`
		}
		mustCall(t, 200, base, cust, "GET", "/v1/conversations/"+first.ConversationID, nil, &conv)
		last := conv.Messages[len(conv.Messages)-1]
		if last.Author != tickets.AuthorCSAT || !strings.Contains(last.Text, c.prompt) {
			t.Fatalf("%s: last message %+v, want the invitation to rate", c.customer, last)
		}
		var rated MessageReply
		mustCall(t, 200, base, cust, "POST", "/v1/messages", map[string]any{"text": c.rate}, &rated)
		if rated.Reply != c.thanks || rated.Escalated {
			t.Errorf("%s: rating answered %+v", c.customer, rated.Outcome)
		}
		r, err := in.store.CSATOf(context.Background(), first.TicketID)
		if err != nil || r.Rating != c.rating || r.Comment != c.comment || r.AgentID != "alice" {
			t.Errorf("%s: stored %+v %v", c.customer, r, err)
		}
		var again MessageReply
		mustCall(t, 200, base, cust, "POST", "/v1/messages", map[string]any{"text": "5"}, &again)
		if again.Reply == c.thanks {
			t.Errorf("%s: a second number was taken as a rating too", c.customer)
		}
	}
	var never MessageReply
	mustCall(t, 200, base, in.token(t, "web:new", RoleCustomer), "POST", "/v1/messages", map[string]any{"text": "3"}, &never)
	if strings.Contains(never.Reply, "Thank you for your rating") {
		t.Error("a number with no ticket to rate was taken as a rating")
	}
}
