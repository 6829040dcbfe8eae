package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/asr/audio"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// voskFrame is any server frame of the vosk-server protocol.
type voskFrame struct {
	Partial *string    `json:"partial"`
	Text    *string    `json:"text"`
	Result  []asr.Word `json:"result"`
}

// voskClient speaks the vosk-server protocol the way its sample clients do: an optional
// config, binary chunks each answered by one frame, then eof.
type voskClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialASR(t *testing.T, base, token, query string) (*voskClient, *http.Response, error) {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/v1/asr/ws?access_token=" + token + query
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &voskClient{t, conn}, resp, nil
}

func (c *voskClient) text(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	if err := c.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *voskClient) read() (voskFrame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, b, err := c.conn.Read(ctx)
	if err != nil {
		return voskFrame{}, err
	}
	var f voskFrame
	if err := json.Unmarshal(b, &f); err != nil {
		c.t.Fatalf("frame %s: %v", b, err)
	}
	return f, nil
}

// stream sends pcm (16-bit LE at any rate) in chunks of chunkBytes, reading one frame per
// chunk, then eof; it returns the utterance results and the final one, and checks the
// server then closes normally.
func (c *voskClient) stream(pcm []byte, chunkBytes int) (results []voskFrame, partials int) {
	c.t.Helper()
	for off := 0; off < len(pcm); off += chunkBytes {
		if err := c.conn.Write(context.Background(), websocket.MessageBinary, pcm[off:min(off+chunkBytes, len(pcm))]); err != nil {
			c.t.Fatal(err)
		}
		f, err := c.read()
		if err != nil {
			c.t.Fatal(err)
		}
		switch {
		case f.Partial != nil:
			partials++
		case f.Text != nil:
			results = append(results, f)
		default:
			c.t.Fatalf("frame is neither partial nor result: %+v", f)
		}
	}
	c.text(map[string]int{"eof": 1})
	f, err := c.read()
	if err != nil || f.Text == nil {
		c.t.Fatalf("final: %+v %v", f, err)
	}
	results = append(results, f)
	if _, err := c.read(); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		c.t.Fatalf("after eof: %v, want a normal close", err)
	}
	return results, partials
}

func joined(results []voskFrame) string {
	var parts []string
	for _, r := range results {
		if s := strings.TrimSpace(*r.Text); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

func le16(pcm []int16) []byte {
	b := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		b[2*i], b[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
	return b
}

// resampleWithSox converts 16 kHz PCM to rate with sox (an independent resampler).
func resampleWithSox(t *testing.T, pcm []int16, rate int) []byte {
	t.Helper()
	bin, err := exec.LookPath("sox")
	if err != nil {
		if testenv.InCI() {
			t.Fatal("sox not installed")
		}
		t.Skip("sox not installed (apt-get install sox)")
	}
	in := filepath.Join(t.TempDir(), "in.raw")
	if err := os.WriteFile(in, le16(pcm), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-t", "raw", "-r", "16000", "-e", "signed-integer", "-b", "16", "-c", "1", in,
		"-t", "raw", "-r", itoa(rate), "-e", "signed-integer", "-b", "16", "-c", "1", "-").Output()
	if err != nil {
		t.Fatalf("sox: %v", err)
	}
	return out
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestASRWebSocketSpeaksVoskProtocol streams a customer's sentence the way vosk-server's
// clients do: without a config at 16 kHz, with {"sample_rate": 48000, "words": 1}
// (resampled by the server; word timings in the results), and with a phrase_list (a
// recognizer of its own). Each chunk gets one partial or result frame, eof the final
// result and a normal close.
func TestASRWebSocketSpeaksVoskProtocol(t *testing.T) {
	svc := speechService(t)
	in := newInstanceWith(t, newPool(t), "asrws", nil, func(o *Options) { o.Speech = svc })
	tok := in.token(t, "web:asr-1", RoleCustomer)
	const sentence = "how do i reset my password"
	pcm, _, err := audio.Decode(voiceNote(t, sentence), audio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	pcm = append(pcm, make([]int16, asr.SampleRate/2)...) // half a second of silence after it

	t.Run("16 kHz, no config", func(t *testing.T) {
		c, _, err := dialASR(t, in.http.URL, tok, "")
		if err != nil {
			t.Fatal(err)
		}
		results, partials := c.stream(le16(pcm), 8000) // 0.25 s chunks
		if got := joined(results); got != sentence || partials == 0 {
			t.Fatalf("text %q after %d partials, want %q", got, partials, sentence)
		}
		for _, r := range results {
			if r.Result != nil {
				t.Fatalf("word timings without words=1: %+v", r)
			}
		}
	})
	t.Run("48 kHz with words", func(t *testing.T) {
		c, _, err := dialASR(t, in.http.URL, tok, "&lang=en")
		if err != nil {
			t.Fatal(err)
		}
		c.text(map[string]any{"config": map[string]any{"sample_rate": 48000, "words": 1}})
		results, _ := c.stream(resampleWithSox(t, pcm, 48000), 24000)
		if got := joined(results); got != sentence {
			t.Fatalf("48 kHz: %q, want %q", got, sentence)
		}
		var words []asr.Word
		for _, r := range results {
			words = append(words, r.Result...)
		}
		if len(words) == 0 {
			t.Fatal("no word timings")
		}
		for i, w := range words {
			if w.End < w.Start || (i > 0 && w.Start < words[i-1].Start) || w.End > float64(len(pcm))/asr.SampleRate+0.1 {
				t.Fatalf("word times out of order or past the audio: %+v", words)
			}
		}
	})
	t.Run("phrase list", func(t *testing.T) {
		c, _, err := dialASR(t, in.http.URL, tok, "")
		if err != nil {
			t.Fatal(err)
		}
		c.text(map[string]any{"config": map[string]any{"phrase_list": []string{sentence, "where is my delivery", "cancel my order"}}})
		results, _ := c.stream(le16(pcm), 16000)
		if got := joined(results); got != sentence {
			t.Fatalf("with phrases %q, want %q", got, sentence)
		}
	})
}

// TestASRWebSocketErrors: clear answers for bad input, before the upgrade as HTTP where
// possible and as close codes after it; a busy pool is 429.
func TestASRWebSocketErrors(t *testing.T) {
	base := speechService(t)
	pool, err := base.Pool("")
	if err != nil {
		t.Fatal(err)
	}
	one := asr.NewPool(pool.Engine(), 1, 0, 0, asr.RecognizerOptions{})
	svc, err := asr.NewService(map[string]*asr.Pool{"en": one}, "", audio.Limits{MaxDuration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	in := newInstanceWith(t, newPool(t), "asrwserr", nil, func(o *Options) { o.Speech = svc })
	tok := in.token(t, "web:asr-2", RoleCustomer)

	for name, q := range map[string]string{"unknown language": "&lang=xx"} {
		if _, resp, err := dialASR(t, in.http.URL, tok, q); err == nil || resp == nil || resp.StatusCode != 400 {
			t.Errorf("%s: %v, want 400", name, err)
		}
	}
	if _, resp, err := dialASR(t, in.http.URL, "not-a-token", ""); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Errorf("bad token: %v, want 401", err)
	}
	closeCode := func(frames ...any) websocket.StatusCode {
		t.Helper()
		c, _, err := dialASR(t, in.http.URL, tok, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			if b, ok := f.([]byte); ok {
				c.conn.Write(context.Background(), websocket.MessageBinary, b)
			} else if s, ok := f.(string); ok {
				c.conn.Write(context.Background(), websocket.MessageText, []byte(s))
			} else {
				c.text(f)
			}
		}
		for {
			if _, err := c.read(); err != nil {
				return websocket.CloseStatus(err)
			}
		}
	}
	for name, tt := range map[string]struct {
		frames []any
		want   websocket.StatusCode
	}{
		"sample rate out of range": {[]any{map[string]any{"config": map[string]any{"sample_rate": 100}}}, websocket.StatusPolicyViolation},
		"fractional sample rate":   {[]any{map[string]any{"config": map[string]any{"sample_rate": 8000.5}}}, websocket.StatusPolicyViolation},
		"not JSON":                 {[]any{"hello"}, websocket.StatusUnsupportedData},
		"unknown frame":            {[]any{map[string]any{"hello": 1}}, websocket.StatusUnsupportedData},
		"late config":              {[]any{make([]byte, 3200), map[string]any{"config": map[string]any{"sample_rate": 8000}}}, websocket.StatusPolicyViolation},
		"over the duration limit":  {[]any{make([]byte, 32000), make([]byte, 32000), make([]byte, 32000)}, websocket.StatusMessageTooBig},
		"odd bytes then eof":       {[]any{make([]byte, 3), make([]byte, 5), map[string]int{"eof": 1}}, websocket.StatusNormalClosure},
	} {
		if got := closeCode(tt.frames...); got != tt.want {
			t.Errorf("%s: closed with %v, want %v", name, got, tt.want)
		}
	}

	// The only recognizer is in use: the next stream is refused before the upgrade.
	busy, _, err := dialASR(t, in.http.URL, tok, "")
	if err != nil {
		t.Fatal(err)
	}
	busy.conn.Write(context.Background(), websocket.MessageBinary, make([]byte, 3200))
	if _, err := busy.read(); err != nil {
		t.Fatal(err)
	}
	_, resp, err := dialASR(t, in.http.URL, in.token(t, "web:asr-3", RoleCustomer), "")
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second stream on a pool of one: %v, want 429", err)
	}
	busy.conn.Close(websocket.StatusNormalClosure, "")
	// once it is back, a stream gets it again
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, _, err := dialASR(t, in.http.URL, tok, "")
		if err == nil {
			c.conn.Close(websocket.StatusNormalClosure, "")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("recognizer not returned to the pool: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
