package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/tickets"
)

// scriptedBrain stands in for nlp/ and kb/ in channel tests: it answers
// "refund" questions confidently and wants a human when asked for one.
type scriptedBrain struct{}

func (scriptedBrain) Understand(_ context.Context, text string) (flow.Understanding, error) {
	return flow.Understanding{Language: "en", Intent: "refund", Confidence: 0.9, WantsHuman: strings.Contains(text, "human")}, nil
}

func (scriptedBrain) Answer(_ context.Context, text string) (flow.Answer, error) {
	if strings.Contains(text, "refund") {
		return flow.Answer{Text: "Refunds arrive within 5 working days.", Confidence: 0.9,
			Citations: []pipeline.Citation{{ChunkID: "faq#1", Source: "faq.csv", Title: "Refund timing"}}}, nil
	}
	return flow.Answer{Text: "Maybe this helps?", Confidence: 0.1}, nil
}

// supportAgent makes a "support" skill group and agent id in it, with capacity.
func supportAgent(t *testing.T, base, supervisorToken, id string, capacity int) {
	t.Helper()
	mustCall(t, 200, base, supervisorToken, "PUT", "/v1/skill-groups/support", map[string]any{"skills": []string{"general"}}, nil)
	mustCall(t, 200, base, supervisorToken, "PUT", "/v1/agents/"+id, map[string]any{"groups": []string{"support"}, "capacity": capacity}, nil)
}

func TestRESTChannelAnswersDeduplicatesAndEscalates(t *testing.T) {
	pool := newPool(t)
	in := newInstanceWith(t, pool, "rest"+strings.ToLower(t.Name()), scriptedBrain{})
	base := in.http.URL
	cust := in.token(t, "web:42", RoleCustomer)
	sup := in.token(t, "sam", RoleSupervisor)
	agent := in.token(t, "alice", RoleAgent)
	supportAgent(t, base, sup, "alice", 3)
	mustCall(t, 200, base, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)

	var first MessageReply
	mustCall(t, 200, base, cust, "POST", "/v1/messages", map[string]any{"message_id": "m1", "display_name": "Kim",
		"text": "where is my refund? call me on 13812345678"}, &first)
	if first.Escalated || first.Reply != "Refunds arrive within 5 working days." || len(first.Citations) != 1 || first.Duplicate {
		t.Fatalf("first answer %+v", first)
	}
	conv := first.ConversationID
	var again MessageReply
	mustCall(t, 200, base, cust, "POST", "/v1/messages", map[string]any{"message_id": "m1", "text": "where is my refund? call me on 13812345678"}, &again)
	if !again.Duplicate || again.Reply != first.Reply || again.ConversationID != conv {
		t.Fatalf("redelivery %+v", again)
	}

	var unsure MessageReply
	mustCall(t, 200, base, cust, "POST", "/v1/messages", map[string]any{"message_id": "m2", "conversation_id": conv,
		"text": "something odd happened"}, &unsure)
	if !unsure.Escalated || unsure.TicketID == "" {
		t.Fatalf("low-confidence answer did not escalate: %+v", unsure)
	}
	var human MessageReply
	mustCall(t, 200, base, cust, "POST", "/v1/messages", map[string]any{"message_id": "m3", "conversation_id": conv,
		"text": "let me talk to a human"}, &human)
	if !human.Escalated || human.TicketID != unsure.TicketID || human.Reply != "" {
		t.Fatalf("a message to the agent's ticket %s should go to the agent, not the bot: %+v", unsure.TicketID, human)
	}
	var detail tickets.TicketDetail
	mustCall(t, 200, base, agent, "GET", "/v1/tickets/"+human.TicketID, nil, &detail)
	if detail.Ticket.AssigneeID != "alice" || detail.Ticket.ConversationID != conv {
		t.Fatalf("escalated ticket %+v", detail.Ticket)
	}
	mustCall(t, 201, base, agent, "POST", "/v1/tickets/"+human.TicketID+"/replies", map[string]string{"text": "Hi Kim, Alice here."}, nil)

	var transcript struct {
		Messages []tickets.Message `json:"messages"`
	}
	mustCall(t, 200, base, cust, "GET", "/v1/conversations/"+conv, nil, &transcript)
	var authors []string
	for _, m := range transcript.Messages {
		authors = append(authors, m.Author)
		if strings.Contains(m.Text, "13812345678") {
			t.Fatalf("raw phone number stored: %q", m.Text)
		}
	}
	want := "customer bot customer bot customer agent" // customers never see the agent's subject
	if strings.Join(authors, " ") != want {
		t.Fatalf("transcript authors %v, want %s", authors, want)
	}
	other := in.token(t, "web:43", RoleCustomer)
	if got := call(t, base, other, "GET", "/v1/conversations/"+conv, nil, nil); got != 403 {
		t.Fatalf("another customer reading the conversation: %d, want 403", got)
	}
	if got := call(t, base, other, "POST", "/v1/messages", map[string]any{"conversation_id": conv, "text": "hi"}, nil); got != 403 {
		t.Fatalf("another customer writing to the conversation: %d, want 403", got)
	}
	var raw int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE body LIKE '%13812345678%'`).Scan(&raw); err != nil || raw != 0 {
		t.Fatalf("%d stored messages hold the raw phone number (%v)", raw, err)
	}
}

// TestRateLimitsHoldAcrossReplicas: two gateway instances share the Redis
// counters, so a customer's budget is spent across both.
func TestRateLimitsHoldAcrossReplicas(t *testing.T) {
	pool := newPool(t)
	_, unique := testenv.Redis(t) // counters live a minute: keep runs apart
	prefix := "limits" + unique
	limit := func(o *Options) {
		o.Limits = RateLimits{Prefix: prefix + ":rl", PerCustomerPerMinute: 3, PerIPPerMinute: 100}
	}
	a := newInstanceWith(t, pool, prefix, scriptedBrain{}, limit)
	b := newInstanceWith(t, pool, prefix, scriptedBrain{}, limit)
	cust := a.token(t, "web:7", RoleCustomer)
	for i, base := range []string{a.http.URL, b.http.URL, a.http.URL} {
		if got := call(t, base, cust, "POST", "/v1/messages", map[string]any{"text": "refund please"}, nil); got != 200 {
			t.Fatalf("message %d: %d", i, got)
		}
	}
	var body ErrorBody
	if got := call(t, b.http.URL, cust, "POST", "/v1/messages", map[string]any{"text": "refund please"}, &body); got != 429 || body.Code != "rate_limited" {
		t.Fatalf("4th message in a minute: %d %+v, want 429", got, body)
	}
	other := a.token(t, "web:8", RoleCustomer)
	if got := call(t, b.http.URL, other, "POST", "/v1/messages", map[string]any{"text": "refund please"}, nil); got != 200 {
		t.Fatalf("another customer was limited too: %d", got)
	}
}

// TestRevealIsPermittedAndAudited: originals are vaulted encrypted; the
// handling agent and supervisors may reveal them (audited), others not.
func TestRevealIsPermittedAndAudited(t *testing.T) {
	pool := newPool(t)
	in := newInstanceWith(t, pool, "reveal"+strings.ToLower(t.Name()), scriptedBrain{})
	base := in.http.URL
	cust, sup := in.token(t, "web:r", RoleCustomer), in.token(t, "sam", RoleSupervisor)
	alice, carol := in.token(t, "alice", RoleAgent), in.token(t, "carol", RoleAgent)
	mustCall(t, 200, base, sup, "PUT", "/v1/skill-groups/support", map[string]any{}, nil)
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/alice", map[string]any{"groups": []string{"support"}, "capacity": 2}, nil)
	mustCall(t, 200, base, alice, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)
	var r MessageReply
	mustCall(t, 200, base, cust, "POST", "/v1/messages", map[string]any{"text": "human please, call 13812345678 or mail r@example.com"}, &r)
	var tr struct {
		Messages []tickets.Message `json:"messages"`
	}
	mustCall(t, 200, base, cust, "GET", "/v1/conversations/"+r.ConversationID, nil, &tr)
	mid := tr.Messages[0].ID
	if tr.Messages[0].Text != "human please, call [PHONE_1] or mail [EMAIL_1]" {
		t.Fatalf("stored text %q", tr.Messages[0].Text)
	}
	path := fmt.Sprintf("/v1/conversations/%s/messages/%d/pii", r.ConversationID, mid)
	var got struct {
		Values []tickets.Secret `json:"values"`
	}
	mustCall(t, 200, base, alice, "GET", path, nil, &got)
	want := []tickets.Secret{{Placeholder: "[EMAIL_1]", Kind: "EMAIL", Value: "r@example.com"}, {Placeholder: "[PHONE_1]", Kind: "PHONE", Value: "13812345678"}}
	if diff := cmp.Diff(want, got.Values); diff != "" {
		t.Fatalf("revealed (-want +got):\n%s", diff)
	}
	if code := call(t, base, carol, "GET", path, nil, nil); code != 403 {
		t.Fatalf("an agent without the ticket revealed: %d", code)
	}
	if code := call(t, base, cust, "GET", path, nil, nil); code != 403 {
		t.Fatalf("a customer called reveal: %d", code)
	}
	mustCall(t, 200, base, sup, "GET", path, nil, nil)

	// the types issue 17 added are vaulted and revealed the same way
	text := "born on 12/03/1985, driver's license number D1234567, reset link https://x.example.com/reset?token=abcd1234efgh, call 020 7946 0958"
	mustCall(t, 200, base, cust, "POST", "/v1/messages", map[string]any{"conversation_id": r.ConversationID, "text": text}, nil)
	mustCall(t, 200, base, cust, "GET", "/v1/conversations/"+r.ConversationID, nil, &tr)
	last := tr.Messages[len(tr.Messages)-1]
	if last.Text != "born on [DOB_1], driver's license number [DRIVER_LICENSE_1], reset link [URL_1], call [PHONE_1]" {
		t.Fatalf("stored text %q", last.Text)
	}
	mustCall(t, 200, base, alice, "GET", fmt.Sprintf("/v1/conversations/%s/messages/%d/pii", r.ConversationID, last.ID), nil, &got)
	want = []tickets.Secret{{Placeholder: "[DOB_1]", Kind: "DOB", Value: "12/03/1985"},
		{Placeholder: "[DRIVER_LICENSE_1]", Kind: "DRIVER_LICENSE", Value: "D1234567"},
		{Placeholder: "[PHONE_1]", Kind: "PHONE", Value: "020 7946 0958"},
		{Placeholder: "[URL_1]", Kind: "URL", Value: "https://x.example.com/reset?token=abcd1234efgh"}}
	if diff := cmp.Diff(want, got.Values); diff != "" {
		t.Fatalf("revealed (-want +got):\n%s", diff)
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE action = 'pii.reveal'`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d reveal audit events (%v), want 3", n, err)
	}
	var raw int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pii_vault WHERE position('13812345678' in encode(value_enc, 'escape')) > 0`).Scan(&raw); err != nil || raw != 0 {
		t.Fatalf("vault holds plaintext (%d, %v)", raw, err)
	}
}

// TestReviewRegressions covers three review findings: message ids are
// per customer, concurrent escalations of one conversation share one
// ticket, and NUL bytes are not a server error.
func TestReviewRegressions(t *testing.T) {
	pool := newPool(t)
	in := newInstanceWith(t, pool, "regress"+strings.ToLower(t.Name()), scriptedBrain{})
	base := in.http.URL
	alice, bob := in.token(t, "web:alice", RoleCustomer), in.token(t, "web:bob", RoleCustomer)
	var a, b MessageReply
	mustCall(t, 200, base, alice, "POST", "/v1/messages", map[string]any{"message_id": "1", "text": "where is my refund?"}, &a)
	mustCall(t, 200, base, bob, "POST", "/v1/messages", map[string]any{"message_id": "1", "text": "refund for bob"}, &b)
	if b.Duplicate || b.ConversationID == a.ConversationID {
		t.Fatalf("bob's message 1 was taken for alice's: %+v", b)
	}
	var wg sync.WaitGroup
	ids := make([]string, 6)
	for i := range ids {
		wg.Go(func() {
			var r MessageReply
			if code := call(t, base, alice, "POST", "/v1/messages", map[string]any{"conversation_id": a.ConversationID,
				"text": "talk to a human"}, &r); code != 200 {
				t.Errorf("escalation %d: %d", i, code)
			}
			ids[i] = r.TicketID
		})
	}
	wg.Wait()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM tickets WHERE conversation_id = $1`, a.ConversationID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d tickets for one conversation (%v), want 1; ids %v", n, err, ids)
	}
	if code := call(t, base, bob, "POST", "/v1/messages", map[string]any{"text": "refund\u0000please", "display_name": "B\u0000b"}, nil); code != 200 {
		t.Fatalf("NUL in text: %d, want 200 (stripped)", code)
	}
}

// TestForwardedForIsIgnoredWithoutTrustedProxies: a client cannot pick its
// own IP (and dodge the per-IP limit) with X-Forwarded-For.
func TestForwardedForIsIgnoredWithoutTrustedProxies(t *testing.T) {
	_, unique := testenv.Redis(t)
	in := newInstanceWith(t, newPool(t), "xff"+unique, scriptedBrain{}, func(o *Options) {
		o.Limits = RateLimits{Prefix: "xff" + unique, PerIPPerMinute: 2}
	})
	for i := range 3 {
		req, _ := http.NewRequest("POST", in.http.URL+"/v1/channels/telegram", strings.NewReader("{}"))
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{true: 429, false: 404}[i == 2]; resp.StatusCode != want {
			t.Fatalf("request %d with a forged X-Forwarded-For: %d, want %d", i, resp.StatusCode, want)
		}
	}
}

// TestBotStaysOutWhileAnAgentHasTheConversation: once a conversation is escalated, a
// customer waiting in the queue is told so instead of getting bot answers; while an
// agent holds the ticket the bot is silent and a reply to a pending ticket puts it back
// with the agent; after the ticket is resolved the bot answers again.
func TestBotStaysOutWhileAnAgentHasTheConversation(t *testing.T) {
	pool := newPool(t)
	in := newInstanceWith(t, pool, "handover"+strings.ToLower(t.Name()), scriptedBrain{})
	base := in.http.URL
	cust := in.token(t, "web:77", RoleCustomer)
	sup := in.token(t, "sam", RoleSupervisor)
	agent := in.token(t, "bea", RoleAgent)
	supportAgent(t, base, sup, "bea", 2)

	say := func(conv, text string) MessageReply {
		t.Helper()
		var r MessageReply
		mustCall(t, 200, base, cust, "POST", "/v1/messages", map[string]any{"conversation_id": conv, "text": text}, &r)
		return r
	}
	status := func(id string) tickets.Status {
		t.Helper()
		var d tickets.TicketDetail
		mustCall(t, 200, base, sup, "GET", "/v1/tickets/"+id, nil, &d)
		return d.Ticket.Status
	}
	first := say("", "I want a human")
	conv, ticket := first.ConversationID, first.TicketID
	if !first.Escalated || ticket == "" {
		t.Fatalf("handover: %+v", first)
	}
	// right after the handover the bot has said enough; minutes later it reminds
	if r := say(conv, "where is my refund?"); r.Reply != "" || r.TicketID != ticket || !r.Escalated {
		t.Fatalf("waiting in the queue, just after the handover: %+v, want neither a bot answer nor a notice", r)
	}
	if _, err := pool.Exec(context.Background(), `UPDATE messages SET created_at = created_at - interval '10 minutes'
		WHERE conversation_id = $1`, conv); err != nil {
		t.Fatal(err)
	}
	queued := say(conv, "where is my refund?")
	if s := status(ticket); !strings.Contains(queued.Reply, "queue") || queued.TicketID != ticket || s != tickets.StatusOpen {
		t.Fatalf("waiting in the queue: %+v (status %s), want the queue notice and no bot answer", queued, s)
	}

	mustCall(t, 200, base, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)
	for deadline := time.Now().Add(5 * time.Second); status(ticket) != tickets.StatusAssigned; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the agent going online did not take the waiting ticket (status %s)", status(ticket))
		}
	}
	if r := say(conv, "where is my refund?"); r.Reply != "" || !r.Escalated || r.TicketID != ticket {
		t.Fatalf("with the agent: %+v, want no bot reply", r)
	}
	mustCall(t, 201, base, agent, "POST", "/v1/tickets/"+ticket+"/replies", map[string]string{"text": "Checking your refund now."}, nil)
	if s := status(ticket); s != tickets.StatusPending {
		t.Fatalf("after the agent's reply: %s, want pending", s)
	}
	if r := say(conv, "thanks, I'll wait"); r.Reply != "" || status(ticket) != tickets.StatusAssigned {
		t.Fatalf("customer answered a pending ticket: %+v, status %s; want it back with the agent", r, status(ticket))
	}
	mustCall(t, 200, base, agent, "POST", "/v1/tickets/"+ticket+"/resolve", nil, nil)
	if r := say(conv, "one more refund question"); r.Reply != "Refunds arrive within 5 working days." || r.Escalated {
		t.Fatalf("after resolution: %+v, want the bot's answer", r)
	}

	var transcript struct {
		Messages []tickets.Message `json:"messages"`
	}
	mustCall(t, 200, base, cust, "GET", "/v1/conversations/"+conv, nil, &transcript)
	var authors []string
	for _, m := range transcript.Messages {
		authors = append(authors, m.Author)
	}
	// resolving asked the customer to rate the help (system:csat); their next message was
	// no rating, so the bot answered it
	if diff := cmp.Diff(strings.Fields("customer bot customer customer bot customer agent customer system:csat customer bot"), authors); diff != "" {
		t.Errorf("transcript authors (-want +got):\n%s", diff)
	}
}
