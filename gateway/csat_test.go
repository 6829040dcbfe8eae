package gateway

import (
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

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
		rating                                       int
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

// TestReportsRoute: the report of the period the test's turns fall in counts them — the
// conversations, the escalations, the rating, in all and day by day — as JSON and as
// CSV; bad bounds and zones are 400.
func TestReportsRoute(t *testing.T) {
	in := newInstance(t, newPool(t), "report"+strings.ToLower(t.Name()))
	base := in.http.URL
	sup, agent := in.token(t, "sam", RoleSupervisor), in.token(t, "alice", RoleAgent)
	mustCall(t, 200, base, sup, "PUT", "/v1/skill-groups/support", map[string]any{}, nil)
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/alice", map[string]any{"groups": []string{"support"}, "capacity": 5}, nil)
	mustCall(t, 200, base, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)
	from := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	cust := in.token(t, "web:rep", RoleCustomer)
	var first MessageReply
	mustCall(t, 200, base, cust, "POST", "/v1/messages", map[string]any{"text": "I want to talk to a human"}, &first)
	mustCall(t, 201, base, agent, "POST", "/v1/tickets/"+first.TicketID+"/replies", map[string]any{"text": "Hello"}, nil)
	mustCall(t, 200, base, agent, "POST", "/v1/tickets/"+first.TicketID+"/resolve", nil, nil)
	mustCall(t, 200, base, cust, "POST", "/v1/messages", map[string]any{"text": "4", "conversation_id": first.ConversationID}, nil)
	// the test's bot knows nothing: another customer's question escalates too
	mustCall(t, 200, base, in.token(t, "web:other", RoleCustomer), "POST", "/v1/messages", map[string]any{"text": "hello"}, nil)
	to := time.Now().UTC().Add(time.Minute).Format(time.RFC3339)

	var rep tickets.Report
	mustCall(t, 200, base, sup, "GET", "/v1/reports?from="+from+"&to="+to+"&tz=Asia/Shanghai", nil, &rep)
	if rep.Conversations != 2 || rep.Escalated != 2 || rep.Tickets.Opened != 2 || rep.Tickets.Resolved != 1 ||
		rep.Tickets.FirstResponse.Count != 1 || rep.CSAT.Count != 1 || rep.CSAT.Mean != 4 || rep.TimeZone != "Asia/Shanghai" {
		t.Errorf("report %+v", rep)
	}
	if len(rep.ByAgent) != 1 || rep.ByAgent[0].ID != "alice" || rep.ByAgent[0].CSAT.Count != 1 {
		t.Errorf("by agent %+v", rep.ByAgent)
	}
	byDay := 0
	for _, d := range rep.ByDay {
		byDay += d.Conversations
	}
	if len(rep.ByDay) < 1 || len(rep.ByDay) > 2 || byDay != 2 {
		t.Errorf("by day %+v", rep.ByDay)
	}
	req, _ := http.NewRequest("GET", base+"/v1/reports?format=csv&from="+from+"&to="+to, nil)
	req.Header.Set("Authorization", "Bearer "+sup)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.StatusCode != 200 || len(rows) < 5 || rows[0][0] != "scope" || rows[1][0] != "team" || rows[2][1] != "alice" || rows[1][2] != "2" {
		t.Fatalf("CSV %d %v %q", resp.StatusCode, err, rows)
	}
	// then a row a day (UTC; two if the test ran over midnight), adding up to the team's
	var days, conversations, opened int
	for _, row := range rows[4:] {
		c, _ := strconv.Atoi(row[14])
		o, _ := strconv.Atoi(row[2])
		if row[0] != "day" || len(row[1]) != len("2026-03-01") {
			t.Errorf("CSV row %q, want a day's", row)
		}
		days, conversations, opened = days+1, conversations+c, opened+o
	}
	if days < 1 || days > 2 || conversations != 2 || opened != 2 {
		t.Errorf("CSV days %q", rows[4:])
	}
	for _, q := range []string{"tz=Mars/Olympus", "from=yesterday", "from=" + to + "&to=" + from, "format=xml"} {
		mustCall(t, 400, base, sup, "GET", "/v1/reports?"+q, nil, nil)
	}
	mustCall(t, 403, base, agent, "GET", "/v1/reports", nil, nil)
}
