// Package telegram is the Telegram Bot API channel: webhook updates in (checked against
// setWebhook's secret_token), sendMessage out, voice notes and photos fetched by file_id.
package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/text/language"

	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

// Kind registers the channel: settings bot_token, secret_token (on when set), api_base.
var Kind = channel.Kind{Name: "telegram", Open: func(s channel.Settings, client *http.Client) (channel.Channel, error) {
	if s["secret_token"] == "" {
		return nil, nil
	}
	return &Channel{BotToken: s["bot_token"], SecretToken: s["secret_token"], APIBase: s["api_base"], Client: client}, nil
}}

// Channel is one Telegram bot.
type Channel struct {
	BotToken    string
	SecretToken string // setWebhook's secret_token, checked on every update
	APIBase     string // https://api.telegram.org
	Client      *http.Client
}

// Name is "telegram".
func (*Channel) Name() string { return Kind.Name }

// update is the part of a Bot API Update the channel reads.
type update struct {
	UpdateID int64    `json:"update_id"`
	Message  *message `json:"message"`
}

type message struct {
	MessageID int64 `json:"message_id"`
	From      *struct {
		ID        int64  `json:"id"`
		IsBot     bool   `json:"is_bot"`
		FirstName string `json:"first_name"`
		// LanguageCode is the IETF tag of the user's language ("en", "pt-br")
		LanguageCode string `json:"language_code"`
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
	// VideoNote is a round video message (MPEG-4); Video a video sent as such.
	VideoNote *struct {
		FileID   string `json:"file_id"`
		Duration int    `json:"duration"`
	} `json:"video_note"`
	Video *struct {
		FileID   string `json:"file_id"`
		MimeType string `json:"mime_type"`
		Duration int    `json:"duration"`
	} `json:"video"`
}

type address struct {
	ChatID int64 `json:"chat_id"`
}

// regionOf is the region a user's language tag names outright ("pt-br" → BR), whose phone
// notation redaction then reads first; "" when the tag names a language alone ("en",
// "zh-hans"), which says nothing sure of the country.
func regionOf(tag string) string {
	t, err := language.Parse(tag)
	if err != nil {
		return ""
	}
	if r, conf := t.Region(); conf == language.Exact {
		return r.String()
	}
	return ""
}

// Receive reads an update: a customer's text, caption, voice note or photo in a chat.
func (tg *Channel) Receive(r *http.Request) (channel.Delivery, error) {
	got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
	if subtle.ConstantTimeCompare([]byte(got), []byte(tg.SecretToken)) != 1 {
		return channel.Delivery{}, fmt.Errorf("%w: missing or wrong X-Telegram-Bot-Api-Secret-Token header (the secret_token given to setWebhook)", channel.ErrUnauthenticated)
	}
	body, err := channel.ReadBody(r)
	if err != nil {
		return channel.Delivery{}, err
	}
	var u update
	if err := channel.DecodeVerified(body, &u, "Telegram update"); err != nil {
		return channel.Delivery{}, err
	}
	m := u.Message
	if m == nil || m.From == nil || m.From.IsBot {
		return channel.Delivery{}, nil // edits, channel posts, bots: nothing to answer
	}
	t := &pipeline.Turn{Channel: Kind.Name, ChannelMessageID: strconv.FormatInt(u.UpdateID, 10),
		CustomerRef: "tg:" + strconv.FormatInt(m.From.ID, 10), CustomerName: m.From.FirstName,
		Region: regionOf(m.From.LanguageCode)}
	t.Thread = "chat:" + strconv.FormatInt(m.Chat.ID, 10)
	t.ReplyTo, _ = json.Marshal(address{ChatID: m.Chat.ID})
	if text := strings.TrimSpace(m.Text + " " + m.Caption); text != "" {
		t.Parts = append(t.Parts, pipeline.Part{Kind: pipeline.PartText, Text: text})
	}
	if m.Voice != nil {
		t.Parts = append(t.Parts, pipeline.Part{Kind: pipeline.PartAudio, MIME: m.Voice.MimeType, Ref: m.Voice.FileID})
	}
	if len(m.Photo) > 0 {
		t.Parts = append(t.Parts, pipeline.Part{Kind: pipeline.PartImage, MIME: "image/jpeg", Ref: m.Photo[len(m.Photo)-1].FileID})
	}
	if m.VideoNote != nil {
		t.Parts = append(t.Parts, pipeline.Part{Kind: pipeline.PartVideo, MIME: "video/mp4", Ref: m.VideoNote.FileID})
	}
	if m.Video != nil {
		t.Parts = append(t.Parts, pipeline.Part{Kind: pipeline.PartVideo, MIME: m.Video.MimeType, Ref: m.Video.FileID})
	}
	if len(t.Parts) == 0 {
		return channel.Delivery{}, nil // stickers, locations …: nothing to answer
	}
	return channel.Delivery{Turns: []*pipeline.Turn{t}}, nil
}

// Send posts text to the chat with sendMessage.
func (tg *Channel) Send(ctx context.Context, replyTo json.RawMessage, text string) error {
	var addr address
	if err := json.Unmarshal(replyTo, &addr); err != nil || addr.ChatID == 0 {
		return fmt.Errorf("telegram: reply address %s: no chat_id", replyTo)
	}
	var res struct {
		OK          bool   `json:"ok"`
		Description string `json:"description"`
	}
	url := strings.TrimRight(tg.APIBase, "/") + "/bot" + tg.BotToken + "/sendMessage"
	if err := channel.PostJSON(ctx, tg.Client, url, nil, map[string]any{"chat_id": addr.ChatID, "text": text}, &res); err != nil {
		return fmt.Errorf("telegram: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("telegram: sendMessage: %s", res.Description)
	}
	return nil
}

// FetchMedia downloads a file by file_id: getFile, then the file path under /file/bot….
func (tg *Channel) FetchMedia(ctx context.Context, ref string, max int64) ([]byte, error) {
	base := strings.TrimRight(tg.APIBase, "/")
	var res struct {
		OK     bool `json:"ok"`
		Result struct {
			FilePath string `json:"file_path"`
			FileSize int64  `json:"file_size"`
		} `json:"result"`
		Description string `json:"description"`
	}
	if err := channel.PostJSON(ctx, tg.Client, base+"/bot"+tg.BotToken+"/getFile", nil, map[string]string{"file_id": ref}, &res); err != nil {
		return nil, fmt.Errorf("telegram: getFile: %w", err)
	}
	if !res.OK || res.Result.FilePath == "" {
		return nil, fmt.Errorf("telegram: getFile: %s", res.Description)
	}
	if res.Result.FileSize > max {
		return nil, fmt.Errorf("telegram: %w (%d bytes)", channel.ErrMediaTooLarge, res.Result.FileSize)
	}
	_, data, err := channel.Get(ctx, tg.Client, base+"/file/bot"+tg.BotToken+"/"+res.Result.FilePath, max)
	if err != nil {
		return nil, fmt.Errorf("telegram: file: %w", err)
	}
	return data, nil
}
