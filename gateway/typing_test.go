package gateway

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/tickets"
)

// TestTypingBothWays: ann types in the web chat on one replica and alice, who holds her
// ticket, is told on her console's socket on the other; alice says she types and ann's
// chat shows her by display name. More than one call every two seconds is answered
// without telling anyone; bob, who does not hold the ticket, is refused; a frame of an
// unknown type is answered with an error that names "typing".
func TestTypingBothWays(t *testing.T) {
	pool := newPool(t)
	prefix := "typing" + strings.ToLower(t.Name())
	gw1, gw2 := newInstanceWith(t, pool, prefix, scriptedBrain{}), newInstanceWith(t, pool, prefix, scriptedBrain{})
	base := gw1.http.URL
	sup, alice, bob := gw1.token(t, "sam", RoleSupervisor), gw1.token(t, "alice", RoleAgent), gw1.token(t, "bob", RoleAgent)
	ann := gw1.token(t, "web:ann", RoleCustomer)
	mustCall(t, 200, base, sup, "PUT", "/v1/skill-groups/support", map[string]any{}, nil)
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/alice", map[string]any{"name": "Alice", "groups": []string{"support"}, "capacity": 2}, nil)
	mustCall(t, 200, base, alice, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(gw1.http.URL, "http", "ws", 1)+"/v1/me/ws?access_token="+alice, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	readPush(t, ctx, ws, "hello")
	chat := dialChat(t, ctx, gw2.http.URL, ann, "")
	chat.typing() // no conversation yet: nobody to tell
	chat.say("I want a human", "t1")
	esc := chat.until(func(f ChatFrame) bool { return f.Type == "reply" && f.Reply.Escalated })
	ticket := esc[len(esc)-1].Reply.TicketID

	chat.typing()
	p := readPush(t, ctx, ws, "typing")
	if p.TicketID != ticket || p.Who != "customer" || p.Event.ConversationID != esc[len(esc)-1].Reply.ConversationID {
		t.Errorf("alice's typing push %+v", p)
	}
	var raw map[string]any
	b, _ := json.Marshal(p)
	json.Unmarshal(b, &raw)
	if raw["type"] != "typing" || raw["ticket_id"] != ticket || raw["who"] != "customer" {
		t.Errorf("push on the wire %s", b)
	}

	var sent struct {
		Sent bool `json:"sent"`
	}
	mustCall(t, 202, base, alice, "POST", "/v1/tickets/"+ticket+"/typing", nil, &sent)
	if !sent.Sent {
		t.Error("alice's first typing call was not passed on")
	}
	frames := chat.until(func(f ChatFrame) bool { return f.Type == "typing" })
	if f := frames[len(frames)-1]; f.Author != "agent" || f.AuthorName != "Alice" || strings.Contains(string(mustJSON(f)), "alice") {
		t.Errorf("ann's typing frame %+v", f)
	}
	mustCall(t, 202, base, alice, "POST", "/v1/tickets/"+ticket+"/typing", nil, &sent)
	if sent.Sent {
		t.Error("a second typing call within two seconds was passed on")
	}
	mustCall(t, 403, base, bob, "POST", "/v1/tickets/"+ticket+"/typing", nil, nil)
	mustCall(t, 404, base, alice, "POST", "/v1/tickets/00000000-0000-0000-0000-000000000000/typing", nil, nil)

	if err := chat.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"wave"}`)); err != nil {
		t.Fatal(err)
	}
	errs := chat.until(func(f ChatFrame) bool { return f.Type == "error" })
	if e := errs[len(errs)-1]; !strings.Contains(e.Error, `"typing"`) {
		t.Errorf("error frame %+v", e)
	}
}

func (c *chatClient) typing() {
	if err := c.conn.Write(c.ctx, websocket.MessageText, []byte(`{"type":"typing"}`)); err != nil {
		c.t.Fatal(err)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestTypingReachesOnlyWhoMaySee: a customer's typing goes to the agent holding the
// ticket alone (not a colleague, not a supervisor's console); an agent's typing goes to
// the sessions of that conversation alone, and never back to an agent.
func TestTypingReachesOnlyWhoMaySee(t *testing.T) {
	h := newHub(nil)
	subs := map[string]*subscriber{}
	for _, s := range []*subscriber{{agentID: "alice"}, {agentID: "bob"}, {agentID: "sam", supervisor: true}} {
		s.ch = make(chan Push, 4)
		subs[s.agentID] = s
		defer h.add(s)()
	}
	h.dispatch(tickets.Event{Type: tickets.EventTyping, TicketID: "t1", ConversationID: "c1", AssigneeID: "alice", Author: "customer"})
	h.dispatch(tickets.Event{Type: tickets.EventTyping, TicketID: "t1", ConversationID: "c1", AssigneeID: "alice", Author: "agent:alice"})
	got := map[string][]string{}
	for id, s := range subs {
		for len(s.ch) > 0 {
			p := <-s.ch
			got[id] = append(got[id], p.Type+" "+p.TicketID+" "+p.Who)
		}
	}
	if diff := cmp.Diff(map[string][]string{"alice": {"typing t1 customer"}}, got); diff != "" {
		t.Errorf("agents' pushes (-want +got):\n%s", diff)
	}

	chat := newChatHub()
	watches := map[string]*chatWatch{}
	for _, conv := range []string{"c1", "c2"} {
		w := &chatWatch{wake: make(chan struct{}, 1), typing: make(chan string, 1)}
		watches[conv] = w
		defer chat.watch(conv, w)()
	}
	chat.dispatch(tickets.Event{Type: tickets.EventTyping, TicketID: "t1", ConversationID: "c1", Author: "customer"})
	chat.dispatch(tickets.Event{Type: tickets.EventTyping, TicketID: "t1", ConversationID: "c1", Author: "agent:alice"})
	typing := map[string][]string{}
	for conv, w := range watches {
		for len(w.typing) > 0 {
			typing[conv] = append(typing[conv], <-w.typing)
		}
		if len(w.wake) > 0 {
			t.Errorf("a typing event woke the sessions of %s", conv)
		}
	}
	if diff := cmp.Diff(map[string][]string{"c1": {"alice"}}, typing); diff != "" {
		t.Errorf("sessions told (-want +got):\n%s", diff)
	}
}
