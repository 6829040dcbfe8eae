package gateway

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/channel/wecom"
)

// TestWeComRejectsStaleTimestamps (L2): a signed WeCom callback or URL check whose
// timestamp is more than 5 minutes from the clock is a replay and gets 401.
func TestWeComRejectsStaleTimestamps(t *testing.T) {
	now := time.Now()
	wc, err := wecom.New("ww-corp", "1000002", "app-secret", "cb-token", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "http://127.0.0.1:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	wc.Now = func() time.Time { return now }
	in := newInstanceWith(t, newPool(t), "replay"+strings.ToLower(t.Name()), nil, func(o *Options) { o.Channels = append(o.Channels, wc) })
	for _, tc := range []struct {
		name string
		skew time.Duration
		want int
	}{
		{"fresh", -4 * time.Minute, 200},
		{"replayed an hour later", -time.Hour, 401},
		{"just over 5 minutes old", -5*time.Minute - 2*time.Second, 401},
		{"from the future", 6 * time.Minute, 401},
	} {
		ts, nonce := strconv.FormatInt(now.Add(tc.skew).Unix(), 10), "77"
		echo, sig, err := wc.Seal([]byte("echo"), ts, nonce)
		if err != nil {
			t.Fatal(err)
		}
		q := "?msg_signature=" + sig + "&timestamp=" + ts + "&nonce=" + nonce
		if got := call(t, in.http.URL, "", "GET", "/v1/channels/wecom"+q+"&echostr="+url.QueryEscape(echo), nil, nil); got != tc.want {
			t.Errorf("%s: URL check %d, want %d", tc.name, got, tc.want)
		}
		msg := `<xml><FromUserName>u</FromUserName><MsgType>event</MsgType><MsgId>` + tc.name + `</MsgId></xml>`
		enc, sig, err := wc.Seal([]byte(msg), ts, nonce)
		if err != nil {
			t.Fatal(err)
		}
		q = "?msg_signature=" + sig + "&timestamp=" + ts + "&nonce=" + nonce
		if got := call(t, in.http.URL, "", "POST", "/v1/channels/wecom"+q, `<xml><Encrypt>`+enc+`</Encrypt></xml>`, nil); got != tc.want {
			t.Errorf("%s: callback %d, want %d", tc.name, got, tc.want)
		}
	}
}
