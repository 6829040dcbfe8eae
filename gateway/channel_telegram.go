package gateway

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

// Telegram is the Telegram Bot API channel: webhook updates in, sendMessage
// out.
type Telegram struct {
	BotToken    string
	SecretToken string // setWebhook's secret_token, checked on every update
	APIBase     string // https://api.telegram.org
	Client      *http.Client
}

// tgUpdate is the part of a Bot API Update the channel reads.
type tgUpdate struct {
	UpdateID int64      `json:"update_id"`
	Message  *tgMessage `json:"message"`
}

type tgMessage struct {
	MessageID int64 `json:"message_id"`
	From      *struct {
		ID        int64  `json:"id"`
		IsBot     bool   `json:"is_bot"`
		FirstName string `json:"first_name"`
	} `json:"from"`
	Chat struct {
		ID int64 `json:"id"`
	} `json:"chat"`
	Text    string `json:"text"`
	Caption string `json:"caption"`
	Voice   *struct {
		FileID   string `json:"file_id"`
		MimeType string `json:"mime_type"`
		Duration int    `json:"duration"`
	} `json:"voice"`
	Photo []struct {
		FileID string `json:"file_id"`
	} `json:"photo"`
}

type tgAddress struct {
	ChatID int64 `json:"chat_id"`
}

func (s *Server) telegramWebhook(c *gin.Context) {
	tg := s.opts.Telegram
	if tg == nil || tg.SecretToken == "" {
		s.fail(c, errChannelOff)
		return
	}
	got := c.GetHeader("X-Telegram-Bot-Api-Secret-Token")
	if subtle.ConstantTimeCompare([]byte(got), []byte(tg.SecretToken)) != 1 {
		s.fail(c, fmt.Errorf("%w: missing or wrong X-Telegram-Bot-Api-Secret-Token header (the secret_token given to setWebhook)", errWebhookAuth))
		return
	}
	body, err := readBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var u tgUpdate
	if err := decodeVerified(body, &u, "Telegram update"); err != nil {
		s.fail(c, err)
		return
	}
	m := u.Message
	if m == nil || m.From == nil || m.From.IsBot {
		c.Status(http.StatusOK) // edits, channel posts, bots: nothing to answer
		return
	}
	t := &pipeline.Turn{Channel: "telegram", ChannelMessageID: strconv.FormatInt(u.UpdateID, 10),
		CustomerRef: "tg:" + strconv.FormatInt(m.From.ID, 10), CustomerName: m.From.FirstName}
	t.Thread = "chat:" + strconv.FormatInt(m.Chat.ID, 10)
	t.ReplyTo, _ = json.Marshal(tgAddress{ChatID: m.Chat.ID})
	if text := strings.TrimSpace(m.Text + " " + m.Caption); text != "" {
		t.Parts = append(t.Parts, pipeline.Part{Kind: pipeline.PartText, Text: text})
	}
	if m.Voice != nil {
		t.Parts = append(t.Parts, pipeline.Part{Kind: pipeline.PartAudio, MIME: m.Voice.MimeType, Ref: m.Voice.FileID})
	}
	if len(m.Photo) > 0 {
		t.Parts = append(t.Parts, pipeline.Part{Kind: pipeline.PartImage, MIME: "image/jpeg", Ref: m.Photo[len(m.Photo)-1].FileID})
	}
	if len(t.Parts) == 0 {
		c.Status(http.StatusOK) // stickers, locations …: nothing to answer
		return
	}
	if s.ingest(c, t) {
		c.Status(http.StatusOK)
	}
}

// Send posts text to the chat with sendMessage.
func (tg *Telegram) Send(ctx context.Context, replyTo json.RawMessage, text string) error {
	var addr tgAddress
	if err := json.Unmarshal(replyTo, &addr); err != nil || addr.ChatID == 0 {
		return fmt.Errorf("telegram: reply address %s: no chat_id", replyTo)
	}
	var res struct {
		OK          bool   `json:"ok"`
		Description string `json:"description"`
	}
	url := strings.TrimRight(tg.APIBase, "/") + "/bot" + tg.BotToken + "/sendMessage"
	if err := postJSON(ctx, tg.client(), url, nil, map[string]any{"chat_id": addr.ChatID, "text": text}, &res); err != nil {
		return fmt.Errorf("telegram: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("telegram: sendMessage: %s", res.Description)
	}
	return nil
}

func (tg *Telegram) client() *http.Client {
	if tg.Client != nil {
		return tg.Client
	}
	return http.DefaultClient
}
