package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cs/switchboard/internal/testenv"
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
}

const piiText = "我的手机 13812345678，也可以打 138-1234-5678，邮箱 leak.test@example.com，身份证 11010519491231002X，" +
	"card 4111111111111111, my IP is 203.0.113.77. refund please"

// TestNoRawPIIAnywhere sends a conversation full of seeded PII through every
// channel and an escalation with an agent reply, then scans every
// PostgreSQL table, the Redis keys and values, the logs and /metrics.
func TestNoRawPIIAnywhere(t *testing.T) {
	logs := &lockedBuffer{}
	instanceLog = logs
	defer func() { instanceLog = nil }()
	r := newChannelRig(t)
	ctx := context.Background()

	sup, agent := r.token(t, "sam", RoleSupervisor), r.token(t, "alice", RoleAgent)
	mustCall(t, 200, r.http.URL, sup, "PUT", "/v1/skill-groups/support", map[string]any{}, nil)
	mustCall(t, 200, r.http.URL, sup, "PUT", "/v1/agents/alice", map[string]any{"groups": []string{"support"}, "capacity": 10}, nil)
	mustCall(t, 200, r.http.URL, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)

	// REST, with an escalation and the agent's reply (which also carries PII).
	cust := r.token(t, "web:leak", RoleCustomer)
	var rest MessageReply
	mustCall(t, 200, r.http.URL, cust, "POST", "/v1/messages", map[string]any{"text": piiText}, &rest)
	mustCall(t, 200, r.http.URL, cust, "POST", "/v1/messages", map[string]any{"text": piiText + " human please", "conversation_id": rest.ConversationID}, &rest)
	if !rest.Escalated {
		t.Fatalf("REST conversation did not escalate: %+v", rest)
	}
	mustCall(t, 201, r.http.URL, agent, "POST", "/v1/tickets/"+rest.TicketID+"/replies", map[string]string{"text": "Noted 13812345678 and leak.test@example.com"}, nil)
	mustCall(t, 201, r.http.URL, sup, "POST", "/v1/tickets", map[string]any{"customer": map[string]any{"pseudonymous_id": "crm:9",
		"email": "leak.test@example.com", "phone": "13812345678"}, "subject": "call 13812345678", "message": piiText}, nil)

	// Telegram, Slack, generic webhook and WeCom.
	r.post(t, "/v1/channels/telegram", tgUpdateJSON(901, 77, piiText+" human"), map[string]string{"X-Telegram-Bot-Api-Secret-Token": "tg-secret"})
	now := time.Now().Unix()
	ev := []byte(`{"type":"event_callback","team_id":"T1","event_id":"EvLeak","event":{"type":"message","user":"U1","channel":"D1","ts":"1.2","text":"` + piiText + `"}}`)
	r.post(t, "/v1/channels/slack", ev, map[string]string{"X-Slack-Request-Timestamp": strconv.FormatInt(now, 10), "X-Slack-Signature": slackSign("slack-secret", now, ev)})
	hook := []byte(`{"message_id":"leak-1","customer_id":"c-1","text":"` + piiText + `"}`)
	r.post(t, "/v1/channels/webhook", hook, map[string]string{"X-Switchboard-Timestamp": strconv.FormatInt(now, 10), "X-Switchboard-Signature": SignWebhook("hook-secret", now, hook)})
	ts, nonce := strconv.FormatInt(now, 10), "42"
	enc, sig, _ := r.wc.Seal([]byte(`<xml><FromUserName>lisi</FromUserName><MsgType>text</MsgType><Content>`+piiText+`</Content><MsgId>77</MsgId></xml>`), ts, nonce)
	r.post(t, "/v1/channels/wecom?msg_signature="+sig+"&timestamp="+ts+"&nonce="+nonce, []byte(`<xml><Encrypt>`+enc+`</Encrypt></xml>`), nil)
	r.telegram.waitFor(t, 1)
	r.slack.waitFor(t, 1)
	r.hook.waitFor(t, 1)
	r.wecom.waitFor(t, 2)

	var haystacks []string
	// Every table, every row, as text.
	pool := r.svc.Store.Pool()
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
	haystacks = append(haystacks, logs.String(), string(metrics))
	if !strings.Contains(logs.String(), "{") {
		t.Fatal("no log lines captured")
	}
	all := strings.Join(haystacks, "\n")
	for _, raw := range seededPII {
		if i := strings.Index(all, raw); i >= 0 {
			t.Errorf("raw %q found: …%s…", raw, all[max(0, i-120):min(len(all), i+60)])
		}
	}
	if !strings.Contains(all, "[PHONE_1]") || !strings.Contains(all, "[ID_CARD_1]") {
		t.Fatal("no redacted placeholders stored: the scan looked in the wrong place")
	}
}

func must(rows pgx.Rows, err error) pgx.Rows {
	if err != nil {
		panic(err)
	}
	return rows
}
