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

// Slack is the Slack Events API channel: signed event callbacks in,
// chat.postMessage (in the message's thread) out.
type Slack struct {
	SigningSecret string
	BotToken      string
	APIBase       string // https://slack.com/api
	Client        *http.Client
	Now           func() time.Time
}

// slackMaxSkew is how old a signed request may be (replay protection).
const slackMaxSkew = 5 * time.Minute

type slackEnvelope struct {
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

type slackAddress struct {
	Channel  string `json:"channel"`
	ThreadTS string `json:"thread_ts,omitempty"`
}

// verify checks Slack's v0 request signature and its timestamp.
func (sl *Slack) verify(h http.Header, body []byte) error {
	ts := h.Get("X-Slack-Request-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: missing X-Slack-Request-Timestamp header", errWebhookAuth)
	}
	now := time.Now
	if sl.Now != nil {
		now = sl.Now
	}
	if d := now().Sub(time.Unix(sec, 0)); d > slackMaxSkew || d < -slackMaxSkew {
		return fmt.Errorf("%w: X-Slack-Request-Timestamp is %s off", errWebhookAuth, d.Round(time.Second))
	}
	mac := hmac.New(sha256.New, []byte(sl.SigningSecret))
	fmt.Fprintf(mac, "v0:%s:", ts)
	mac.Write(body)
	want := "v0=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(h.Get("X-Slack-Signature"))) {
		return fmt.Errorf("%w: X-Slack-Signature does not match the signing secret", errWebhookAuth)
	}
	return nil
}

func (s *Server) slackEvents(c *gin.Context) {
	sl := s.opts.Slack
	if sl == nil || sl.SigningSecret == "" {
		s.fail(c, errChannelOff)
		return
	}
	body, err := readBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := sl.verify(c.Request.Header, body); err != nil {
		s.fail(c, err)
		return
	}
	var env slackEnvelope
	if err := decodeVerified(body, &env, "Slack event"); err != nil {
		s.fail(c, err)
		return
	}
	switch {
	case env.Type == "url_verification":
		c.JSON(http.StatusOK, gin.H{"challenge": env.Challenge})
		return
	case env.Type != "event_callback" || env.Event.Type != "message" || env.Event.BotID != "" ||
		env.Event.Subtype != "" || env.Event.User == "" || strings.TrimSpace(env.Event.Text) == "":
		c.Status(http.StatusOK) // our own posts, edits, joins: nothing to answer
		return
	}
	if env.EventID == "" { // the idempotency key: without it every such message would be one
		s.fail(c, fmt.Errorf("%w: Slack event_callback without event_id", errBadRequest))
		return
	}
	ev := env.Event
	thread := ev.ThreadTS
	if thread == "" {
		thread = ev.TS
	}
	t := &pipeline.Turn{Channel: "slack", ChannelMessageID: env.EventID, CustomerRef: "slack:" + env.TeamID + ":" + ev.User,
		Parts: []pipeline.Part{{Kind: pipeline.PartText, Text: ev.Text}}}
	// One conversation per user and Slack channel (or DM); replies go to the thread of
	// the message they answer.
	t.Thread = ev.Channel
	t.ReplyTo, _ = json.Marshal(slackAddress{Channel: ev.Channel, ThreadTS: thread})
	if s.ingest(c, t) {
		c.Status(http.StatusOK)
	}
}

// Send posts text with chat.postMessage into the customer's thread.
func (sl *Slack) Send(ctx context.Context, replyTo json.RawMessage, text string) error {
	var addr slackAddress
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
	client := sl.Client
	if client == nil {
		client = http.DefaultClient
	}
	if err := postJSON(ctx, client, strings.TrimRight(sl.APIBase, "/")+"/chat.postMessage", h, msg, &res); err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("slack: chat.postMessage: %s", res.Error)
	}
	return nil
}
