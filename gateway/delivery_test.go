package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/channel/slack"
	"github.com/switchboard-cs/switchboard/gateway/channel/webhook"
	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/internal/safe"
	"github.com/switchboard-cs/switchboard/tickets"
)

// agentReply carries what an agent gives out on purpose (a hotline, a support
// address); redaction turns both into placeholders in what is stored.
const agentReply = "Call our hotline 400-820-1234 or write to help@shop.example.com."

// agentPII are agentReply's values that redaction replaces.
var agentPII = []string{"400-820-1234", "help@shop.example.com"}

// say sends text from a customer on a push channel; n makes the channel's ids
// unique. It returns the customer's pseudonymous id.
func (r *channelRig) say(t *testing.T, channel string, n int, text string) string {
	t.Helper()
	now := time.Now().Unix()
	ts := strconv.FormatInt(now, 10)
	body, _ := json.Marshal(text)
	var status int
	var ref string
	switch channel {
	case "telegram":
		status = r.post(t, "/v1/channels/telegram", tgUpdateJSON(int64(1000+n), int64(70+n), text), map[string]string{"X-Telegram-Bot-Api-Secret-Token": "tg-secret"})
		ref = fmt.Sprintf("tg:%d", 70+n)
	case "slack":
		ev := []byte(fmt.Sprintf(`{"type":"event_callback","team_id":"T1","event_id":"Ev%d","event":{"type":"message","user":"U%d","channel":"D%d","ts":"%d.1","text":%s}}`, n, n, n, n, body))
		status = r.post(t, "/v1/channels/slack", ev, map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": slack.Sign("slack-secret", strconv.FormatInt(now, 10), ev)})
		ref = fmt.Sprintf("slack:T1:U%d", n)
	case "webhook":
		hook := []byte(fmt.Sprintf(`{"message_id":"m-%d","customer_id":"c-%d","text":%s}`, n, n, body))
		status = r.post(t, "/v1/channels/webhook", hook, map[string]string{"X-Switchboard-Timestamp": ts, "X-Switchboard-Signature": webhook.Sign("hook-secret", now, hook)})
		ref = fmt.Sprintf("webhook:c-%d", n)
	case "wecom":
		enc, sig, err := r.wc.Seal([]byte(fmt.Sprintf(`<xml><FromUserName>user%d</FromUserName><MsgType>text</MsgType><Content><![CDATA[%s]]></Content><MsgId>%d</MsgId></xml>`, n, text, 5000+n)), ts, "42")
		if err != nil {
			t.Fatal(err)
		}
		status = r.post(t, "/v1/channels/wecom?msg_signature="+sig+"&timestamp="+ts+"&nonce=42", []byte(`<xml><Encrypt>`+enc+`</Encrypt></xml>`), nil)
		ref = fmt.Sprintf("wecom:ww-corp:user%d", n)
	default:
		t.Fatalf("no channel %q", channel)
	}
	if status/100 != 2 {
		t.Fatalf("%s message: status %d", channel, status)
	}
	return ref
}

// ticketOf waits for the ticket of a customer (by pseudonymous id) to be assigned and
// returns its id.
func ticketOf(t *testing.T, store *tickets.Store, customerRef string) string {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var id string
		err := store.Pool().QueryRow(context.Background(), `SELECT t.id FROM tickets t JOIN customers cu ON cu.id = t.customer_id
			WHERE cu.pseudonymous_id = $1 AND t.status IN ('assigned', 'pending') ORDER BY t.created_at DESC LIMIT 1`, customerRef).Scan(&id)
		if err == nil {
			return id
		}
	}
	t.Fatalf("customer %s has no assigned ticket", customerRef)
	return ""
}

// lastBy is the last message by author in msgs.
func lastBy(msgs []tickets.Message, author string) tickets.Message {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Author == author {
			return msgs[i]
		}
	}
	return tickets.Message{}
}

// sentText is the text of one call a fake channel API received.
func sentText(call map[string]any) string {
	if s, ok := call["text"].(string); ok {
		return s
	}
	if m, ok := call["text"].(map[string]any); ok { // WeCom: "text": {"content": …}
		s, _ := m["content"].(string)
		return s
	}
	return ""
}

// waitSent waits until the fake API received want as a message text.
func waitSent(t *testing.T, f *fakeAPI, want string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		f.mu.Lock()
		for _, c := range f.got {
			if sentText(c) == want {
				f.mu.Unlock()
				return
			}
		}
		f.mu.Unlock()
	}
	t.Fatalf("the channel never received %q; calls %v", want, f.got)
}

// TestAgentRepliesReachEveryChannelAsWritten: the conversation (and every staff view)
// keeps an agent's reply redacted, but the customer receives it exactly as typed, on
// every push channel, over REST and in web chat; afterwards no sealed original is left.
func TestAgentRepliesReachEveryChannelAsWritten(t *testing.T) {
	r := newChannelRig(t)
	base := r.http.URL
	ctx := context.Background()
	r.store.HoldOriginals(time.Second, time.Hour)
	sup, agent := r.token(t, "sam", RoleSupervisor), r.token(t, "alice", RoleAgent)
	mustCall(t, 200, base, sup, "PUT", "/v1/skill-groups/support", map[string]any{}, nil)
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/alice", map[string]any{"groups": []string{"support"}, "capacity": 10}, nil)
	mustCall(t, 200, base, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)
	for i, ch := range []struct {
		name string
		api  *fakeAPI
	}{{"telegram", r.telegram}, {"slack", r.slack}, {"webhook", r.hook}, {"wecom", r.wecom}} {
		tk := ticketOf(t, r.store, r.say(t, ch.name, i, "talk to a human"))
		mustCall(t, 201, base, agent, "POST", "/v1/tickets/"+tk+"/replies", map[string]string{"text": agentReply}, nil)
		waitSent(t, ch.api, agentReply)
		var d tickets.TicketDetail
		mustCall(t, 200, base, agent, "GET", "/v1/tickets/"+tk, nil, &d)
		reply := lastBy(d.Messages, "agent:alice")
		if reply.Text != "Call our hotline [PHONE_1] or write to [EMAIL_1]." || reply.Delivery == nil || reply.Delivery.State != "sent" {
			t.Fatalf("%s: the agent's transcript shows %q, delivery %+v", ch.name, reply.Text, reply.Delivery)
		}
	}
	var sealed, sent int
	if err := r.store.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE original_enc IS NOT NULL), count(*) FILTER (WHERE state = 'sent')
		FROM outbox`).Scan(&sealed, &sent); err != nil || sealed != 0 || sent != 4 {
		t.Fatalf("outbox: %d sealed originals left, %d sent (%v); want 0 and 4", sealed, sent, err)
	}

	// REST: the customer's own read shows the reply as written; staff see it redacted.
	cust := r.token(t, "web:asis", RoleCustomer)
	var out MessageReply
	mustCall(t, 200, base, cust, "POST", "/v1/messages", map[string]any{"text": "talk to a human"}, &out)
	if !out.Escalated {
		t.Fatalf("REST turn did not escalate: %+v", out)
	}
	mustCall(t, 201, base, agent, "POST", "/v1/tickets/"+out.TicketID+"/replies", map[string]string{"text": agentReply}, nil)
	lastText := func(token string) string {
		var conv struct{ Messages []tickets.Message }
		mustCall(t, 200, base, token, "GET", "/v1/conversations/"+out.ConversationID, nil, &conv)
		author := "agent:alice"
		if token == cust {
			author = "agent" // customers see staff as "agent"
		}
		return lastBy(conv.Messages, author).Text
	}
	if got := lastText(cust); got != agentReply {
		t.Fatalf("the REST customer reads %q, want %q", got, agentReply)
	}
	if got := lastText(sup); strings.Contains(got, "400-820-1234") {
		t.Fatalf("staff read the original over GET /v1/conversations: %q", got)
	}

	// Web chat: the frame carries the reply as written.
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	chat := dialChat(t, wctx, base, r.token(t, "web:chatasis", RoleCustomer), "")
	chat.say("talk to a human", "h1")
	esc := chat.until(func(f ChatFrame) bool { return f.Type == "reply" && f.Reply.Escalated })
	mustCall(t, 201, base, agent, "POST", "/v1/tickets/"+esc[len(esc)-1].Reply.TicketID+"/replies", map[string]string{"text": agentReply}, nil)
	frames := chat.until(messageFrom("agent"))
	if got := frames[len(frames)-1].Text; got != agentReply {
		t.Fatalf("the web-chat frame reads %q, want %q", got, agentReply)
	}

	// Read once each: after the grace the originals are deleted and reads show the stored text.
	time.Sleep(1200 * time.Millisecond)
	if err := r.worker.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	var held int
	if err := r.store.Pool().QueryRow(ctx, `SELECT count(*) FROM held_originals`).Scan(&held); err != nil || held != 0 {
		t.Fatalf("%d held originals left after their grace (%v)", held, err)
	}
	if got := lastText(cust); got != "Call our hotline [PHONE_1] or write to [EMAIL_1]." {
		t.Fatalf("after the grace the customer reads %q", got)
	}
}

// replyOnTelegram makes a Telegram conversation with a ticket held by alice and
// returns the ticket id.
func replyOnTelegram(t *testing.T, in *instance, chat int, text string) string {
	t.Helper()
	ctx := context.Background()
	svc := in.svc
	if _, err := svc.PutSkillGroup(ctx, "admin", tickets.SkillGroup{ID: "support"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutAgent(ctx, "admin", tickets.Agent{ID: "alice", Groups: []string{"support"}, Capacity: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetAgentStatus(ctx, "alice", tickets.AgentOnline, -1); err != nil {
		t.Fatal(err)
	}
	ref := "tg:" + strconv.Itoa(chat)
	turn, err := in.store.RecordInbound(ctx, tickets.Inbound{Channel: "telegram", ChannelMessageID: "u" + ref, CustomerRef: ref,
		Text: "help", ReplyTo: []byte(`{"chat_id":` + strconv.Itoa(chat) + `}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.store.Pool().Exec(ctx, `UPDATE channel_messages SET state = 'done'`); err != nil { // no bot answer needed
		t.Fatal(err)
	}
	tk, _, err := svc.CreateTicket(ctx, tickets.Actor{ID: "bot"}, tickets.NewTicket{Customer: tickets.Customer{PseudonymousID: ref},
		Channel: "telegram", ConversationID: turn.ConversationID})
	if err != nil || tk.AssigneeID != "alice" {
		t.Fatalf("ticket %+v, %v", tk, err)
	}
	if _, _, err := svc.Reply(ctx, tickets.Actor{ID: "alice"}, tk.ID, text); err != nil {
		t.Fatal(err)
	}
	return tk.ID
}

// downSender is a channel that fails the first fails sends (all when fails < 0).
type downSender struct {
	fails atomic.Int64
	calls atomic.Int64
	sent  atomic.Value
}

func (d *downSender) Send(_ context.Context, _ json.RawMessage, text string) error {
	d.calls.Add(1)
	if d.fails.Load() < 0 || d.fails.Add(-1) >= 0 {
		return errors.New("telegram: POST https://api.telegram.org/bot…/sendMessage: 502 Bad Gateway")
	}
	d.sent.Store(text)
	return nil
}

// deliverUntil runs the worker's delivery until done says so (or 15 s pass).
func deliverUntil(t *testing.T, w *flow.Worker, done func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !done(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("delivery did not get there in 15 s")
		}
		if _, err := w.DeliverOne(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDeliveryOutlastsAnOutageThenDeadLetters (M6): a channel that is down for longer
// than the old budget of 5 attempts still gets the reply once it is back; one down for
// longer than queue.retry_for makes the reply a dead letter, visible in the metrics
// and the ticket API, and a re-queue sends it.
func TestDeliveryOutlastsAnOutageThenDeadLetters(t *testing.T) {
	in := newInstance(t, newPool(t), "dead"+strings.ToLower(t.Name()))
	ctx := context.Background()
	ticketID := replyOnTelegram(t, in, 5, "our hotline is 400-820-1234")
	reg := prometheus.NewRegistry()
	down := &downSender{}
	down.fails.Store(8)
	w := &flow.Worker{Store: in.store, Outbound: map[string]flow.Sender{"telegram": down}, Log: slog.New(slog.DiscardHandler),
		Retry:   tickets.RetryPolicy{For: time.Minute, Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond},
		Metrics: flow.NewQueueMetrics(reg)}
	deliverUntil(t, w, func() bool { return down.sent.Load() != nil })
	if down.calls.Load() != 9 || down.sent.Load() != "our hotline is 400-820-1234" {
		t.Fatalf("%d sends, delivered %v; want the agent's text on the 9th", down.calls.Load(), down.sent.Load())
	}

	// Down for longer than the retry window: a dead letter.
	agent := in.token(t, "alice", RoleAgent)
	if _, _, err := in.svc.Reply(ctx, tickets.Actor{ID: "alice"}, ticketID, "still there?"); err != nil {
		t.Fatal(err)
	}
	down.fails.Store(-1)
	w.Retry.For = 300 * time.Millisecond
	deliverUntil(t, w, func() bool {
		return metricValue(t, reg, "switchboard_queue_results_total", map[string]string{"queue": "outbox", "channel": "telegram", "result": "dead_lettered"}) == 1
	})
	if err := w.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if n := metricValue(t, reg, "switchboard_queue_rows", map[string]string{"queue": "outbox", "channel": "telegram", "state": "failed"}); n != 1 {
		t.Fatalf(`switchboard_queue_rows{queue="outbox",channel="telegram",state="failed"} = %v, want 1`, n)
	}
	if n := metricValue(t, reg, "switchboard_queue_results_total", map[string]string{"queue": "outbox", "channel": "telegram", "result": "retried"}); n < 8 {
		t.Fatalf("retried counter %v, want ≥ 8", n)
	}
	var d tickets.TicketDetail
	mustCall(t, 200, in.http.URL, agent, "GET", "/v1/tickets/"+ticketID, nil, &d)
	last := lastBy(d.Messages, "agent:alice")
	if last.Delivery == nil || last.Delivery.State != "failed" || last.Delivery.Attempts < 1 || !strings.Contains(last.Delivery.Error, "502") {
		t.Fatalf("the undelivered reply's delivery: %+v", last.Delivery)
	}
	if first := d.Messages[slices.IndexFunc(d.Messages, func(m tickets.Message) bool { return m.Author == "agent:alice" })]; first.Delivery == nil || first.Delivery.State != "sent" || first.Delivery.Attempts != 9 {
		t.Fatalf("the delivered reply's delivery: %+v", first.Delivery)
	}

	// Back up and re-queued: sent.
	down.fails.Store(0)
	if n, err := in.store.RequeueFailed(ctx, "cli", tickets.Requeue{Channel: "telegram"}); err != nil || n != 1 {
		t.Fatalf("re-queued %d, %v", n, err)
	}
	deliverUntil(t, w, func() bool { return down.sent.Load() == "still there?" })
	if err := w.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if n := metricValue(t, reg, "switchboard_queue_rows", map[string]string{"queue": "outbox", "channel": "telegram", "state": "failed"}); n != 0 {
		t.Fatalf("failed rows after the retry: %v", n)
	}
}

// panickingRecorder is the queue whose recording of an answer panics.
type panickingRecorder struct{ flow.TurnQueue }

func (panickingRecorder) RecordReply(context.Context, tickets.TurnReply) error {
	panic("reply log blew up")
}

type panickingSender struct{}

func (panickingSender) Send(context.Context, json.RawMessage, string) error { panic("sender blew up") }

// TestPanicsFailTheAttemptNotTheWorker (M7): a turn whose answering panics (here the
// recording of its reply; a stage's panic is the pipeline's to recover) and a send that panics are recovered: the worker goes on, the
// attempt counts as failed (and is retried), and switchboard_panics_total rises.
func TestPanicsFailTheAttemptNotTheWorker(t *testing.T) {
	in := newInstance(t, newPool(t), "panic"+strings.ToLower(t.Name()))
	ctx := context.Background()
	replyOnTelegram(t, in, 6, "hello")
	if _, err := in.store.RecordInbound(ctx, tickets.Inbound{Channel: "webhook", ChannelMessageID: "p1", CustomerRef: "webhook:p",
		Text: "voice note", ReplyTo: []byte(`{"customer_id":"p"}`)}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	w := &flow.Worker{Store: panickingRecorder{in.store}, Process: answeringPipeline(nil), Outbound: map[string]flow.Sender{"telegram": panickingSender{}},
		Log: slog.New(slog.DiscardHandler), Panics: safe.New(reg, slog.New(slog.DiscardHandler))}
	for range 2 { // the reply, then the turn
		if did, err := w.Once(ctx); !did || err != nil {
			t.Fatalf("Once: %v, %v", did, err)
		}
	}
	for _, q := range []string{
		`SELECT state, attempts, attempts_settled, last_error FROM outbox`,
		`SELECT state, attempts, attempts_settled, last_error FROM channel_messages WHERE channel = 'webhook'`,
	} {
		var state, lastErr string
		var attempts, settled int
		if err := in.store.Pool().QueryRow(ctx, q).Scan(&state, &attempts, &settled, &lastErr); err != nil {
			t.Fatal(err)
		}
		if state != "pending" || attempts != 1 || settled != 1 || !strings.Contains(lastErr, "blew up") {
			t.Errorf("%s: %s, attempt %d settled %d, %q; want a failed attempt to retry", q, state, attempts, settled, lastErr)
		}
	}
	got, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byWhere := map[string]float64{}
	for _, mf := range got {
		if mf.GetName() == "switchboard_panics_total" {
			for _, m := range mf.GetMetric() {
				byWhere[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
		}
	}
	if byWhere["worker.deliver"] != 1 || byWhere["worker.answer"] != 1 {
		t.Fatalf("switchboard_panics_total by where: %v", byWhere)
	}
}

// metricValue is the value of the series of name with exactly these labels (0 when
// there is none).
func metricValue(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if !maps.Equal(got, labels) {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}
