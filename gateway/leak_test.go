package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cs/switchboard/gateway/channel/slack"
	"github.com/switchboard-cs/switchboard/gateway/channel/webhook"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/tickets"
)

// lockedBuffer collects log lines from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// seededPII are raw values that must never be stored, logged or exported.
var seededPII = []string{
	"13812345678", "138-1234-5678", // mobile, two notations
	"leak.test@example.com", // email
	"11010519491231002X",    // 身份证号 with a valid check digit
	"4111111111111111",      // Luhn-valid card
	"203.0.113.77",          // IPv4
	"7946 0958",             // a London number, written the national way
	"12/03/1985",            // a date of birth
	"zz9988yy7766",          // a password-reset link's token
	"Ming",                  // a display name (the Telegram sender's first_name)
}

const piiText = "我的手机 13812345678，也可以打 138-1234-5678，邮箱 leak.test@example.com，身份证 11010519491231002X，" +
	"card 4111111111111111, my IP is 203.0.113.77, office 020 7946 0958, born on 12/03/1985, " +
	"reset link https://shop.example.com/reset?token=zz9988yy7766. refund please"

// Canaries: channel credentials that must never appear in an error, a log line, a
// column or a metric, even when a channel API refuses the connection or times out.
const (
	canaryBotToken    = "7000001:AAcanaryTelegramBotToken"
	canarySlackToken  = "xoxb-canary-slack-bot-token"
	canaryWeComSecret = "canary-wecom-corp-secret"
	canaryAccessToken = "canary-wecom-access-token"
)

// TestNoRawPIIAnywhere sends a conversation full of seeded PII through every
// channel and an escalation with agent replies, then scans every PostgreSQL
// table, the Redis keys and values, the logs and /metrics. Agents' replies
// carry their own hotline and address: each channel's customer receives them
// as written, and nothing else keeps them. Then every channel API fails (a
// dropped connection, a timeout) and the errors must not name a credential.
func TestNoRawPIIAnywhere(t *testing.T) {
	logs := &lockedBuffer{}
	instanceLog = logs
	defer func() { instanceLog = nil }()
	r := newChannelRig(t, func(o *rigOptions) {
		o.tgToken, o.slackToken, o.wecomSecret, o.wecomAccessToken = canaryBotToken, canarySlackToken, canaryWeComSecret, canaryAccessToken
		o.client = &http.Client{Timeout: 500 * time.Millisecond}
		o.retry = tickets.RetryPolicy{Backoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	})

	sup, agent := r.token(t, "sam", RoleSupervisor), r.token(t, "alice", RoleAgent)
	mustCall(t, 200, r.http.URL, sup, "PUT", "/v1/skill-groups/support", map[string]any{}, nil)
	mustCall(t, 200, r.http.URL, sup, "PUT", "/v1/agents/alice", map[string]any{"groups": []string{"support"}, "capacity": 30}, nil)
	mustCall(t, 200, r.http.URL, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)

	// REST, with an escalation and the agent's replies (which also carry PII).
	cust := r.token(t, "web:leak", RoleCustomer)
	var rest MessageReply
	mustCall(t, 200, r.http.URL, cust, "POST", "/v1/messages", map[string]any{"text": piiText}, &rest)
	mustCall(t, 200, r.http.URL, cust, "POST", "/v1/messages", map[string]any{"text": piiText + " human please", "conversation_id": rest.ConversationID}, &rest)
	if !rest.Escalated {
		t.Fatalf("REST conversation did not escalate: %+v", rest)
	}
	mustCall(t, 201, r.http.URL, agent, "POST", "/v1/tickets/"+rest.TicketID+"/replies", map[string]string{"text": "Noted 13812345678 and leak.test@example.com"}, nil)
	mustCall(t, 201, r.http.URL, agent, "POST", "/v1/tickets/"+rest.TicketID+"/replies", map[string]string{"text": agentReply}, nil)
	var conv struct{ Messages []tickets.Message }
	mustCall(t, 200, r.http.URL, cust, "GET", "/v1/conversations/"+rest.ConversationID, nil, &conv)
	if got := lastBy(conv.Messages, "agent").Text; got != agentReply { // customers see staff as "agent"
		t.Fatalf("the REST customer reads %q, want the agent's text", got)
	}
	mustCall(t, 201, r.http.URL, sup, "POST", "/v1/tickets", map[string]any{"customer": map[string]any{"pseudonymous_id": "crm:9",
		"email": "leak.test@example.com", "phone": "13812345678"}, "subject": "call 13812345678", "message": piiText}, nil)

	// Telegram, Slack, generic webhook and WeCom.
	r.post(t, "/v1/channels/telegram", tgUpdateJSON(901, 77, piiText+" human"), map[string]string{"X-Telegram-Bot-Api-Secret-Token": "tg-secret"})
	now := time.Now().Unix()
	ev := []byte(`{"type":"event_callback","team_id":"T1","event_id":"EvLeak","event":{"type":"message","user":"U1","channel":"D1","ts":"1.2","text":"` + piiText + `"}}`)
	r.post(t, "/v1/channels/slack", ev, map[string]string{"X-Slack-Request-Timestamp": strconv.FormatInt(now, 10), "X-Slack-Signature": slack.Sign("slack-secret", strconv.FormatInt(now, 10), ev)})
	hook := []byte(`{"message_id":"leak-1","customer_id":"c-1","text":"` + piiText + `"}`)
	r.post(t, "/v1/channels/webhook", hook, map[string]string{"X-Switchboard-Timestamp": strconv.FormatInt(now, 10), "X-Switchboard-Signature": webhook.Sign("hook-secret", now, hook)})
	ts, nonce := strconv.FormatInt(now, 10), "42"
	enc, sig, _ := r.wc.Seal([]byte(`<xml><FromUserName>lisi</FromUserName><MsgType>text</MsgType><Content>`+piiText+`</Content><MsgId>77</MsgId></xml>`), ts, nonce)
	r.post(t, "/v1/channels/wecom?msg_signature="+sig+"&timestamp="+ts+"&nonce="+nonce, []byte(`<xml><Encrypt>`+enc+`</Encrypt></xml>`), nil)
	r.telegram.waitFor(t, 1)
	r.slack.waitFor(t, 1)
	r.hook.waitFor(t, 1)
	r.wecom.waitFor(t, 2)

	// On every push channel an agent's reply arrives as written.
	apis := map[string]*fakeAPI{"telegram": r.telegram, "slack": r.slack, "webhook": r.hook, "wecom": r.wecom}
	held := map[string]string{} // channel → ticket held by alice
	for i, ch := range []string{"telegram", "slack", "webhook", "wecom"} {
		held[ch] = ticketOf(t, r.store, r.say(t, ch, 20+i, "talk to a human"))
		mustCall(t, 201, r.http.URL, agent, "POST", "/v1/tickets/"+held[ch]+"/replies", map[string]string{"text": agentReply}, nil)
		waitSent(t, apis[ch], agentReply)
	}
	scan(t, r, append(append([]string{}, seededPII...), agentPII...), "[PHONE_1]", "[ID_CARD_1]")

	// Every channel API fails: connections dropped, WeCom hangs past the client's
	// timeout (message/send with the cached access token, then gettoken with the
	// secret). Agents' replies, a bot answer and a photo download fail and are retried.
	for _, api := range []*fakeAPI{r.telegram, r.slack, r.hook} {
		api.fault.Store("drop")
	}
	r.wecom.fault.Store("hang")
	for _, ch := range []string{"telegram", "slack", "webhook", "wecom"} {
		mustCall(t, 201, r.http.URL, agent, "POST", "/v1/tickets/"+held[ch]+"/replies", map[string]string{"text": agentReply}, nil)
	}
	r.say(t, "telegram", 30, "how long does a refund take?")
	photo, _ := json.Marshal(map[string]any{"update_id": 1031, "message": map[string]any{"message_id": 31, "date": 1,
		"from": map[string]any{"id": 131, "is_bot": false, "first_name": "Ming"}, "chat": map[string]any{"id": 131, "type": "private"},
		"photo": []map[string]any{{"file_id": "F-31"}}}})
	r.post(t, "/v1/channels/telegram", photo, map[string]string{"X-Telegram-Bot-Api-Secret-Token": "tg-secret"})
	waitRows(t, r, `SELECT count(*) FROM channel_messages WHERE message_id = '1031' AND last_error IS NOT NULL`, 1)
	waitRows(t, r, `SELECT count(*) FROM outbox WHERE last_error IS NOT NULL AND state = 'pending'`, 4)
	waitRows(t, r, `SELECT count(*) FROM channel_messages WHERE channel = 'telegram' AND last_error LIKE '%sendMessage%'`, 1)
	r.wc.ExpireToken() // the cached access token expired: the next send asks gettoken, which hangs too
	waitRows(t, r, `SELECT count(*) FROM outbox WHERE channel = 'wecom' AND last_error LIKE '%gettoken%'`, 1)
	all := scan(t, r, []string{canaryBotToken, canarySlackToken, canaryWeComSecret, canaryAccessToken, "AAcanary", "canary-wecom"}, "/bot…/")
	for _, proof := range []string{"access_token=…", "corpsecret=…", "getFile", "Timeout"} {
		if !strings.Contains(all, proof) {
			t.Errorf("no error mentions %q: the failures did not happen as planned", proof)
		}
	}
}

// waitRows waits until query counts at least n rows.
func waitRows(t *testing.T, r *channelRig, query string, n int) {
	t.Helper()
	var got int
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := r.store.Pool().QueryRow(context.Background(), query).Scan(&got); err == nil && got >= n {
			return
		}
	}
	t.Fatalf("%s: %d rows, want %d", query, got, n)
}

// scan reads every PostgreSQL table, the Redis keys and values under the rig's
// prefix, the logs and /metrics, fails the test for each forbidden string found
// there, checks that every proof is there (so the scan looked in the right
// place), and returns what it read.
func scan(t *testing.T, r *channelRig, forbidden []string, proofs ...string) string {
	t.Helper()
	ctx := context.Background()
	var haystacks []string
	// Every table, every row, as text.
	pool := r.store.Pool()
	tables, _ := pgx.CollectRows(must(pool.Query(ctx, `SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'`)), pgx.RowTo[string])
	if len(tables) < 10 {
		t.Fatalf("only %d tables found", len(tables))
	}
	for _, tbl := range tables {
		rows, err := pgx.CollectRows(must(pool.Query(ctx, `SELECT t::text FROM `+tbl+` t`)), pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		haystacks = append(haystacks, rows...)
	}
	// Every Redis key and value under the instance's prefix.
	rdb, _ := testenv.Redis(t)
	keys, err := rdb.Keys(ctx, "*chantestnorawpiianywhere*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("redis keys: %d, %v", len(keys), err)
	}
	for _, k := range keys {
		haystacks = append(haystacks, k, rdb.Dump(ctx, k).Val())
	}
	resp, err := http.Get(r.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	haystacks = append(haystacks, r.logs(), string(metrics))
	if !strings.Contains(r.logs(), "{") {
		t.Fatal("no log lines captured")
	}
	all := strings.Join(haystacks, "\n")
	for _, raw := range forbidden {
		if i := strings.Index(all, raw); i >= 0 {
			t.Errorf("raw %q found: …%s…", raw, all[max(0, i-120):min(len(all), i+60)])
		}
	}
	for _, p := range proofs {
		if !strings.Contains(all, p) {
			t.Fatalf("%q is nowhere: the scan looked in the wrong place", p)
		}
	}
	return all
}

// logs is what the rig's instance logged (the leak test points instanceLog at a buffer).
func (r *channelRig) logs() string {
	if b, ok := instanceLog.(*lockedBuffer); ok {
		return b.String()
	}
	return ""
}

func must(rows pgx.Rows, err error) pgx.Rows {
	if err != nil {
		panic(err)
	}
	return rows
}
