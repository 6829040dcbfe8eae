package gateway

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cs/switchboard/tickets"
)

type chatClient struct {
	t    *testing.T
	conn *websocket.Conn
	ctx  context.Context
}

func dialChat(t *testing.T, ctx context.Context, base, token, query string) *chatClient {
	t.Helper()
	u := strings.Replace(base, "http", "ws", 1) + "/v1/chat/ws?access_token=" + token + query
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &chatClient{t: t, conn: conn, ctx: ctx}
}

func (c *chatClient) say(text, id string) {
	b, _ := json.Marshal(ChatFrame{Type: "message", Text: text, MessageID: id})
	if err := c.conn.Write(c.ctx, websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

// until reads frames until one satisfies ok, returning all frames read.
func (c *chatClient) until(ok func(ChatFrame) bool) []ChatFrame {
	c.t.Helper()
	var got []ChatFrame
	for {
		_, data, err := c.conn.Read(c.ctx)
		if err != nil {
			c.t.Fatalf("reading chat frames (got %+v): %v", got, err)
		}
		var f ChatFrame
		if err := json.Unmarshal(data, &f); err != nil {
			c.t.Fatal(err)
		}
		got = append(got, f)
		if ok(f) {
			return got
		}
	}
}

func messageFrom(author string) func(ChatFrame) bool {
	return func(f ChatFrame) bool { return f.Type == "message" && f.Author == author }
}

// TestWebChatLiveAndResume: a customer chats over the WebSocket on one
// instance, escalates, receives the agent's reply (written on another
// instance) live, and after a reconnect gets exactly what was missed.
func TestWebChatLiveAndResume(t *testing.T) {
	pool := newPool(t)
	prefix := "chat" + strings.ToLower(t.Name())
	gw1 := newInstanceWith(t, pool, prefix, scriptedBrain{})
	gw2 := newInstanceWith(t, pool, prefix, scriptedBrain{})
	sup, agent, cust := gw1.token(t, "sam", RoleSupervisor), gw1.token(t, "alice", RoleAgent), gw1.token(t, "web:chat", RoleCustomer)
	mustCall(t, 200, gw1.http.URL, sup, "PUT", "/v1/skill-groups/support", map[string]any{}, nil)
	mustCall(t, 200, gw1.http.URL, sup, "PUT", "/v1/agents/alice", map[string]any{"groups": []string{"support"}, "capacity": 2}, nil)
	mustCall(t, 200, gw1.http.URL, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := dialChat(t, ctx, gw2.http.URL, cust, "")
	c.say("where is my refund?", "w1")
	frames := c.until(messageFrom("bot"))
	var reply *MessageReply
	var seqs []int64
	for _, f := range frames {
		if f.Type == "reply" {
			reply = f.Reply
		}
		if f.Type == "message" {
			seqs = append(seqs, f.Seq)
		}
	}
	if reply == nil || reply.Reply != "Refunds arrive within 5 working days." || len(seqs) != 2 || seqs[0] >= seqs[1] {
		t.Fatalf("first exchange frames %+v", frames)
	}
	conv := reply.ConversationID

	c.say("I want a human", "w2")
	c.until(func(f ChatFrame) bool { return f.Type == "reply" && f.Reply.Escalated })
	var q tickets.Queue
	mustCall(t, 200, gw1.http.URL, agent, "GET", "/v1/me/queue", nil, &q)
	if len(q.Mine) != 1 {
		t.Fatalf("alice's queue %+v", q)
	}
	ticket := q.Mine[0].ID
	mustCall(t, 201, gw1.http.URL, agent, "POST", "/v1/tickets/"+ticket+"/replies", map[string]string{"text": "Alice here, checking now."}, nil)
	live := c.until(messageFrom("agent")) // customers never see the agent's subject
	last := live[len(live)-1]
	if last.Text != "Alice here, checking now." {
		t.Fatalf("live agent reply %+v", last)
	}

	// Disconnect; two more agent replies arrive meanwhile; resume from the last seq.
	c.conn.Close(websocket.StatusNormalClosure, "")
	for _, text := range []string{"Found it.", "Refund re-sent."} {
		mustCall(t, 201, gw1.http.URL, agent, "POST", "/v1/tickets/"+ticket+"/replies", map[string]string{"text": text}, nil)
	}
	c2 := dialChat(t, ctx, gw1.http.URL, cust, "&conversation_id="+conv+"&after="+strconv.FormatInt(last.Seq, 10))
	missed := c2.until(func(f ChatFrame) bool { return f.Text == "Refund re-sent." })
	var texts []string
	for _, f := range missed {
		texts = append(texts, f.Text)
	}
	if strings.Join(texts, "|") != "Found it.|Refund re-sent." {
		t.Fatalf("after reconnect got %q, want exactly the two missed messages", texts)
	}
	// Another customer may not attach to this conversation.
	other := gw1.token(t, "web:other", RoleCustomer)
	_, resp, err := websocket.Dial(ctx, strings.Replace(gw1.http.URL, "http", "ws", 1)+"/v1/chat/ws?access_token="+other+"&conversation_id="+conv, nil)
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("foreign customer attach: %v, %v", resp, err)
	}
}
