package slack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/channel/channeltest"
)

const (
	signingSecret = "slack-signing-canary"
	botToken      = "xoxb-bot-token-canary"
)

func event(id, from, text, secret string) *http.Request {
	body, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": "T1", "event_id": "Ev" + id,
		"event": map[string]any{"type": "message", "user": "U" + from, "text": text, "channel": "D" + from, "ts": id + ".0001"}})
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	r := httptest.NewRequest(http.MethodPost, "/v1/channels/slack", strings.NewReader(string(body)))
	r.Header.Set("X-Slack-Request-Timestamp", ts)
	r.Header.Set("X-Slack-Signature", Sign(secret, ts, body))
	return r
}

// fakeWebAPI speaks chat.postMessage, checking the bot token.
func fakeWebAPI(api *channeltest.API) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/chat.postMessage" || r.Header.Get("Authorization") != "Bearer "+botToken {
			fmt.Fprint(w, `{"ok":false,"error":"invalid_auth"}`)
			return
		}
		var in struct{ Text, Channel, ThreadTS string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		api.Sent(in.Text)
		fmt.Fprint(w, `{"ok":true}`)
	})
}

func TestContract(t *testing.T) {
	channeltest.Run(t, channeltest.Kit{
		Kind: Kind,
		Settings: func(apiURL string) channel.Settings {
			return channel.Settings{"signing_secret": signingSecret, "bot_token": botToken, "api_base": apiURL}
		},
		Message: func(t *testing.T, _ channel.Channel, id, from, text string) *http.Request {
			return event(id, from, text, signingSecret)
		},
		Forged: func(t *testing.T, _ channel.Channel, id, from, text string) *http.Request {
			return event(id, from, text, "guessed")
		},
		API:     fakeWebAPI,
		Secrets: []string{signingSecret, botToken},
	})
}

func TestURLVerificationAnswersTheChallenge(t *testing.T) {
	ch := &Channel{SigningSecret: signingSecret}
	body := []byte(`{"type":"url_verification","challenge":"c-42"}`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	r := httptest.NewRequest(http.MethodPost, "/v1/channels/slack", strings.NewReader(string(body)))
	r.Header.Set("X-Slack-Request-Timestamp", ts)
	r.Header.Set("X-Slack-Signature", Sign(signingSecret, ts, body))
	d, err := ch.Receive(r)
	if err != nil || d.Answer == nil || string(d.Answer.Body) != `{"challenge":"c-42"}` {
		t.Fatalf("url_verification: %+v, %v", d, err)
	}
}
