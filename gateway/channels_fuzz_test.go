package gateway

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/channel/slack"
	"github.com/switchboard-cs/switchboard/gateway/channel/telegram"
	"github.com/switchboard-cs/switchboard/gateway/channel/webhook"
	"github.com/switchboard-cs/switchboard/gateway/channel/wecom"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

// The fuzzers' channel secrets and clock.
const (
	fuzzTGSecret    = "tg-secret"
	fuzzSlackSecret = "slack-secret"
	fuzzHookSecret  = "hook-secret"
	fuzzWeComToken  = "cb-token"
	fuzzWeComAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	fuzzWeComCorp   = "ww-corp"
)

var fuzzNow = time.Unix(1_700_000_000, 0)

// fuzzGateway is a Server with every webhook channel on and an ingress pipeline that only
// records the turn it is given: the channel handlers run exactly as in production,
// middleware included, without a database or Redis.
type fuzzGateway struct {
	srv  *Server
	wc   *wecom.Channel
	mu   sync.Mutex
	turn *pipeline.Turn
}

func newFuzzGateway(tb testing.TB) *fuzzGateway {
	tb.Helper()
	g := &fuzzGateway{}
	log := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	wc, err := wecom.New(fuzzWeComCorp, "1000002", "app-secret", fuzzWeComToken, fuzzWeComAESKey, "http://127.0.0.1:9", nil)
	if err != nil {
		tb.Fatal(err)
	}
	g.wc = wc
	record := pipeline.StageFunc(func(_ context.Context, t *pipeline.Turn) error { g.turn = t; return nil })
	g.srv = New(Options{Log: log, Registerer: reg,
		Ingress: pipeline.New(pipeline.NewMetrics(reg), log, pipeline.Step{Name: "record", Stage: record, FailClosed: true}),
		Channels: []channel.Channel{&telegram.Channel{BotToken: "123:ABC", SecretToken: fuzzTGSecret, APIBase: "http://127.0.0.1:9"},
			&slack.Channel{SigningSecret: fuzzSlackSecret, Now: func() time.Time { return fuzzNow }},
			&webhook.Channel{Secret: fuzzHookSecret, Now: func() time.Time { return fuzzNow }}, wc}})
	return g
}

// do serves req and returns the response and the turn that reached the ingress, if any.
func (g *fuzzGateway) do(req *http.Request) (*httptest.ResponseRecorder, *pipeline.Turn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.turn = nil
	w := httptest.NewRecorder()
	req.RemoteAddr = "192.0.2.1:1234"
	g.srv.Handler().ServeHTTP(w, req)
	return w, g.turn
}

// checkWebhook holds for every channel: never a 5xx (a recovered panic is one), an error
// is JSON with a message and a code, and a turn reaches the ingress only on success and
// names its channel, an idempotency key, a customer of that channel, something to answer
// and an address to answer to.
func checkWebhook(t *testing.T, w *httptest.ResponseRecorder, turn *pipeline.Turn, channel string) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if w.Code >= 400 {
		var e ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" || e.Code == "" {
			t.Fatalf("status %d with body %q", w.Code, w.Body)
		}
	}
	if turn == nil {
		return
	}
	if w.Code >= 300 {
		t.Fatalf("status %d after the turn was ingested", w.Code)
	}
	if turn.Channel != channel || turn.ChannelMessageID == "" || !strings.HasPrefix(turn.CustomerRef, channelRefPrefix[channel]) ||
		len(turn.CustomerRef) == len(channelRefPrefix[channel]) || len(turn.Parts) == 0 || !json.Valid(turn.ReplyTo) {
		t.Fatalf("turn %+v", turn)
	}
	for _, p := range turn.Parts {
		if p.Kind == pipeline.PartText && strings.TrimSpace(p.Text) == "" {
			t.Fatalf("an empty text part: %+v", turn.Parts)
		}
	}
}

var channelRefPrefix = map[string]string{"telegram": "tg:", "slack": "slack:", "webhook": "webhook:", "wecom": "wecom:" + fuzzWeComCorp + ":"}

// FuzzTelegramUpdate posts arbitrary update bodies with the right secret token (and,
// when secret is not empty, with that token instead).
func FuzzTelegramUpdate(f *testing.F) {
	g := newFuzzGateway(f)
	f.Add([]byte(`{"update_id":1,"message":{"message_id":5,"from":{"id":7,"first_name":"Li"},"chat":{"id":7},"text":"refund?"}}`), "")
	f.Add([]byte(`{"update_id":2,"message":{"message_id":6,"from":{"id":7},"chat":{"id":-100},"caption":"this","photo":[{"file_id":"a"},{"file_id":"b"}],"voice":{"file_id":"v","mime_type":"audio/ogg","duration":3}}}`), "")
	f.Add([]byte(`{"update_id":3,"edited_message":{"text":"x"}}`), "")
	f.Add([]byte(`{"update_id":4,"message":{"from":{"id":1,"is_bot":true},"chat":{"id":1},"text":"bot"}}`), "wrong")
	f.Add([]byte(`[1,2`), "")
	f.Fuzz(func(t *testing.T, body []byte, secret string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/channels/telegram", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if secret == "" {
			secret = fuzzTGSecret
		}
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		w, turn := g.do(req)
		checkWebhook(t, w, turn, "telegram")
		if secret != fuzzTGSecret && w.Code != http.StatusUnauthorized {
			t.Fatalf("secret %q: status %d", secret, w.Code)
		}
	})
}

// FuzzSlackEvent posts arbitrary, correctly signed Events API bodies (and, when sig is
// not empty, bodies with that signature instead).
func FuzzSlackEvent(f *testing.F) {
	g := newFuzzGateway(f)
	f.Add([]byte(`{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"message","user":"U1","text":"hi","channel":"C1","ts":"1.2"}}`), "")
	f.Add([]byte(`{"type":"event_callback","team_id":"T1","event_id":"Ev2","event":{"type":"message","user":"U1","text":"in a thread","channel":"D1","ts":"3.4","thread_ts":"1.2"}}`), "")
	f.Add([]byte(`{"type":"url_verification","challenge":"abc"}`), "")
	f.Add([]byte(`{"type":"event_callback","event":{"type":"message","bot_id":"B1","text":"me"}}`), "v0=00")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		ts := strconv.FormatInt(fuzzNow.Unix(), 10)
		mac := hmac.New(sha256.New, []byte(fuzzSlackSecret))
		fmt.Fprintf(mac, "v0:%s:", ts)
		mac.Write(body)
		good := "v0=" + hex.EncodeToString(mac.Sum(nil))
		if sig == "" {
			sig = good
		}
		req := httptest.NewRequest(http.MethodPost, "/v1/channels/slack", bytes.NewReader(body))
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
		w, turn := g.do(req)
		checkWebhook(t, w, turn, "slack")
		if sig != good && w.Code != http.StatusUnauthorized {
			t.Fatalf("signature %q: status %d", sig, w.Code)
		}
	})
}

// FuzzWebhookMessage posts arbitrary, correctly signed generic webhook bodies, at a
// timestamp skew of up to ±10 minutes (5 are accepted).
func FuzzWebhookMessage(f *testing.F) {
	g := newFuzzGateway(f)
	f.Add([]byte(`{"message_id":"m1","customer_id":"c1","display_name":"Ann","text":"where is my order?"}`), int16(0))
	f.Add([]byte(`{"message_id":"m2","customer_id":"c1","conversation_id":"0b9d4a3e-4a4f-4a7e-9d1a-6f7a2b3c4d5e","text":"again"}`), int16(299))
	f.Add([]byte(`{"message_id":"","customer_id":"c1","text":" "}`), int16(-301))
	f.Fuzz(func(t *testing.T, body []byte, skew int16) {
		off := time.Duration(skew%600) * time.Second
		ts := fuzzNow.Add(off).Unix()
		req := httptest.NewRequest(http.MethodPost, "/v1/channels/webhook", bytes.NewReader(body))
		req.Header.Set("X-Switchboard-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Switchboard-Signature", webhook.Sign(fuzzHookSecret, ts, body))
		w, turn := g.do(req)
		checkWebhook(t, w, turn, "webhook")
		if (off > 5*time.Minute || off < -5*time.Minute) && w.Code != http.StatusUnauthorized {
			t.Fatalf("%v off: status %d", off, w.Code)
		}
		if turn != nil && (len(turn.ChannelMessageID) > 200 || len(turn.CustomerRef) > 200+len("webhook:")) {
			t.Fatalf("over-long ids accepted: %+v", turn)
		}
	})
}

// FuzzWeComEnvelope posts arbitrary callback bodies whose <Encrypt> value (as the handler
// will read it) is correctly signed: the envelope XML and the decryption of whatever it
// holds.
func FuzzWeComEnvelope(f *testing.F) {
	g := newFuzzGateway(f)
	sealed, _, err := g.wc.Seal([]byte(`<xml><FromUserName>u1</FromUserName><MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>`), "1", "n")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("<xml><ToUserName>ww-corp</ToUserName><Encrypt><![CDATA[" + sealed + "]]></Encrypt></xml>"))
	f.Add([]byte("<xml><Encrypt>AAAA</Encrypt></xml>"))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var env struct {
			Encrypt string `xml:"Encrypt"`
		}
		_ = xml.NewDecoder(bytes.NewReader(body)).Decode(&env)
		w, turn := g.do(wecomRequest(g.wc, body, env.Encrypt))
		checkWebhook(t, w, turn, "wecom")
	})
}

// FuzzWeComMessage seals arbitrary message XML as WeCom does and posts it: the message
// parser behind the signature and the decryption.
func FuzzWeComMessage(f *testing.F) {
	g := newFuzzGateway(f)
	f.Add([]byte(`<xml><ToUserName><![CDATA[ww-corp]]></ToUserName><FromUserName><![CDATA[u1]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[退款]]></Content><MsgId>42</MsgId><AgentID>1000002</AgentID></xml>`))
	f.Add([]byte(`<xml><FromUserName>u1</FromUserName><MsgType>voice</MsgType><MediaId>m</MediaId><Format>amr</Format><MsgId>43</MsgId></xml>`))
	f.Add([]byte(`<xml><FromUserName>u1</FromUserName><MsgType>image</MsgType><MediaId>p</MediaId><MsgId>44</MsgId></xml>`))
	f.Add([]byte(`<xml><FromUserName>u1</FromUserName><MsgType>event</MsgType><Event>enter_agent</Event></xml>`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		enc, _, err := g.wc.Seal(msg, "1", "n")
		if err != nil {
			t.Fatal(err)
		}
		body := []byte("<xml><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>")
		w, turn := g.do(wecomRequest(g.wc, body, enc))
		checkWebhook(t, w, turn, "wecom")
	})
}

// wecomRequest signs a callback at the current time (WeCom's own timestamps are real ones).
func wecomRequest(wc *wecom.Channel, body []byte, encrypted string) *http.Request {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	q := url.Values{"timestamp": {ts}, "nonce": {"n"}, "msg_signature": {wc.Sign(ts, "n", encrypted)}}
	req := httptest.NewRequest(http.MethodPost, "/v1/channels/wecom?"+q.Encode(), bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/xml")
	return req
}

// TestFuzzGatewayIngests keeps the fuzzers honest: a valid message of each channel goes
// through the harness to the ingress, so the fuzzers reach the parsers behind the
// signature checks.
func TestFuzzGatewayIngests(t *testing.T) {
	g := newFuzzGateway(t)
	tg := httptest.NewRequest(http.MethodPost, "/v1/channels/telegram",
		strings.NewReader(`{"update_id":1,"message":{"message_id":5,"from":{"id":7},"chat":{"id":7},"text":"hi"}}`))
	tg.Header.Set("X-Telegram-Bot-Api-Secret-Token", fuzzTGSecret)
	body := []byte(`{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"message","user":"U1","text":"hi","channel":"C1","ts":"1.2"}}`)
	ts := strconv.FormatInt(fuzzNow.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(fuzzSlackSecret))
	fmt.Fprintf(mac, "v0:%s:", ts)
	mac.Write(body)
	sl := httptest.NewRequest(http.MethodPost, "/v1/channels/slack", bytes.NewReader(body))
	sl.Header.Set("X-Slack-Request-Timestamp", ts)
	sl.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	body = []byte(`{"message_id":"m1","customer_id":"c1","text":"hi"}`)
	wh := httptest.NewRequest(http.MethodPost, "/v1/channels/webhook", bytes.NewReader(body))
	wh.Header.Set("X-Switchboard-Timestamp", ts)
	wh.Header.Set("X-Switchboard-Signature", webhook.Sign(fuzzHookSecret, fuzzNow.Unix(), body))
	enc, _, err := g.wc.Seal([]byte(`<xml><FromUserName>u1</FromUserName><MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>`), "1", "n")
	if err != nil {
		t.Fatal(err)
	}
	wx := wecomRequest(g.wc, []byte("<xml><Encrypt>"+enc+"</Encrypt></xml>"), enc)
	for name, req := range map[string]*http.Request{"telegram": tg, "slack": sl, "webhook": wh, "wecom": wx} {
		w, turn := g.do(req)
		if turn == nil || turn.Channel != name || w.Code >= 300 {
			t.Errorf("%s: status %d %s, turn %+v", name, w.Code, w.Body, turn)
		}
	}
}
