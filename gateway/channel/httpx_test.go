package channel_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/channel/channeltest"
)

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://api.telegram.org/bot123:ABC-def/sendMessage", "https://api.telegram.org/bot…/sendMessage"},
		{"https://api.telegram.org/file/bot123:ABC/voice/file_7.oga", "https://api.telegram.org/file/bot…/voice/file_7.oga"},
		{"https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret=S3cr3t", "https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=…&corpsecret=…"},
		{"https://qyapi.weixin.qq.com/cgi-bin/message/send?access_token=AT-1", "https://qyapi.weixin.qq.com/cgi-bin/message/send?access_token=…"},
		{"https://user:pass@crm.example.com/hook", "https://crm.example.com/hook"},
		{"https://slack.com/api/chat.postMessage", "https://slack.com/api/chat.postMessage"},
		{"http://[::1]:%zz/bot1/x", "(an invalid URL)"},
	} {
		if got := channel.RedactURL(tc.in); got != tc.want {
			t.Errorf("channel.RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestTransportErrorsNameNoSecrets (M2): a refused connection, a timeout and a bad URL
// produce errors that keep their cause but not the token in the URL.
func TestTransportErrorsNameNoSecrets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	hang := httptest.NewServer(http.HandlerFunc(channeltest.HangUp))
	defer hang.Close()
	client := &http.Client{Timeout: 200 * time.Millisecond}
	const token = "999:SECRET-token"
	for _, tc := range []struct {
		name      string
		err       error
		isTimeout bool
	}{
		{"refused", channel.PostJSON(context.Background(), client, closed+"/bot"+token+"/sendMessage", nil, map[string]string{}, nil), false},
		{"timeout", channel.PostJSON(context.Background(), client, hang.URL+"/cgi-bin/message/send?access_token="+token, nil, map[string]string{}, nil), true},
		{"media timeout", func() error {
			_, _, err := channel.Get(context.Background(), client, hang.URL+"/file/bot"+token+"/a.jpg", 10)
			return err
		}(), true},
		{"bad url", channel.PostJSON(context.Background(), client, "http://h\x7f/bot"+token, nil, map[string]string{}, nil), false},
	} {
		if tc.err == nil || strings.Contains(tc.err.Error(), token) || strings.Contains(tc.err.Error(), "SECRET") {
			t.Errorf("%s: %v", tc.name, tc.err)
		}
		var ne net.Error
		if tc.isTimeout && !(errors.As(tc.err, &ne) && ne.Timeout()) {
			t.Errorf("%s: %v is no longer a timeout", tc.name, tc.err)
		}
	}
}
