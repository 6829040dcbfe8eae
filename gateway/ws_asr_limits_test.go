package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/asr/audio"
)

// TestASRStreamsCannotMonopoliseRecognizers: a user has one live stream at most and an
// address a few; streams never get the recognizer reserved for voice notes, so a note
// is transcribed while every stream slot is taken; a stream that trickles audio, or
// stays open past 1.2 × the longest stream, is closed.
func TestASRStreamsCannotMonopoliseRecognizers(t *testing.T) {
	shared, err := speechService(t).Pool("")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := asr.NewService(map[string]*asr.Pool{"en": asr.NewPool(shared.Engine(), 3, 0, 0, asr.RecognizerOptions{})}, "",
		audio.Limits{MaxDuration: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	svc.ReserveForRecordings(1)
	in := newInstanceWith(t, newPool(t), "asrlimits", nil, func(o *Options) {
		o.Speech = svc
		o.Limits = RateLimits{SpeechStreamsPerIP: 2}
	})
	open := func(user string) *voskClient {
		t.Helper()
		c, resp, err := dialASR(t, in.http.URL, in.token(t, user, RoleCustomer), "")
		if err != nil {
			t.Fatalf("%s: %v (%v)", user, err, resp)
		}
		return c // the recognizer is taken before the upgrade
	}
	refused := func(user, says string) {
		t.Helper()
		_, resp, err := dialASR(t, in.http.URL, in.token(t, user, RoleCustomer), "")
		if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%s: %v, want 429 (%s)", user, err, says)
		}
	}
	first := open("web:s1")
	refused("web:s1", "one stream per user")
	second := open("web:s2")
	refused("web:s3", "two streams per address")

	start := time.Now()
	tr, err := svc.TranscribeAudio(context.Background(), "", voiceNote(t, "how do i reset my password"))
	if err != nil || tr.Text != "how do i reset my password" {
		t.Fatalf("voice note while every stream slot is taken: %q, %v", tr.Text, err)
	}
	t.Logf("voice note transcribed in %s beside two live streams", time.Since(start))
	first.conn.Close(websocket.StatusNormalClosure, "")
	second.conn.Close(websocket.StatusNormalClosure, "")

	closedWith := func(user string, frame int, every time.Duration) (websocket.StatusCode, string, time.Duration) {
		t.Helper()
		var c *voskClient
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			var err error
			if c, _, err = dialASR(t, in.http.URL, in.token(t, user, RoleCustomer), ""); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no stream slot came back: %v", user, err)
			}
		}
		start := time.Now()
		for time.Since(start) < 10*time.Second {
			err := c.conn.Write(context.Background(), websocket.MessageBinary, make([]byte, frame))
			if err == nil {
				if _, err = c.read(); err == nil {
					time.Sleep(every)
					continue
				}
			} else {
				_, err = c.read() // the close frame, when the server closed first
			}
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason, time.Since(start)
			}
			return websocket.CloseStatus(err), "", time.Since(start)
		}
		t.Fatalf("%s: the stream was never closed", user)
		return 0, "", 0
	}
	// 0.1 s of audio every 0.2 s: half of real time, under the 3 s limit for 3.6 s
	code, reason, after := closedWith("web:s4", 3200, 200*time.Millisecond)
	if code != websocket.StatusPolicyViolation || !strings.Contains(reason, "open for more than") || after < 3*time.Second {
		t.Fatalf("stream at half of real time: closed after %s with %v %q, want a policy violation after 3.6 s", after, code, reason)
	}
	// 5 ms of audio every 0.1 s: 5 % of real time
	code, reason, after = closedWith("web:s5", 160, 100*time.Millisecond)
	if code != websocket.StatusPolicyViolation || !strings.Contains(reason, "real time") || after > 2*time.Second {
		t.Fatalf("trickling stream: closed after %s with %v %q, want a policy violation within a second", after, code, reason)
	}
}
