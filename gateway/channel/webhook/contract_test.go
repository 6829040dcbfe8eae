package webhook

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/channel/channeltest"
)

const secret = "hook-secret-canary"

func message(id, from, text, key string) *http.Request {
	body, _ := json.Marshal(Message{MessageID: id, CustomerID: from, Text: text})
	now := time.Now().Unix()
	r := httptest.NewRequest(http.MethodPost, "/v1/channels/webhook", strings.NewReader(string(body)))
	r.Header.Set("X-Switchboard-Timestamp", strconv.FormatInt(now, 10))
	r.Header.Set("X-Switchboard-Signature", Sign(key, now, body))
	return r
}

// fakeCallback is the customer's system: it takes signed replies only.
func fakeCallback(api *channeltest.API) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := channel.ReadBody(r)
		ts, _ := strconv.ParseInt(r.Header.Get("X-Switchboard-Timestamp"), 10, 64)
		if r.Header.Get("X-Switchboard-Signature") != Sign(secret, ts, body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var rep Reply
		_ = json.Unmarshal(body, &rep)
		api.Sent(rep.Text)
	})
}

func TestContract(t *testing.T) {
	channeltest.Run(t, channeltest.Kit{
		Kind: Kind,
		Settings: func(apiURL string) channel.Settings {
			return channel.Settings{"secret": secret, "callback_url": apiURL + "/callback"}
		},
		Message: func(t *testing.T, _ channel.Channel, id, from, text string) *http.Request {
			return message(id, from, text, secret)
		},
		Forged: func(t *testing.T, _ channel.Channel, id, from, text string) *http.Request {
			return message(id, from, text, "guessed")
		},
		API:     fakeCallback,
		Secrets: []string{secret},
	})
}
