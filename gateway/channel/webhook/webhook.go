// Package webhook is the generic JSON channel for systems without a protocol of their
// own. Both directions are signed: X-Switchboard-Timestamp (unix seconds) and
// X-Switchboard-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body)).
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

// Kind registers the channel: settings secret (on when set) and callback_url.
var Kind = channel.Kind{Name: "webhook", Open: func(s channel.Settings, client *http.Client) (channel.Channel, error) {
	if s["secret"] == "" {
		return nil, nil
	}
	return &Channel{Secret: s["secret"], CallbackURL: s["callback_url"], Client: client}, nil
}}

// Channel is the generic webhook.
type Channel struct {
	Secret      string
	CallbackURL string
	Client      *http.Client
	Now         func() time.Time
}

// Name is "webhook".
func (*Channel) Name() string { return Kind.Name }

// Message is the inbound body.
type Message struct {
	MessageID      string `json:"message_id"`
	CustomerID     string `json:"customer_id"`
	DisplayName    string `json:"display_name"`
	ConversationID string `json:"conversation_id"`
	Text           string `json:"text"`
	// Region is the customer's region (ISO 3166-1 alpha-2), optional: phone numbers
	// written without a country code are read in its notation first.
	Region string `json:"region,omitempty"`
}

// Reply is what Switchboard POSTs to the callback URL.
type Reply struct {
	CustomerID string `json:"customer_id"`
	Text       string `json:"text"`
}

// Sign returns the signature header value for body at ts.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.", ts)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (w *Channel) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// Receive reads a signed message.
func (w *Channel) Receive(r *http.Request) (channel.Delivery, error) {
	body, err := channel.ReadBody(r)
	if err != nil {
		return channel.Delivery{}, err
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-Switchboard-Timestamp"), 10, 64)
	if d := w.now().Sub(time.Unix(ts, 0)); err != nil || d > 5*time.Minute || d < -5*time.Minute {
		return channel.Delivery{}, fmt.Errorf("%w: X-Switchboard-Timestamp missing or more than 5 minutes off", channel.ErrUnauthenticated)
	}
	if !hmac.Equal([]byte(Sign(w.Secret, ts, body)), []byte(r.Header.Get("X-Switchboard-Signature"))) {
		return channel.Delivery{}, fmt.Errorf("%w: X-Switchboard-Signature does not match the webhook secret", channel.ErrUnauthenticated)
	}
	var in Message
	if err := channel.DecodeVerified(body, &in, "JSON body"); err != nil {
		return channel.Delivery{}, err
	}
	if in.MessageID == "" || in.CustomerID == "" || strings.TrimSpace(in.Text) == "" || len(in.CustomerID) > 200 || len(in.MessageID) > 200 {
		return channel.Delivery{}, fmt.Errorf("%w: message_id, customer_id (≤ 200 bytes) and text are required", channel.ErrBadRequest)
	}
	t := &pipeline.Turn{Channel: Kind.Name, ChannelMessageID: in.MessageID, ConversationID: in.ConversationID,
		CustomerRef: "webhook:" + in.CustomerID, CustomerName: in.DisplayName, Region: in.Region,
		Parts: []pipeline.Part{{Kind: pipeline.PartText, Text: in.Text}}}
	if t.ConversationID == "" {
		t.Thread = "customer" // no conversation named: the customer's live one continues
	}
	t.ReplyTo, _ = json.Marshal(Reply{CustomerID: in.CustomerID})
	return channel.Delivery{Turns: []*pipeline.Turn{t}}, nil
}

// Ack answers 202 with the conversation the message went to, and whether it was a
// redelivery.
func (*Channel) Ack(turns []*pipeline.Turn) channel.Response {
	var ack struct {
		ConversationID string `json:"conversation_id"`
		Duplicate      bool   `json:"duplicate"`
	}
	if len(turns) > 0 {
		ack.ConversationID, ack.Duplicate = turns[0].ConversationID, turns[0].Duplicate
	}
	b, _ := json.Marshal(ack)
	return channel.Response{Status: http.StatusAccepted, ContentType: "application/json; charset=utf-8", Body: b}
}

// Send POSTs a signed reply to the callback URL.
func (w *Channel) Send(ctx context.Context, replyTo json.RawMessage, text string) error {
	var r Reply
	if err := json.Unmarshal(replyTo, &r); err != nil || r.CustomerID == "" {
		return fmt.Errorf("webhook: reply address %s: no customer_id", replyTo)
	}
	if w.CallbackURL == "" {
		return errors.New("webhook: no callback_url configured")
	}
	r.Text = text
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	ts := w.now().Unix()
	h := http.Header{"X-Switchboard-Timestamp": {strconv.FormatInt(ts, 10)}, "X-Switchboard-Signature": {Sign(w.Secret, ts, body)}}
	return channel.PostJSON(ctx, w.Client, w.CallbackURL, h, json.RawMessage(body), nil)
}
