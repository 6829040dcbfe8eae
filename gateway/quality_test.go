package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/tickets"
)

// TestQualityRoutes: a resolved conversation's inspection reaches the supervisors' QA
// view (all, flagged, by agent), the agents' trends and the agent's own page; an agent
// reads only the reviews scored as theirs; bad parameters are 400s.
func TestQualityRoutes(t *testing.T) {
	in := newInstance(t, newPool(t), "quality"+strings.ToLower(t.Name()))
	base := in.http.URL
	sup, alice, bob := in.token(t, "sam", RoleSupervisor), in.token(t, "alice", RoleAgent), in.token(t, "bob", RoleAgent)
	mustCall(t, 200, base, sup, "PUT", "/v1/skill-groups/support", map[string]any{}, nil)
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/alice", map[string]any{"groups": []string{"support"}, "capacity": 5}, nil)
	mustCall(t, 200, base, alice, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)

	// Two conversations: one closed politely, one short and without a closing.
	var ids []string
	for i, replies := range [][]string{{"Hello, I am checking your order now.", "It ships today. Bye!"}, {"ok"}} {
		cust := in.token(t, "web:q"+string(rune('a'+i)), RoleCustomer)
		var first MessageReply
		mustCall(t, 200, base, cust, "POST", "/v1/messages", map[string]any{"text": "I want to talk to a human"}, &first)
		if !first.Escalated {
			t.Fatalf("not escalated: %+v", first)
		}
		for _, r := range replies {
			mustCall(t, 201, base, alice, "POST", "/v1/tickets/"+first.TicketID+"/replies", map[string]string{"text": r}, nil)
		}
		mustCall(t, 200, base, alice, "POST", "/v1/tickets/"+first.TicketID+"/resolve", nil, nil)
		ids = append(ids, first.TicketID)
	}

	var all struct {
		Conversations []tickets.ConversationQuality `json:"conversations"`
	}
	mustCall(t, 200, base, sup, "GET", "/v1/quality/conversations", nil, &all)
	if len(all.Conversations) != 2 {
		t.Fatalf("QA view lists %d conversations, want 2", len(all.Conversations))
	}
	var flagged struct {
		Conversations []tickets.ConversationQuality `json:"conversations"`
	}
	mustCall(t, 200, base, sup, "GET", "/v1/quality/conversations?flagged=true&agent=alice", nil, &flagged)
	if len(flagged.Conversations) != 1 || flagged.Conversations[0].TicketID != ids[1] {
		t.Fatalf("flagged %+v, want only the short unclosed one", flagged.Conversations)
	}
	got := flagged.Conversations[0]
	if got.Score != 60 || got.ReplyScore != 70 || got.Closing {
		t.Errorf("short unclosed conversation scored %+v, want 70 less 10 for no closing", got)
	}

	var review tickets.QualityReview
	mustCall(t, 200, base, alice, "GET", "/v1/quality/conversations/"+ids[1], nil, &review)
	reasons := map[string]bool{}
	for _, r := range review.Quality.Reasons {
		reasons[r.Check] = true
	}
	if !reasons["missing_closing"] || !reasons["low_score"] || len(review.Replies) != 1 || review.Replies[0].Findings[0].Check != "too_short" {
		t.Errorf("review %+v", review)
	}
	mustCall(t, 403, base, bob, "GET", "/v1/quality/conversations/"+ids[1], nil, nil)

	var agents struct {
		Agents []tickets.AgentQuality `json:"agents"`
	}
	mustCall(t, 200, base, sup, "GET", "/v1/quality/agents?tz=Asia/Shanghai", nil, &agents)
	if len(agents.Agents) != 1 || agents.Agents[0].Conversations != 2 || agents.Agents[0].Flagged != 1 ||
		agents.Agents[0].Reasons["missing_closing"] != 1 || len(agents.Agents[0].Days) == 0 {
		t.Errorf("agents %+v", agents.Agents)
	}

	var mine tickets.MyQuality
	mustCall(t, 200, base, alice, "GET", "/v1/me/quality", nil, &mine)
	if mine.Trend.Conversations != 2 || len(mine.Conversations) != 2 {
		t.Errorf("alice's own page %+v", mine)
	}
	mustCall(t, 200, base, bob, "GET", "/v1/me/quality", nil, &mine)
	if mine.Trend.Conversations != 0 || len(mine.Conversations) != 0 {
		t.Errorf("bob's own page shows %+v", mine)
	}

	tomorrow := time.Now().Add(24 * time.Hour).Format(time.DateOnly)
	for _, q := range []string{"/v1/quality/conversations?flagged=maybe", "/v1/quality/conversations?limit=0",
		"/v1/quality/conversations?limit=501", "/v1/quality/agents?tz=Mars/Base", "/v1/me/quality?from=" + tomorrow + "&to=2020-01-01",
		"/v1/quality/agents?from=yesterday", "/v1/quality/agents?tz=Local"} {
		tok := sup
		if strings.HasPrefix(q, "/v1/me/") {
			tok = alice
		}
		mustCall(t, 400, base, tok, "GET", q, nil, nil)
	}
	mustCall(t, 404, base, sup, "GET", "/v1/quality/conversations/00000000-0000-0000-0000-000000000000", nil, nil)
}

// TestQualityRulesRoutes: a supervisor reads the rules in force and saves new ones;
// rules that do not parse are a 400 that says why; agents may not edit them.
func TestQualityRulesRoutes(t *testing.T) {
	in := newInstance(t, newPool(t), "qrules"+strings.ToLower(t.Name()))
	base := in.http.URL
	sup, alice := in.token(t, "sam", RoleSupervisor), in.token(t, "alice", RoleAgent)
	var doc tickets.QualityRules
	mustCall(t, 200, base, sup, "GET", "/v1/quality/rules", nil, &doc)
	if doc.Source != "built-in" || doc.BuiltIn == "" {
		t.Errorf("rules %+v", doc)
	}
	rules := "groups:\n  vip:\n    greeting: {en: [dear], zh: [尊敬的]}\n"
	mustCall(t, 200, base, sup, "PUT", "/v1/quality/rules", map[string]string{"yaml": rules}, &doc)
	if doc.Source != "database" || doc.Version != 1 || doc.YAML != rules || doc.UpdatedBy != "sam" {
		t.Errorf("saved %+v", doc)
	}
	for _, bad := range []any{map[string]string{"yaml": "groups:\n  vip:\n    greting: {en: [dear]}\n"}, map[string]string{}, map[string]int{"yaml": 3}} {
		mustCall(t, 400, base, sup, "PUT", "/v1/quality/rules", bad, nil)
	}
	mustCall(t, 403, base, alice, "PUT", "/v1/quality/rules", map[string]string{"yaml": rules}, nil)
	mustCall(t, 403, base, alice, "GET", "/v1/quality/rules", nil, nil)
}
