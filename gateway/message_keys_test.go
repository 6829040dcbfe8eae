package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/channel/webhook"
)

// TestMessageIDsAreTiedToTheirCustomer: a REST message id is the customer's own (subjects
// with ':' cannot make two customers' keys meet), and a webhook message id that another
// customer already used is a 409 with a clear message, never the first customer's
// outcome or conversation; the first customer's redelivery is still a duplicate.
func TestMessageIDsAreTiedToTheirCustomer(t *testing.T) {
	in := newInstanceWith(t, newPool(t), "msgkeys"+strings.ToLower(t.Name()), scriptedBrain{},
		func(o *Options) {
			o.Channels = append(o.Channels, &webhook.Channel{Secret: "hook-secret", CallbackURL: "http://127.0.0.1:1/callback"})
		})
	var first, second MessageReply
	mustCall(t, 200, in.http.URL, in.token(t, "web:a:b", RoleCustomer), "POST", "/v1/messages", map[string]any{"text": "refund?", "message_id": "c"}, &first)
	mustCall(t, 200, in.http.URL, in.token(t, "web:a", RoleCustomer), "POST", "/v1/messages", map[string]any{"text": "refund?", "message_id": "b:c"}, &second)
	if second.Duplicate || second.ConversationID == first.ConversationID {
		t.Fatalf("customer web:a's message b:c was taken for web:a:b's message c: %+v", second)
	}

	hook := func(customer string) (int, map[string]any) {
		t.Helper()
		body, _ := json.Marshal(webhook.Message{MessageID: "77", CustomerID: customer, Text: "where is my parcel?"})
		now := time.Now().Unix()
		req, _ := http.NewRequest("POST", in.http.URL+"/v1/channels/webhook", bytes.NewReader(body))
		req.Header.Set("X-Switchboard-Timestamp", strconv.FormatInt(now, 10))
		req.Header.Set("X-Switchboard-Signature", webhook.Sign("hook-secret", now, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		json.Unmarshal(raw, &out)
		return resp.StatusCode, out
	}
	code, out := hook("crm-1")
	if code != 202 || out["duplicate"] != false {
		t.Fatalf("first webhook message: %d %v", code, out)
	}
	conv := out["conversation_id"]
	code, out = hook("crm-2")
	if msg, _ := out["error"].(string); code != 409 || !strings.Contains(msg, "already taken by another sender") || out["conversation_id"] != nil {
		t.Fatalf("another customer reusing the id: %d %v, want 409 saying the id is taken", code, out)
	}
	if code, out = hook("crm-1"); code != 202 || out["duplicate"] != true || out["conversation_id"] != conv {
		t.Fatalf("redelivery by the first customer: %d %v, want a duplicate of %v", code, out, conv)
	}
}
