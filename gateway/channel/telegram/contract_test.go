package telegram

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/channel/channeltest"
)

const (
	token  = "123456:AAbot-token-canary"
	secret = "tg-secret-canary"
)

func delivery(id, from string, msg map[string]any) *http.Request {
	uid, _ := strconv.ParseInt(id, 10, 64)
	fid, _ := strconv.ParseInt(from, 10, 64)
	msg["message_id"], msg["date"] = uid, 1
	msg["from"] = map[string]any{"id": fid, "is_bot": false, "first_name": "Ming"}
	msg["chat"] = map[string]any{"id": fid, "type": "private"}
	body, _ := json.Marshal(map[string]any{"update_id": uid, "message": msg})
	r := httptest.NewRequest(http.MethodPost, "/v1/channels/telegram", strings.NewReader(string(body)))
	r.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	return r
}

// fakeBotAPI speaks sendMessage, getFile and the file download of the Bot API.
func fakeBotAPI(api *channeltest.API) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		switch {
		case r.URL.Path == "/bot"+token+"/sendMessage":
			text, _ := in["text"].(string)
			api.Sent(text)
			fmt.Fprint(w, `{"ok":true,"result":{}}`)
		case r.URL.Path == "/bot"+token+"/getFile":
			ref, _ := in["file_id"].(string)
			if _, ok := api.Files[ref]; !ok {
				fmt.Fprint(w, `{"ok":false,"description":"Bad Request: invalid file_id"}`)
				return
			}
			fmt.Fprintf(w, `{"ok":true,"result":{"file_id":%q,"file_path":"photos/%s.jpg"}}`, ref, ref)
		case strings.HasPrefix(r.URL.Path, "/file/bot"+token+"/photos/"):
			ref := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/file/bot"+token+"/photos/"), ".jpg")
			w.Write(api.Files[ref])
		default:
			http.NotFound(w, r)
		}
	})
}

func TestContract(t *testing.T) {
	channeltest.Run(t, channeltest.Kit{
		Kind: Kind,
		Settings: func(apiURL string) channel.Settings {
			return channel.Settings{"bot_token": token, "secret_token": secret, "api_base": apiURL}
		},
		Message: func(t *testing.T, _ channel.Channel, id, from, text string) *http.Request {
			return delivery(id, from, map[string]any{"text": text})
		},
		Forged: func(t *testing.T, _ channel.Channel, id, from, text string) *http.Request {
			r := delivery(id, from, map[string]any{"text": text})
			r.Header.Set("X-Telegram-Bot-Api-Secret-Token", "guessed")
			return r
		},
		Media: func(t *testing.T, _ channel.Channel, id, from, ref string) *http.Request {
			return delivery(id, from, map[string]any{"photo": []map[string]any{{"file_id": "thumb"}, {"file_id": ref}}})
		},
		API:     fakeBotAPI,
		Secrets: []string{token, secret},
	})
}

// TestRegionFromTheLanguageTag: a Telegram user's language tag gives the turn its region
// when it names one outright.
func TestRegionFromTheLanguageTag(t *testing.T) {
	tg := &Channel{SecretToken: secret, BotToken: token}
	for code, want := range map[string]string{"pt-br": "BR", "en-GB": "GB", "en": "", "zh-hans": "", "": "", "x-y-z!": ""} {
		r := delivery("7", "42", map[string]any{"text": "hi"})
		body := strings.Replace(readAll(t, r), `"first_name":"Ming"`, `"first_name":"Ming","language_code":`+strconv.Quote(code), 1)
		r = httptest.NewRequest(http.MethodPost, "/v1/channels/telegram", strings.NewReader(body))
		r.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		d, err := tg.Receive(r)
		if err != nil || len(d.Turns) != 1 {
			t.Fatalf("%q: %v %+v", code, err, d)
		}
		if got := d.Turns[0].Region; got != want {
			t.Errorf("language %q: region %q, want %q", code, got, want)
		}
	}
}

func readAll(t *testing.T, r *http.Request) string {
	t.Helper()
	var b strings.Builder
	if _, err := io.Copy(&b, r.Body); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestVideoNotesAreVideoParts: a round video note and a video sent as such reach the
// pipeline as video parts to fetch by their file ids, with the caption as text.
func TestVideoNotesAreVideoParts(t *testing.T) {
	ch, err := Kind.Open(channel.Settings{"bot_token": token, "secret_token": secret}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		msg  map[string]any
		want []string
	}{
		{map[string]any{"video_note": map[string]any{"file_id": "vn-1", "length": 240, "duration": 4}}, []string{"video video/mp4 vn-1"}},
		{map[string]any{"caption": "it broke", "video": map[string]any{"file_id": "v-2", "mime_type": "video/webm", "duration": 9}},
			[]string{"text it broke", "video video/webm v-2"}},
	} {
		d, err := ch.Receive(delivery("7", "42", tc.msg))
		if err != nil || len(d.Turns) != 1 {
			t.Fatalf("%v: %+v, %v", tc.msg, d, err)
		}
		var got []string
		for _, p := range d.Turns[0].Parts {
			got = append(got, strings.Join(strings.Fields(string(p.Kind)+" "+p.MIME+" "+p.Ref+" "+p.Text), " "))
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("parts %q, want %q", got, tc.want)
		}
	}
}
