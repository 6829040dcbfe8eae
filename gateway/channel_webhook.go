package gateway

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

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

// Webhook is a generic JSON channel for systems without their own protocol.
// Both directions are signed: X-Switchboard-Timestamp (unix seconds) and
// X-Switchboard-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body)).
type Webhook struct {
	Secret      string
	CallbackURL string
	Client      *http.Client
	Now         func() time.Time
}

// WebhookMessage is the generic webhook's inbound body.
type WebhookMessage struct {
	MessageID      string `json:"message_id"`
	CustomerID     string `json:"customer_id"`
	DisplayName    string `json:"display_name"`
	ConversationID string `json:"conversation_id"`
	Text           string `json:"text"`
}

// WebhookReply is what Switchboard POSTs to the callback URL.
type WebhookReply struct {
	CustomerID string `json:"customer_id"`
	Text       string `json:"text"`
}

// SignWebhook returns the signature header value for body at ts.
func SignWebhook(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.", ts)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (w *Webhook) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (s *Server) genericWebhook(c *gin.Context) {
	w := s.opts.Webhook
	if w == nil || w.Secret == "" {
		s.fail(c, errChannelOff)
		return
	}
	body, err := readBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ts, err := strconv.ParseInt(c.GetHeader("X-Switchboard-Timestamp"), 10, 64)
	if d := w.now().Sub(time.Unix(ts, 0)); err != nil || d > 5*time.Minute || d < -5*time.Minute {
		s.fail(c, fmt.Errorf("%w: X-Switchboard-Timestamp missing or more than 5 minutes off", errWebhookAuth))
		return
	}
	if !hmac.Equal([]byte(SignWebhook(w.Secret, ts, body)), []byte(c.GetHeader("X-Switchboard-Signature"))) {
		s.fail(c, fmt.Errorf("%w: X-Switchboard-Signature does not match the webhook secret", errWebhookAuth))
		return
	}
	var in WebhookMessage
	if err := decodeVerified(body, &in, "JSON body"); err != nil {
		s.fail(c, err)
		return
	}
	if in.MessageID == "" || in.CustomerID == "" || strings.TrimSpace(in.Text) == "" || len(in.CustomerID) > 200 || len(in.MessageID) > 200 {
		s.fail(c, fmt.Errorf("%w: message_id, customer_id (≤ 200 bytes) and text are required", errBadRequest))
		return
	}
	t := &pipeline.Turn{Channel: "webhook", ChannelMessageID: in.MessageID, ConversationID: in.ConversationID,
		CustomerRef: "webhook:" + in.CustomerID, CustomerName: in.DisplayName,
		Parts: []pipeline.Part{{Kind: pipeline.PartText, Text: in.Text}}}
	if t.ConversationID == "" {
		t.Thread = "customer" // no conversation named: the customer's live one continues
	}
	t.ReplyTo, _ = json.Marshal(WebhookReply{CustomerID: in.CustomerID})
	if s.ingest(c, t) {
		c.JSON(http.StatusAccepted, gin.H{"conversation_id": t.ConversationID, "duplicate": t.Duplicate})
	}
}

// Send POSTs a signed reply to the callback URL.
func (w *Webhook) Send(ctx context.Context, replyTo json.RawMessage, text string) error {
	var r WebhookReply
	if err := json.Unmarshal(replyTo, &r); err != nil || r.CustomerID == "" {
		return fmt.Errorf("webhook: reply address %s: no customer_id", replyTo)
	}
	if w.CallbackURL == "" {
		return fmt.Errorf("webhook: no callback_url configured")
	}
	r.Text = text
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	ts := w.now().Unix()
	h := http.Header{"X-Switchboard-Timestamp": {strconv.FormatInt(ts, 10)}, "X-Switchboard-Signature": {SignWebhook(w.Secret, ts, body)}}
	client := w.Client
	if client == nil {
		client = http.DefaultClient
	}
	return postJSON(ctx, client, w.CallbackURL, h, json.RawMessage(body), nil)
}
