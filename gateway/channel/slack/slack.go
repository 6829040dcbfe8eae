// Package slack is the Slack Events API channel: signed event callbacks in (v0 request
// signatures with a 5-minute replay window), chat.postMessage out, in the thread of the
// message answered.
package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

// Kind registers the channel: settings signing_secret (on when set), bot_token, api_base.
var Kind = channel.Kind{Name: "slack", Open: func(s channel.Settings, client *http.Client) (channel.Channel, error) {
	if s["signing_secret"] == "" {
		return nil, nil
	}
	return &Channel{SigningSecret: s["signing_secret"], BotToken: s["bot_token"], APIBase: s["api_base"], Client: client}, nil
}}

// Channel is one Slack app.
type Channel struct {
	SigningSecret string
	BotToken      string
	APIBase       string // https://slack.com/api
	Client        *http.Client
	Now           func() time.Time
}

// Name is "slack".
func (*Channel) Name() string { return Kind.Name }

// maxSkew is how old a signed request may be (replay protection).
const maxSkew = 5 * time.Minute

type envelope struct {
	Type      string `json:"type"`
	Challenge string `json:"challenge"`
	TeamID    string `json:"team_id"`
	EventID   string `json:"event_id"`
	Event     struct {
		Type     string `json:"type"`
		Subtype  string `json:"subtype"`
		BotID    string `json:"bot_id"`
		User     string `json:"user"`
		Text     string `json:"text"`
		Channel  string `json:"channel"`
		TS       string `json:"ts"`
		ThreadTS string `json:"thread_ts"`
	} `json:"event"`
}

type address struct {
	Channel  string `json:"channel"`
	ThreadTS string `json:"thread_ts,omitempty"`
}

// Sign returns the X-Slack-Signature of body under secret for the timestamp header ts.
func Sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// verify checks Slack's v0 request signature and its timestamp.
func (sl *Channel) verify(h http.Header, body []byte) error {
	ts := h.Get("X-Slack-Request-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: missing X-Slack-Request-Timestamp header", channel.ErrUnauthenticated)
	}
	now := time.Now
	if sl.Now != nil {
		now = sl.Now
	}
	if d := now().Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("%w: X-Slack-Request-Timestamp is %s off", channel.ErrUnauthenticated, d.Round(time.Second))
	}
	if !hmac.Equal([]byte(Sign(sl.SigningSecret, ts, body)), []byte(h.Get("X-Slack-Signature"))) {
		return fmt.Errorf("%w: X-Slack-Signature does not match the signing secret", channel.ErrUnauthenticated)
	}
	return nil
}

// Receive reads an event callback: a user's message in a channel or DM. It answers
// url_verification with the challenge.
func (sl *Channel) Receive(r *http.Request) (channel.Delivery, error) {
	body, err := channel.ReadBody(r)
	if err != nil {
		return channel.Delivery{}, err
	}
	if err := sl.verify(r.Header, body); err != nil {
		return channel.Delivery{}, err
	}
	var env envelope
	if err := channel.DecodeVerified(body, &env, "Slack event"); err != nil {
		return channel.Delivery{}, err
	}
	switch {
	case env.Type == "url_verification":
		b, _ := json.Marshal(map[string]string{"challenge": env.Challenge})
		return channel.Delivery{Answer: &channel.Response{Status: http.StatusOK, ContentType: "application/json; charset=utf-8", Body: b}}, nil
	case env.Type != "event_callback" || env.Event.Type != "message" || env.Event.BotID != "" ||
		env.Event.Subtype != "" || env.Event.User == "" || strings.TrimSpace(env.Event.Text) == "":
		return channel.Delivery{}, nil // our own posts, edits, joins: nothing to answer
	}
	if env.EventID == "" { // the idempotency key: without it every such message would be one
		return channel.Delivery{}, fmt.Errorf("%w: Slack event_callback without event_id", channel.ErrBadRequest)
	}
	ev := env.Event
	thread := ev.ThreadTS
	if thread == "" {
		thread = ev.TS
	}
	t := &pipeline.Turn{Channel: Kind.Name, ChannelMessageID: env.EventID, CustomerRef: "slack:" + env.TeamID + ":" + ev.User,
		Parts: []pipeline.Part{{Kind: pipeline.PartText, Text: ev.Text}}}
	// One conversation per user and Slack channel (or DM); replies go to the thread of
	// the message they answer.
	t.Thread = ev.Channel
	t.ReplyTo, _ = json.Marshal(address{Channel: ev.Channel, ThreadTS: thread})
	return channel.Delivery{Turns: []*pipeline.Turn{t}}, nil
}

// Send posts text with chat.postMessage into the customer's thread.
func (sl *Channel) Send(ctx context.Context, replyTo json.RawMessage, text string) error {
	var addr address
	if err := json.Unmarshal(replyTo, &addr); err != nil || addr.Channel == "" {
		return fmt.Errorf("slack: reply address %s: no channel", replyTo)
	}
	var res struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	h := http.Header{"Authorization": {"Bearer " + sl.BotToken}}
	msg := map[string]string{"channel": addr.Channel, "text": text}
	if addr.ThreadTS != "" {
		msg["thread_ts"] = addr.ThreadTS
	}
	if err := channel.PostJSON(ctx, sl.Client, strings.TrimRight(sl.APIBase, "/")+"/chat.postMessage", h, msg, &res); err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("slack: chat.postMessage: %s", res.Error)
	}
	return nil
}
