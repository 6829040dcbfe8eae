package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/asr/audio"
)

// countingEngine makes recognizers that report how many samples they heard and end an
// utterance every second of audio: enough of an engine to drive the vosk protocol.
type countingEngine struct{}

func (countingEngine) Name() string     { return "counting" }
func (countingEngine) Language() string { return "en" }
func (countingEngine) Close() error     { return nil }
func (countingEngine) NewRecognizer(context.Context, asr.RecognizerOptions) (asr.Recognizer, error) {
	return &countingRec{}, nil
}

type countingRec struct{ n int }

func (r *countingRec) Accept(pcm []int16) (string, *asr.Result, error) {
	r.n += len(pcm)
	if r.n >= asr.SampleRate {
		r.n = 0
		return "", &asr.Result{Text: "one", Words: []asr.Word{{Word: "one", End: 1, Conf: 1}}}, nil
	}
	return strings.Repeat("x", r.n%7), nil, nil
}
func (r *countingRec) Final() (asr.Result, error) { r.n = 0; return asr.Result{Text: "end"}, nil }
func (r *countingRec) Reset() error               { r.n = 0; return nil }
func (r *countingRec) Close() error               { return nil }

// FuzzVoskFrames opens /v1/asr/ws (the handler itself, without the auth middleware) and
// sends an arbitrary first frame (text or binary), arbitrary PCM, an arbitrary text frame
// and {"eof": 1}. Every answer is a vosk partial or result; the stream ends with a close
// code that blames the client or is normal (never an internal error), within seconds;
// and its recognizer goes back to the pool.
func FuzzVoskFrames(f *testing.F) {
	svc, err := asr.NewService(map[string]*asr.Pool{"en": asr.NewPool(countingEngine{}, 2, 0, 0, asr.RecognizerOptions{})},
		"en", audio.Limits{MaxDuration: 3 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	s := &speechSockets{errorWriter: errorWriter{log: slog.New(slog.DiscardHandler)}, speech: svc,
		streams: newGuards(RateLimits{}, prometheus.NewRegistry()), sockets: &socketSet{}, guard: &sessionGuard{}}
	gin.SetMode(gin.ReleaseMode)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := gin.CreateTestContext(w)
		c.Request = r
		s.asrSocket(c)
	}))
	f.Cleanup(hs.Close)
	url := "ws" + strings.TrimPrefix(hs.URL, "http")
	f.Add([]byte(`{"config": {"sample_rate": 8000, "words": 1}}`), false, make([]byte, 3200), []byte(`{"reset": 1}`))
	f.Add([]byte(`{"config": {"sample_rate": 16000.5, "phrase_list": ["one", "two"]}}`), false, []byte{1}, []byte(`{"eof": "0"}`))
	f.Add([]byte(`{"config": {"phrase_list": ["one"], "words": true}}`), false, make([]byte, 40000), []byte(`{"config": {}}`))
	f.Add([]byte{0, 1, 2}, true, []byte{}, []byte(`{"eof": true}`))
	f.Add([]byte(`{"eof": 1}`), false, []byte{}, []byte(`not json`))
	f.Fuzz(func(t *testing.T, first []byte, firstBinary bool, pcm, last []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		conn.SetReadLimit(1 << 20)
		done := make(chan websocket.StatusCode, 1)
		go func() { done <- readVosk(t, ctx, conn) }()
		typ := websocket.MessageText
		if firstBinary {
			typ = websocket.MessageBinary
		}
		frames := []struct {
			typ  websocket.MessageType
			data []byte
		}{{typ, first}, {websocket.MessageBinary, pcm}, {websocket.MessageText, last}, {websocket.MessageText, []byte(`{"eof": 1}`)}}
		for _, fr := range frames {
			if conn.Write(ctx, fr.typ, fr.data) != nil {
				break // the server has closed
			}
		}
		var code websocket.StatusCode
		select {
		case code = <-done:
		case <-ctx.Done():
			t.Fatal("the stream did not end")
		}
		switch code {
		case websocket.StatusNormalClosure, websocket.StatusPolicyViolation, websocket.StatusUnsupportedData,
			websocket.StatusMessageTooBig, websocket.StatusTryAgainLater:
		default:
			t.Fatalf("closed with %v", code)
		}
		for deadline := time.Now().Add(5 * time.Second); svc.Stats()["en"].InUse != 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("a recognizer was not given back: %+v", svc.Stats())
			}
		}
	})
}

// readVosk reads the server's frames until it closes and returns the close code; every
// frame must be a vosk partial or result.
func readVosk(t *testing.T, ctx context.Context, conn *websocket.Conn) websocket.StatusCode {
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return websocket.CloseStatus(err)
		}
		var frame map[string]json.RawMessage
		if typ != websocket.MessageText || json.Unmarshal(data, &frame) != nil {
			t.Errorf("frame %q", data)
			return -1
		}
		_, partial := frame["partial"]
		_, text := frame["text"]
		if partial == text || len(frame) > 2 {
			t.Errorf("frame %s", data)
			return -1
		}
	}
}
