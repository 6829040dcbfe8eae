package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cs/switchboard/gateway/channel/telegram"
	"github.com/switchboard-cs/switchboard/gateway/channel/webhook"
)

// logged captures the logs of the instances built while it runs.
func logged(t *testing.T, build func()) *lockedBuffer {
	t.Helper()
	buf := &lockedBuffer{}
	old := instanceLog
	instanceLog = buf
	defer func() { instanceLog = old }()
	build()
	return buf
}

// rawCall sends body with contentType and returns the status and the error answer.
func rawCall(t *testing.T, method, url, token, contentType string, body []byte, header map[string]string) (int, ErrorBody) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e ErrorBody
	_ = json.Unmarshal(raw, &e)
	return resp.StatusCode, e
}

// TestCustomerInputLimitsAreConsistent: every customer input path answers the same way:
// over-long text is 413 in JSON as in multipart, a body over its limit is 413, invalid
// UTF-8 is 400 (REST JSON and multipart, web chat frames, webhook text), media in a JSON
// body is a 4xx that says to send multipart, and a client's bad conversation id is a
// 404/403 in the cause's own words, logged below ERROR.
func TestCustomerInputLimitsAreConsistent(t *testing.T) {
	var in *instance
	logs := logged(t, func() {
		in = newInstanceWith(t, newPool(t), "inputs", scriptedBrain{}, func(o *Options) {
			o.MaxBodyBytes = 1 << 20
			o.Channels = append(o.Channels, &webhook.Channel{Secret: "hook-secret"})
			o.Channels = append(o.Channels, &telegram.Channel{SecretToken: "tg-secret", BotToken: "123:ABC"})
		})
	})
	base := in.http.URL
	cust := in.token(t, "web:inputs", RoleCustomer)
	other := in.token(t, "web:inputs-other", RoleCustomer)
	var first MessageReply
	mustCall(t, 200, base, other, "POST", "/v1/messages", map[string]any{"text": "refund please"}, &first)

	jsonBody := func(v map[string]any) []byte { b, _ := json.Marshal(v); return b }
	long := strings.Repeat("a", 20000)
	mp := func(fields map[string]string, files ...file) (string, []byte) {
		b, ct := multipartBody(t, fields, files...)
		return ct, b
	}
	mpLongCT, mpLong := mp(map[string]string{"text": long})
	mpBadCT, mpBad := mp(map[string]string{"text": "\xff\xfe hi"})
	mpRegionCT, mpRegion := mp(map[string]string{"text": "hi", "region": "XX"})
	signed := func(body string) map[string]string {
		ts := time.Now().Unix()
		return map[string]string{"X-Switchboard-Timestamp": strconv.FormatInt(ts, 10), "X-Switchboard-Signature": webhook.Sign("hook-secret", ts, []byte(body))}
	}
	badHook := `{"message_id":"m1","customer_id":"c1","text":"` + "\xff\xfe hi" + `"}`
	for _, tc := range []struct {
		name, path, contentType string
		body                    []byte
		header                  map[string]string
		want                    int
		says                    string
	}{
		{"JSON text over 16 KiB", "/v1/messages", "application/json", jsonBody(map[string]any{"text": long}), nil, 413, "at most 16384"},
		{"multipart text over 16 KiB", "/v1/messages", mpLongCT, mpLong, nil, 413, "over 16384 bytes"},
		{"JSON body over 64 KiB", "/v1/messages", "application/json", jsonBody(map[string]any{"text": strings.Repeat("a", 100<<10)}), nil, 413, "multipart/form-data"},
		{"body over http.max_body_bytes", "/v1/messages", "application/json", jsonBody(map[string]any{"text": strings.Repeat("a", 2<<20)}), nil, 413, "limit"},
		{"JSON invalid UTF-8", "/v1/messages", "application/json", []byte("{\"text\":\"\xff\xfe hi\"}"), nil, 400, "UTF-8"},
		{"multipart invalid UTF-8", "/v1/messages", mpBadCT, mpBad, nil, 400, "UTF-8"},
		{"photo in JSON", "/v1/messages", "application/json", jsonBody(map[string]any{"text": "look", "images": []map[string]any{{"data": []byte("x"), "mime": "image/jpeg"}}}), nil, 400, `"image"`},
		{"voice note in JSON", "/v1/messages", "application/json", jsonBody(map[string]any{"audio": []map[string]any{{"data": []byte("x")}}}), nil, 400, "multipart/form-data"},
		{"unknown region", "/v1/messages", "application/json", jsonBody(map[string]any{"text": "hi", "region": "Narnia"}), nil, 400, "not a region with phone numbers"},
		{"unknown region in multipart", "/v1/messages", mpRegionCT, mpRegion, nil, 400, "not a region with phone numbers"},
		{"unknown conversation", "/v1/messages", "application/json", jsonBody(map[string]any{"conversation_id": "xyz", "text": "hi"}), nil, 404, `conversation "xyz": not found`},
		{"another customer's conversation", "/v1/messages", "application/json", jsonBody(map[string]any{"conversation_id": first.ConversationID, "text": "hi"}), nil, 403, "belongs to another customer"},
		{"webhook text invalid UTF-8", "/v1/channels/webhook", "application/json", []byte(badHook), signed(badHook), 400, "UTF-8"},
		{"Telegram text invalid UTF-8", "/v1/channels/telegram", "application/json",
			[]byte(`{"update_id":1,"message":{"message_id":1,"from":{"id":5,"first_name":"A"},"chat":{"id":5},"text":"` + "\xff\xfe hi" + `"}}`),
			map[string]string{"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}, 400, "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, e := rawCall(t, "POST", base+tc.path, cust, tc.contentType, tc.body, tc.header)
			if code != tc.want || !strings.Contains(e.Error, tc.says) || e.RequestID == "" {
				t.Fatalf("%d %+v, want %d saying %q", code, e, tc.want, tc.says)
			}
			if strings.Contains(e.Error, "pipeline") {
				t.Fatalf("the client sees pipeline jargon: %q", e.Error)
			}
		})
	}

	t.Run("web chat frames", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c := dialChat(t, ctx, base, cust, "")
		if err := c.conn.Write(ctx, websocket.MessageText, []byte("{\"type\":\"message\",\"text\":\"\xff\xfe hi\"}")); err != nil {
			t.Fatal(err)
		}
		if f := c.until(func(f ChatFrame) bool { return f.Type == "error" }); !strings.Contains(f[len(f)-1].Error, "UTF-8") {
			t.Fatalf("invalid UTF-8 frame: %+v", f)
		}
		c.say(long, "long-1")
		if f := c.until(func(f ChatFrame) bool { return f.Type == "error" }); !strings.HasPrefix(f[len(f)-1].Error, "too_large:") {
			t.Fatalf("over-long text: %+v", f)
		}
	})

	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "pipeline stage failed closed") && !strings.Contains(line, `"level":"INFO"`) {
			t.Errorf("a client's bad conversation id was logged above INFO: %s", line)
		}
	}
	if !strings.Contains(logs.String(), `conversation \"xyz\": not found`) {
		t.Errorf("the refused turn was not logged at all:\n%s", logs.String())
	}
}
