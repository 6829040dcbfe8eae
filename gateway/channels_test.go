package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/channel/channeltest"
	"github.com/switchboard-cs/switchboard/gateway/channel/slack"
	"github.com/switchboard-cs/switchboard/gateway/channel/telegram"
	"github.com/switchboard-cs/switchboard/gateway/channel/webhook"
	"github.com/switchboard-cs/switchboard/gateway/channel/wecom"
	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/tickets"
)

// fakeAPI is a local server speaking just enough of a channel's API to
// record what Switchboard sends it.
type fakeAPI struct {
	*httptest.Server
	mu   sync.Mutex
	got  []map[string]any
	hdrs []http.Header
	// fault, when set, is how the API misbehaves: "drop" closes the connection
	// (a transport error), "hang" answers nothing until the client gives up.
	fault atomic.Value
}

func newFakeAPI(t *testing.T, answer string) *fakeAPI {
	f := &fakeAPI{}
	f.fault.Store("")
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch f.fault.Load() {
		case "drop":
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		case "hang":
			channeltest.HangUp(w, r)
			return
		}
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body == nil {
			body = map[string]any{}
		}
		body["_path"] = r.URL.Path
		f.mu.Lock()
		f.got = append(f.got, body)
		f.hdrs = append(f.hdrs, r.Header.Clone())
		f.mu.Unlock()
		io.WriteString(w, answer)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

// waitFor polls until n calls arrived and returns them.
func (f *fakeAPI) waitFor(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		if len(f.got) >= n {
			out := append([]map[string]any(nil), f.got...)
			f.mu.Unlock()
			return out
		}
		f.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("fake API got %d calls, want %d", len(f.got), n)
	return nil
}

type channelRig struct {
	*instance
	telegram, slack, hook, wecom *fakeAPI
	wc                           *wecom.Channel
	worker                       *flow.Worker
}

// rigOptions are a rig's channel credentials (the leak test sets canaries), the
// channels' HTTP client (nil: http.DefaultClient) and the worker's retry policy.
type rigOptions struct {
	tgToken, slackToken, wecomSecret, wecomAccessToken string
	client                                             *http.Client
	retry                                              tickets.RetryPolicy
}

// newChannelRig runs a gateway with all webhook channels pointed at local
// fake APIs, and a queue worker.
func newChannelRig(t *testing.T, opts ...func(*rigOptions)) *channelRig {
	cred := rigOptions{tgToken: "123:ABC", slackToken: "xoxb-1", wecomSecret: "app-secret", wecomAccessToken: "tok-1"}
	for _, o := range opts {
		o(&cred)
	}
	r := &channelRig{telegram: newFakeAPI(t, `{"ok":true,"result":{}}`), slack: newFakeAPI(t, `{"ok":true}`), hook: newFakeAPI(t, `{}`),
		wecom: newFakeAPI(t, `{"errcode":0,"errmsg":"ok","access_token":"`+cred.wecomAccessToken+`","expires_in":7200}`)}
	var err error
	if r.wc, err = wecom.New("ww-corp", "1000002", cred.wecomSecret, "cb-token", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", r.wecom.URL, cred.client); err != nil {
		t.Fatal(err)
	}
	outbound := map[string]flow.Sender{}
	w := &flow.Worker{Outbound: outbound, Log: slog.New(slog.DiscardHandler), Poll: time.Second, Redactor: piiRedactor{pii.NewRedactor()},
		Retry: cred.retry}
	r.worker = w
	tg := &telegram.Channel{BotToken: cred.tgToken, SecretToken: "tg-secret", APIBase: r.telegram.URL, Client: cred.client}
	fetchers := func(d *flow.Deps) { d.Fetchers = map[string]flow.MediaFetcher{"telegram": tg, "wecom": r.wc} }
	r.instance = newInstanceWith(t, newPool(t), "chan"+strings.ToLower(t.Name()), newRealBrain(t), fetchers, func(o *Options) {
		sl := &slack.Channel{SigningSecret: "slack-secret", BotToken: cred.slackToken, APIBase: r.slack.URL, Client: cred.client}
		hook := &webhook.Channel{Secret: "hook-secret", CallbackURL: r.hook.URL + "/callback", Client: cred.client}
		o.Channels = append(o.Channels, tg, sl, hook, r.wc)
		outbound["telegram"], outbound["slack"], outbound["webhook"], outbound["wecom"] = tg, sl, hook, r.wc
		o.Wake = w.Wake
	})
	w.Store, w.Process, w.Log = r.store, r.srv.opts.Process, r.srv.log
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func (r *channelRig) post(t *testing.T, path string, body []byte, hdr map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", r.http.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func tgUpdateJSON(updateID, userID int64, text string) []byte {
	b, _ := json.Marshal(map[string]any{"update_id": updateID, "message": map[string]any{
		"message_id": updateID, "date": 1, "text": text,
		"from": map[string]any{"id": userID, "is_bot": false, "first_name": "Ming"},
		"chat": map[string]any{"id": userID, "type": "private"}}})
	return b
}

func TestTelegramChannelEndToEnd(t *testing.T) {
	r := newChannelRig(t)
	sec := map[string]string{"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
	if got := r.post(t, "/v1/channels/telegram", tgUpdateJSON(1, 555, "refund?"), map[string]string{"X-Telegram-Bot-Api-Secret-Token": "wrong"}); got != 401 {
		t.Fatalf("wrong secret token: %d, want 401", got)
	}
	for range 2 { // Telegram redelivers when it misses our 200: processed once
		if got := r.post(t, "/v1/channels/telegram", tgUpdateJSON(1, 555, "how long does a refund take?"), sec); got != 200 {
			t.Fatalf("update: %d", got)
		}
	}
	calls := r.telegram.waitFor(t, 1)
	if calls[0]["_path"] != "/bot123:ABC/sendMessage" || calls[0]["chat_id"] != float64(555) ||
		calls[0]["text"] != "Refunds arrive within 5 working days." {
		t.Fatalf("sendMessage call %v", calls[0])
	}
	// Asking for a human escalates; the agent's reply reaches the Telegram chat.
	sup, agent := r.token(t, "sam", RoleSupervisor), r.token(t, "alice", RoleAgent)
	mustCall(t, 200, r.http.URL, sup, "PUT", "/v1/skill-groups/support", map[string]any{}, nil)
	mustCall(t, 200, r.http.URL, sup, "PUT", "/v1/agents/alice", map[string]any{"groups": []string{"support"}, "capacity": 2}, nil)
	mustCall(t, 200, r.http.URL, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)
	if got := r.post(t, "/v1/channels/telegram", tgUpdateJSON(2, 555, "我要投诉，转人工"), sec); got != 200 {
		t.Fatalf("update 2: %d", got)
	}
	calls = r.telegram.waitFor(t, 2)
	if calls[1]["text"] != "正在为您转接人工客服，请稍候。" {
		t.Fatalf("handover message %v", calls[1])
	}
	var q tickets.Queue
	mustCall(t, 200, r.http.URL, agent, "GET", "/v1/me/queue", nil, &q)
	if len(q.Mine) != 1 {
		t.Fatalf("alice's queue %+v", q)
	}
	mustCall(t, 201, r.http.URL, agent, "POST", "/v1/tickets/"+q.Mine[0].ID+"/replies", map[string]string{"text": "Hello Ming, I am Alice."}, nil)
	calls = r.telegram.waitFor(t, 3)
	if calls[2]["text"] != "Hello Ming, I am Alice." || calls[2]["chat_id"] != float64(555) {
		t.Fatalf("agent reply on Telegram %v", calls[2])
	}
	// The customer answers in the same chat: it is the agent's conversation, so the
	// message joins the ticket and the bot says nothing.
	if got := r.post(t, "/v1/channels/telegram", tgUpdateJSON(3, 555, "thanks, how long does a refund take?"), sec); got != 200 {
		t.Fatalf("update 3: %d", got)
	}
	ctx := context.Background()
	waitProcessed(t, r.store, "telegram", "3")
	if n := r.telegram.count(); n != 3 {
		t.Fatalf("%d sendMessage calls, want 3: the bot must not answer in the agent's conversation", n)
	}
	var d tickets.TicketDetail
	mustCall(t, 200, r.http.URL, agent, "GET", "/v1/tickets/"+q.Mine[0].ID, nil, &d)
	if last := d.Messages[len(d.Messages)-1]; last.Author != "customer" || !strings.Contains(last.Text, "thanks") || d.Ticket.Status != tickets.StatusAssigned {
		t.Fatalf("ticket after the customer's answer: status %s, last message %+v", d.Ticket.Status, last)
	}
	var n int
	if err := r.store.Pool().QueryRow(ctx, `SELECT count(DISTINCT conversation_id) FROM channel_messages WHERE channel = 'telegram'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the chat's 3 updates are in %d conversations (%v), want 1", n, err)
	}
}

func TestSlackChannelVerifiesAndRepliesInThread(t *testing.T) {
	r := newChannelRig(t)
	now := time.Now().Unix()
	signed := func(body []byte, ts int64, secret string) map[string]string {
		return map[string]string{"X-Slack-Request-Timestamp": strconv.FormatInt(ts, 10), "X-Slack-Signature": slack.Sign(secret, strconv.FormatInt(ts, 10), body)}
	}
	challenge := []byte(`{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","token":"x"}`)
	req, _ := http.NewRequest("POST", r.http.URL+"/v1/channels/slack", bytes.NewReader(challenge))
	for k, v := range signed(challenge, now, "slack-secret") {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ch struct{ Challenge string }
	json.NewDecoder(resp.Body).Decode(&ch)
	resp.Body.Close()
	if resp.StatusCode != 200 || ch.Challenge != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("url_verification: %d %+v", resp.StatusCode, ch)
	}
	event := []byte(`{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"message","channel_type":"im",
		"user":"U9","text":"how long does a refund take?","channel":"D42","ts":"1700000000.000100"}}`)
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"bad signature", signed(event, now, "other-secret"), 401},
		{"replayed old request", signed(event, now-600, "slack-secret"), 401},
		{"good", signed(event, now, "slack-secret"), 200},
		{"retry of the same event", signed(event, now, "slack-secret"), 200},
	} {
		if got := r.post(t, "/v1/channels/slack", event, tc.hdr); got != tc.want {
			t.Fatalf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	bot := []byte(`{"type":"event_callback","team_id":"T1","event_id":"Ev2","event":{"type":"message","bot_id":"B1","text":"echo","channel":"D42","ts":"1"}}`)
	if got := r.post(t, "/v1/channels/slack", bot, signed(bot, now, "slack-secret")); got != 200 {
		t.Fatalf("bot message: %d", got)
	}
	calls := r.slack.waitFor(t, 1)
	time.Sleep(200 * time.Millisecond)
	if r.slack.count() != 1 || calls[0]["_path"] != "/chat.postMessage" || calls[0]["channel"] != "D42" ||
		calls[0]["thread_ts"] != "1700000000.000100" || calls[0]["text"] != "Refunds arrive within 5 working days." {
		t.Fatalf("chat.postMessage calls %v", r.slack.got)
	}
	if auth := r.slack.hdrs[0].Get("Authorization"); auth != "Bearer xoxb-1" {
		t.Fatalf("Authorization %q", auth)
	}
	// "talk to a human" escalates; the agent's reply lands in the same thread.
	sup, agent := r.token(t, "sam", RoleSupervisor), r.token(t, "alice", RoleAgent)
	mustCall(t, 200, r.http.URL, sup, "PUT", "/v1/skill-groups/support", map[string]any{}, nil)
	mustCall(t, 200, r.http.URL, sup, "PUT", "/v1/agents/alice", map[string]any{"groups": []string{"support"}, "capacity": 2}, nil)
	mustCall(t, 200, r.http.URL, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)
	human := []byte(`{"type":"event_callback","team_id":"T1","event_id":"Ev3","event":{"type":"message","user":"U9",
		"text":"talk to a human","channel":"D42","ts":"1700000000.000300","thread_ts":"1700000000.000100"}}`)
	if got := r.post(t, "/v1/channels/slack", human, signed(human, time.Now().Unix(), "slack-secret")); got != 200 {
		t.Fatalf("escalation event: %d", got)
	}
	calls = r.slack.waitFor(t, 2)
	if calls[1]["text"] != "I'm connecting you with a human agent now." {
		t.Fatalf("handover %v", calls[1])
	}
	var q tickets.Queue
	mustCall(t, 200, r.http.URL, agent, "GET", "/v1/me/queue", nil, &q)
	if len(q.Mine) != 1 {
		t.Fatalf("alice's queue %+v", q)
	}
	mustCall(t, 201, r.http.URL, agent, "POST", "/v1/tickets/"+q.Mine[0].ID+"/replies", map[string]string{"text": "Hi, Alice here."}, nil)
	calls = r.slack.waitFor(t, 3)
	if calls[2]["text"] != "Hi, Alice here." || calls[2]["channel"] != "D42" || calls[2]["thread_ts"] != "1700000000.000100" {
		t.Fatalf("agent reply on Slack %v", calls[2])
	}
}

func TestGenericWebhookIsSignedBothWays(t *testing.T) {
	r := newChannelRig(t)
	body := []byte(`{"message_id":"42","customer_id":"crm-7","text":"How long does a refund take?"}`)
	now := time.Now().Unix()
	hdr := func(sig string, ts int64) map[string]string {
		return map[string]string{"X-Switchboard-Timestamp": strconv.FormatInt(ts, 10), "X-Switchboard-Signature": sig}
	}
	if got := r.post(t, "/v1/channels/webhook", body, hdr("sha256=00", now)); got != 401 {
		t.Fatalf("bad signature: %d", got)
	}
	if got := r.post(t, "/v1/channels/webhook", body, hdr(webhook.Sign("hook-secret", now-3600, body), now-3600)); got != 401 {
		t.Fatalf("stale timestamp: %d", got)
	}
	if got := r.post(t, "/v1/channels/webhook", []byte(`{"text":"x"}`), hdr(webhook.Sign("hook-secret", now, []byte(`{"text":"x"}`)), now)); got != 400 {
		t.Fatalf("missing ids: %d", got)
	}
	if got := r.post(t, "/v1/channels/webhook", body, hdr(webhook.Sign("hook-secret", now, body), now)); got != 202 {
		t.Fatalf("good request: %d", got)
	}
	calls := r.hook.waitFor(t, 1)
	if calls[0]["_path"] != "/callback" || calls[0]["customer_id"] != "crm-7" || calls[0]["text"] != "Refunds arrive within 5 working days." {
		t.Fatalf("callback %v", calls[0])
	}
	h := r.hook.hdrs[0]
	sent, _ := json.Marshal(map[string]string{"customer_id": "crm-7", "text": "Refunds arrive within 5 working days."})
	ts, _ := strconv.ParseInt(h.Get("X-Switchboard-Timestamp"), 10, 64)
	if h.Get("X-Switchboard-Signature") != webhook.Sign("hook-secret", ts, sent) {
		t.Fatalf("callback signature %q does not verify", h.Get("X-Switchboard-Signature"))
	}
}

func TestChannelsOffWithoutSecrets(t *testing.T) {
	in := newInstance(t, newPool(t), "off"+strings.ToLower(t.Name()))
	for _, path := range []string{"/v1/channels/telegram", "/v1/channels/slack", "/v1/channels/webhook"} {
		if got := call(t, in.http.URL, "", "POST", path, `{}`, nil); got != 404 {
			t.Errorf("%s without configuration: %d, want 404", path, got)
		}
	}
}

func TestWeComChannelDecryptsVerifiesAndReplies(t *testing.T) {
	r := newChannelRig(t)
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), "1372623149"
	echo, sig, err := r.wc.Seal([]byte("echo-4711"), ts, nonce)
	if err != nil {
		t.Fatal(err)
	}
	q := "?msg_signature=" + sig + "&timestamp=" + ts + "&nonce=" + nonce + "&echostr=" + url.QueryEscape(echo)
	resp, err := http.Get(r.http.URL + "/v1/channels/wecom" + q)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "echo-4711" {
		t.Fatalf("URL verification: %d %q", resp.StatusCode, body)
	}
	if got := call(t, r.http.URL, "", "GET", "/v1/channels/wecom?msg_signature=bad&timestamp="+ts+"&nonce="+nonce+"&echostr="+url.QueryEscape(echo), nil, nil); got != 401 {
		t.Fatalf("bad signature on verification: %d", got)
	}
	msg := []byte(`<xml><ToUserName><![CDATA[ww-corp]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>` +
		`<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[退款多久到账？]]></Content>` +
		`<MsgId>1234567890123456</MsgId><AgentID>1000002</AgentID></xml>`)
	enc, sig, err := r.wc.Seal(msg, ts, nonce)
	if err != nil {
		t.Fatal(err)
	}
	envelope := []byte(`<xml><ToUserName><![CDATA[ww-corp]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID><Encrypt><![CDATA[` + enc + `]]></Encrypt></xml>`)
	path := "/v1/channels/wecom?msg_signature=" + sig + "&timestamp=" + ts + "&nonce=" + nonce
	if got := r.post(t, "/v1/channels/wecom?msg_signature=0000&timestamp="+ts+"&nonce="+nonce, envelope, nil); got != 401 {
		t.Fatalf("bad msg_signature: %d", got)
	}
	for range 2 {
		if got := r.post(t, path, envelope, nil); got != 200 {
			t.Fatalf("callback: %d", got)
		}
	}
	calls := r.wecom.waitFor(t, 2) // gettoken, then message/send
	send := calls[1]
	text, _ := send["text"].(map[string]any)
	if calls[0]["_path"] != "/cgi-bin/gettoken" || send["_path"] != "/cgi-bin/message/send" || send["touser"] != "zhangsan" ||
		send["agentid"] != "1000002" || text["content"] != "退款将在5个工作日内到账。" {
		t.Fatalf("WeCom API calls %v", calls)
	}
	time.Sleep(200 * time.Millisecond)
	if n := r.wecom.count(); n != 2 {
		t.Fatalf("%d WeCom API calls, want 2 (redelivery answered once)", n)
	}
}

// TestChannelsStoreARedeliveryOnce runs the contract's "stored once" end to end, through
// the server, the flow and PostgreSQL, for the channels of the rig: a platform that
// delivers the same message twice (its webhook timed out, say) gets both acknowledged,
// and the conversation holds the message once and the customer one answer. (The contract
// suite checks every registered channel's half: a redelivery keeps its key.)
func TestChannelsStoreARedeliveryOnce(t *testing.T) {
	r := newChannelRig(t)
	apis := map[string]*fakeAPI{"telegram": r.telegram, "slack": r.slack, "webhook": r.hook, "wecom": r.wecom}
	for _, name := range []string{"telegram", "slack", "webhook", "wecom"} {
		t.Run(name, func(t *testing.T) {
			api := apis[name]
			before := api.count()
			ref := r.say(t, name, 61, "how long does a refund take?")
			r.say(t, name, 61, "how long does a refund take?")
			var rows, msgs int
			if err := r.store.Pool().QueryRow(context.Background(), `SELECT
					(SELECT count(*) FROM channel_messages cm JOIN customers cu ON cu.id = cm.customer_id WHERE cu.pseudonymous_id = $1),
					(SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN customers cu ON cu.id = c.customer_id
						WHERE cu.pseudonymous_id = $1 AND m.author = 'customer')`, ref).Scan(&rows, &msgs); err != nil {
				t.Fatal(err)
			}
			if rows != 1 || msgs != 1 {
				t.Fatalf("%s: %d turns and %d customer messages stored for one message delivered twice", name, rows, msgs)
			}
			api.waitFor(t, before+1)
			time.Sleep(200 * time.Millisecond)
			want := 1 // the answer
			if name == "wecom" {
				want = 2 // gettoken, then the answer
			}
			if n := api.count() - before; n != want {
				t.Fatalf("%s: %d API calls for one message delivered twice, want %d", name, n, want)
			}
		})
	}
}
