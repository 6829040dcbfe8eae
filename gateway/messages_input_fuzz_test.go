package gateway

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/flow"
)

// fuzzMessageServer reads REST messages with small media limits and a media budget, so
// that every limit of the reader is within a fuzzer's reach.
func fuzzMessageServer() *messageRoutes {
	return &messageRoutes{maxBody: 1 << 20, maxImage: 4 << 10, maxAudio: 6 << 10,
		media: flow.NewMediaBudget(256<<10, time.Millisecond, prometheus.NewRegistry())}
}

// multipartSeed builds a multipart body with the given parts (name → contents; a name
// starting with "file:" becomes a file part).
func multipartSeed(f *testing.F, boundary string, parts [][2]string) []byte {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.SetBoundary(boundary); err != nil {
		f.Fatal(err)
	}
	for _, p := range parts {
		if name, ok := strings.CutPrefix(p[0], "file:"); ok {
			fw, err := w.CreateFormFile(name, name+".bin")
			if err == nil {
				_, err = fw.Write([]byte(p[1]))
			}
			if err != nil {
				f.Fatal(err)
			}
			continue
		}
		if err := w.WriteField(p[0], p[1]); err != nil {
			f.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	return b.Bytes()
}

// FuzzMessageInput feeds POST /v1/messages bodies, JSON or multipart with any boundary,
// to the REST message reader under the route's body limit: it never panics, refuses
// only with client errors (4xx), and what it accepts keeps the message's limits — text of
// at most 16 KiB, at most 4 photos and 2 voice notes each within its own limit, ids of at
// most 16 KiB read — and gives back every byte of media memory it reserved.
func FuzzMessageInput(f *testing.F) {
	const boundary = "fuzzboundary"
	f.Add([]byte(`{"text":"hello","conversation_id":"","message_id":"m1","display_name":"Wang"}`), false, boundary)
	f.Add([]byte(`{"text":"x","images":[{"data":"AAAA","mime":"image/png"}]}`), false, boundary)
	f.Add([]byte("{\"text\":\"\xff\xfe hi\"}"), false, boundary)
	f.Add([]byte(`{"text":"a"} {"text":"b"}`), false, boundary)
	f.Add(multipartSeed(f, boundary, [][2]string{{"text", "the parcel"}, {"file:image", "\x89PNG\r\n\x1a\n"}, {"file:audio", "RIFF"}}), true, boundary)
	f.Add(multipartSeed(f, boundary, [][2]string{{"file:image", string(make([]byte, 5<<10))}}), true, boundary)
	f.Add(multipartSeed(f, boundary, [][2]string{{"unknown", "x"}}), true, boundary)
	f.Add([]byte("--fuzzboundary\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nunterminated"), true, boundary)
	gin.SetMode(gin.ReleaseMode)
	s := fuzzMessageServer()
	f.Fuzz(func(t *testing.T, body []byte, asMultipart bool, boundary string) {
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		req := httptest.NewRequest(http.MethodPost, messagesRoute, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if asMultipart {
			req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		}
		c.Request = req
		limit, _ := s.messageBodyLimit(c)
		req.Body = http.MaxBytesReader(w, req.Body, limit)
		in, hold, err := s.readMessage(c)
		hold.Release()
		if used, _ := s.media.InUse(); used != 0 {
			t.Fatalf("%d bytes of media memory still held after the message", used)
		}
		if err != nil {
			if status, _ := statusOf(err); status < 400 || status >= 500 {
				t.Fatalf("refused with %d: %v", status, err)
			}
			return
		}
		if len(in.Text) > maxTextBytes || len(in.MessageID) > maxFieldBytes || len(in.ConversationID) > maxFieldBytes ||
			len(in.DisplayName) > maxFieldBytes {
			t.Fatalf("a field over its limit: text %d, ids %d/%d/%d bytes", len(in.Text), len(in.MessageID), len(in.ConversationID), len(in.DisplayName))
		}
		if !asMultipart && !utf8.ValidString(in.Text) {
			t.Fatalf("JSON text %q is not UTF-8", in.Text)
		}
		if len(in.Images) > maxImagesPerMessage || len(in.Audio) > maxAudioPerMessage {
			t.Fatalf("%d images and %d voice notes accepted", len(in.Images), len(in.Audio))
		}
		for _, m := range in.Images {
			if int64(len(m.Data)) > s.maxImage {
				t.Fatalf("an image of %d bytes accepted (limit %d)", len(m.Data), s.maxImage)
			}
		}
		for _, m := range in.Audio {
			if int64(len(m.Data)) > s.maxAudio {
				t.Fatalf("a voice note of %d bytes accepted (limit %d)", len(m.Data), s.maxAudio)
			}
		}
	})
}
