package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/gateway/assist"
	"github.com/switchboard-cs/switchboard/internal/llmtest"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/tickets"
)

// TestReplyAssist: an agent answering a customer who was charged twice is offered the
// knowledge base's answer and the reply that resolved an earlier customer's double
// charge, and a language model's draft streamed as server-sent events; without a model
// the draft is refused with 409 and a reason, and a colleague who may not see the ticket
// gets nothing. The handoff summary is the model's, written once and stored.
func TestReplyAssist(t *testing.T) {
	fake := &llmtest.Server{Answer: func(prompt string) string {
		if strings.Contains(prompt, "You brief a human") && strings.Contains(prompt, "because the customer asked for a human") {
			return "The customer was charged twice and wants it fixed; they are upset. Call back on 13812345678."
		}
		if strings.Contains(prompt, "refunded the second charge") {
			return "Sorry for the trouble: I have refunded the second charge."
		}
		return "Could you share the order number?"
	}}
	model := fake.Start(t)
	in := newInstanceWith(t, newPool(t), "assist"+strings.ToLower(t.Name()), unsureBrain{}, func(o *Options) {
		o.Assist = &assist.Assistant{KB: unsureBrain{}, Past: o.Store, Writer: kb.LLMComposer{Model: model}}
	})
	base := in.http.URL
	sup, alice, bob := in.token(t, "sam", RoleSupervisor), in.token(t, "alice", RoleAgent), in.token(t, "bob", RoleAgent)
	supportAgent(t, base, sup, "alice", 3)
	mustCall(t, 200, base, alice, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)
	ask := func(customer, text string) string {
		var r MessageReply
		mustCall(t, 200, base, in.token(t, customer, RoleCustomer), "POST", "/v1/messages", map[string]any{"text": text}, &r)
		if !r.Escalated {
			t.Fatalf("%q: not escalated", text)
		}
		return r.TicketID
	}
	earlier := ask("web:a1", "I was charged twice for order 1234, a human please")
	mustCall(t, 201, base, alice, "POST", "/v1/tickets/"+earlier+"/replies", map[string]string{"text": "I have refunded the second charge."}, nil)
	mustCall(t, 200, base, alice, "POST", "/v1/tickets/"+earlier+"/resolve", nil, nil)
	now := ask("web:a2", "charged twice on my card!!! human please")

	var got struct {
		Drafts     []assist.Draft `json:"drafts"`
		CanCompose bool           `json:"can_compose"`
	}
	mustCall(t, 200, base, alice, "GET", "/v1/tickets/"+now+"/assist", nil, &got)
	if len(got.Drafts) != 2 || got.Drafts[0].Kind != assist.KindKB || got.Drafts[1].Kind != assist.KindPast ||
		got.Drafts[1].TicketID != earlier || got.Drafts[1].Text != "I have refunded the second charge." || !got.CanCompose {
		t.Fatalf("drafts %+v", got)
	}
	mustCall(t, 403, base, bob, "GET", "/v1/tickets/"+now+"/assist", nil, nil)
	mustCall(t, 403, base, bob, "POST", "/v1/tickets/"+now+"/assist/draft", nil, nil)

	events := streamDraft(t, base, alice, now)
	if len(events) < 3 || events[len(events)-1].name != "done" {
		t.Fatalf("events %+v: want drafts, then done", events)
	}
	var done assist.Draft
	if err := json.Unmarshal([]byte(events[len(events)-1].data), &done); err != nil {
		t.Fatal(err)
	}
	if done.Kind != assist.KindLLM || done.Text != "Sorry for the trouble: I have refunded the second charge." {
		t.Errorf("done %+v", done)
	}
	var first struct{ Text string }
	if err := json.Unmarshal([]byte(events[0].data), &first); err != nil || events[0].name != "draft" || !strings.HasPrefix(done.Text, first.Text) || first.Text == done.Text {
		t.Errorf("first event %+v: want a part of the draft", events[0])
	}

	// the handoff summary: written once by the model (redacted again), stored, audited
	var sum struct {
		Summary string `json:"summary"`
	}
	mustCall(t, 403, base, bob, "POST", "/v1/tickets/"+now+"/summary", nil, nil)
	before := len(fake.Prompts())
	for range 2 {
		mustCall(t, 200, base, alice, "POST", "/v1/tickets/"+now+"/summary", nil, &sum)
		if sum.Summary != "The customer was charged twice and wants it fixed; they are upset. Call back on [PHONE_1]." {
			t.Errorf("summary %q", sum.Summary)
		}
	}
	if n := len(fake.Prompts()) - before; n != 1 {
		t.Errorf("the model was asked %d times for one summary", n)
	}
	var d tickets.TicketDetail
	mustCall(t, 200, base, alice, "GET", "/v1/tickets/"+now, nil, &d)
	if d.Ticket.Handoff == nil || d.Ticket.Handoff.Summary != sum.Summary || d.Ticket.Handoff.Reason != tickets.HandoffAskedForHuman {
		t.Errorf("stored handoff %+v", d.Ticket.Handoff)
	}
	trail, err := in.store.AuditLog(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var summaries []string
	for _, e := range trail {
		if e.Action == "ticket.summary" {
			summaries = append(summaries, e.Actor+" "+e.Target)
		}
	}
	if len(summaries) != 1 || summaries[0] != "alice "+now {
		t.Errorf("audited summaries %v, want alice's once", summaries)
	}
	var opened struct {
		Ticket tickets.Ticket `json:"ticket"`
	}
	mustCall(t, 201, base, sup, "POST", "/v1/tickets", map[string]any{"customer": map[string]string{"pseudonymous_id": "web:a3"},
		"subject": "by phone", "message": "called in", "skills": []string{"general"}}, &opened)
	mustCall(t, 409, base, sup, "POST", "/v1/tickets/"+opened.Ticket.ID+"/summary", nil, nil) // no handoff to summarize

	// a server without a language model
	in2 := newInstanceWith(t, newPool(t), "assist2"+strings.ToLower(t.Name()), unsureBrain{}, func(o *Options) {
		o.Assist = &assist.Assistant{KB: unsureBrain{}, Past: o.Store}
	})
	sup2, alice2 := in2.token(t, "sam", RoleSupervisor), in2.token(t, "alice", RoleAgent)
	supportAgent(t, in2.http.URL, sup2, "alice", 3)
	mustCall(t, 200, in2.http.URL, alice2, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)
	var r MessageReply
	mustCall(t, 200, in2.http.URL, in2.token(t, "web:b1", RoleCustomer), "POST", "/v1/messages", map[string]any{"text": "human please"}, &r)
	var body ErrorBody
	for _, route := range []string{"/assist/draft", "/summary"} {
		mustCall(t, 409, in2.http.URL, alice2, "POST", "/v1/tickets/"+r.TicketID+route, nil, &body)
		if body.Code != "not_configured" || !strings.Contains(body.Error, "llm.base_url") {
			t.Errorf("%s without a model: %+v", route, body)
		}
	}
}

type sseEvent struct{ name, data string }

// streamDraft posts …/assist/draft and reads its server-sent events.
func streamDraft(t *testing.T, base, token, ticket string) []sseEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "POST", base+"/v1/tickets/"+ticket+"/assist/draft", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("draft: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event:"):
			cur.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			cur.data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		case line == "" && cur.name != "":
			out = append(out, cur)
			cur = sseEvent{}
		}
	}
	return out
}
