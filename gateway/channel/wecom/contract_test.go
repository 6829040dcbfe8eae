package wecom

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/channel/channeltest"
)

const (
	corpID      = "ww-corp"
	appSecret   = "app-secret-canary"
	cbToken     = "cb-token-canary"
	aesKey      = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	accessToken = "access-token-canary"
)

// callback seals msg as WeCom does and signs it (with the wrong token when forged).
func callback(t *testing.T, ch channel.Channel, msg string, forged bool) *http.Request {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	enc, sig, err := ch.(*Channel).Seal([]byte(msg), ts, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if forged {
		other, _ := newCrypt("guessed", aesKey, corpID)
		sig = other.signature(ts, "n1", enc)
	}
	q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {"n1"}}
	body := "<xml><ToUserName>" + corpID + "</ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
	return httptest.NewRequest(http.MethodPost, "/v1/channels/wecom?"+q.Encode(), strings.NewReader(body))
}

// fakeAPI speaks gettoken, message/send and media/get.
func fakeAPI(api *channeltest.API) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case r.URL.Path == "/cgi-bin/gettoken" && q.Get("corpsecret") == appSecret:
			fmt.Fprintf(w, `{"errcode":0,"errmsg":"ok","access_token":%q,"expires_in":7200}`, accessToken)
		case q.Get("access_token") != accessToken:
			fmt.Fprint(w, `{"errcode":40014,"errmsg":"invalid access_token"}`)
		case r.URL.Path == "/cgi-bin/message/send":
			var in struct {
				Text struct{ Content string } `json:"text"`
			}
			_ = json.NewDecoder(r.Body).Decode(&in)
			api.Sent(in.Text.Content)
			fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
		case r.URL.Path == "/cgi-bin/media/get":
			data, ok := api.Files[q.Get("media_id")]
			if !ok {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"errcode":40007,"errmsg":"invalid media_id"}`)
				return
			}
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(data)
		default:
			http.NotFound(w, r)
		}
	})
}

func TestContract(t *testing.T) {
	channeltest.Run(t, channeltest.Kit{
		Kind: Kind,
		Settings: func(apiURL string) channel.Settings {
			return channel.Settings{"corp_id": corpID, "agent_id": "1000002", "secret": appSecret, "token": cbToken,
				"encoding_aes_key": aesKey, "api_base": apiURL}
		},
		Message: func(t *testing.T, ch channel.Channel, id, from, text string) *http.Request {
			return callback(t, ch, "<xml><FromUserName>u"+from+"</FromUserName><MsgType>text</MsgType><Content><![CDATA["+text+"]]></Content><MsgId>"+id+"</MsgId></xml>", false)
		},
		Forged: func(t *testing.T, ch channel.Channel, id, from, text string) *http.Request {
			return callback(t, ch, "<xml><FromUserName>u"+from+"</FromUserName><MsgType>text</MsgType><Content>"+text+"</Content><MsgId>"+id+"</MsgId></xml>", true)
		},
		Media: func(t *testing.T, ch channel.Channel, id, from, ref string) *http.Request {
			return callback(t, ch, "<xml><FromUserName>u"+from+"</FromUserName><MsgType>image</MsgType><MediaId>"+ref+"</MediaId><MsgId>"+id+"</MsgId></xml>", false)
		},
		API:     fakeAPI,
		Secrets: []string{appSecret, cbToken, aesKey, accessToken},
	})
}
