package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/asr/audio"
)

// The vosk-server protocol (alphacep/vosk-server, websocket/asr_server.py), which
// existing Vosk clients speak:
//
//   - optionally first, a text frame {"config": {"sample_rate": 8000, "words": 1,
//     "phrase_list": ["one", "two"]}};
//   - binary frames of 16-bit little-endian mono PCM at the sample rate (16000 when no
//     config said otherwise); each is answered with {"partial": "…"} or, when an
//     utterance ended, {"text": "…", "result": [{"word", "start", "end", "conf"}]}
//     ("result" only with words);
//   - {"eof": 1} is answered with the final result, then the server closes;
//     {"reset": 1} is answered with the final result and the stream goes on.
const (
	asrReadLimit   = 1 << 20          // bytes per frame
	asrIdleTimeout = 30 * time.Second // between frames
	// A stream may stay open asrWallFactor × the longest stream (speech.max_duration) of
	// wall-clock time, and must bring at least asrMinRate seconds of audio per second
	// over every asrRateWindow (or a quarter of the longest stream, when shorter): a
	// client that trickles frames does not hold a recognizer for long.
	asrWallFactor = 1.2
	asrMinRate    = 0.1
	asrRateWindow = 10 * time.Second
)

type voskConfig struct {
	Config *struct {
		SampleRate *float64 `json:"sample_rate"`
		Words      *float64 `json:"words"` // vosk clients send 1/0 or true/false
		PhraseList []string `json:"phrase_list"`
	} `json:"config"`
	EOF   any `json:"eof"`
	Reset any `json:"reset"`
}

// voskResult is a result frame, exactly as vosk-server writes it.
type voskResult struct {
	Text   string     `json:"text"`
	Result []asr.Word `json:"result,omitempty"`
}

type voskPartial struct {
	Partial string `json:"partial"`
}

// asrSession is one live stream.
type asrSession struct {
	conn    *websocket.Conn
	svc     *asr.Service
	lang    string
	rec     asr.Recognizer
	release func()
	rate    int
	words   bool
	resamp  *audio.Resampler
	odd     []byte // a sample split across frames
	samples int64  // 16 kHz samples fed
	maxSamp int64
	// the audio-rate check: the current window's start and the samples fed before it
	window, windowLen time.Duration
	start             time.Time
	windowSamples     int64
}

// speechSockets owns live speech recognition over a WebSocket (GET /v1/asr/ws, in the
// vosk-server protocol).
type speechSockets struct {
	errorWriter
	speech  *asr.Service // nil: no speech engine (404)
	streams *guards      // the caps on live streams per user and per client IP
	perIP   int          // RateLimits.SpeechStreamsPerIP
	sockets *socketSet
	guard   *sessionGuard
}

// asrSocket streams speech recognition in the vosk-server protocol. ?lang= picks the
// engine (default: the configured default language). A recognizer is taken before the
// upgrade, so a busy pool answers 429 as plain HTTP, as do a user with a stream already
// open and an address with its limit of streams. The recognizers reserved for voice
// notes are never lent to streams (asr.Service.ReserveForRecordings).
func (r *speechSockets) asrSocket(c *gin.Context) {
	svc := r.speech
	if svc == nil {
		// off like a channel without its secret
		r.fail(c, fmt.Errorf("%w: this server has no speech engine (see switchboard doctor)", errNotFound))
		return
	}
	lang := c.Query("lang")
	if _, err := svc.Pool(lang); err != nil {
		r.fail(c, fmt.Errorf("%w: %v", errBadRequest, err))
		return
	}
	leave, err := r.streams.enterStream(c.ClientIP(), userOf(c), r.perIP)
	if err != nil {
		r.fail(c, err)
		return
	}
	defer leave()
	rec, _, release, err := svc.Stream(c.Request.Context(), lang, asr.RecognizerOptions{})
	if err != nil {
		r.fail(c, err)
		return
	}
	conn, err := r.sockets.accept(c)
	if err != nil {
		release()
		return
	}
	defer conn.CloseNow()
	defer r.guard.guardSocket(c, conn)() // closes it once the token is no longer valid
	conn.SetReadLimit(asrReadLimit)
	longest := svc.Limits().MaxDuration
	if longest <= 0 {
		longest = audio.DefaultMaxDuration
	}
	sess := &asrSession{conn: conn, svc: svc, lang: lang, rec: rec, release: release, rate: asr.SampleRate,
		maxSamp: int64(longest.Seconds() * asr.SampleRate), start: time.Now(), windowLen: min(asrRateWindow, longest/4)}
	defer func() { sess.release() }()
	wall := time.Duration(asrWallFactor * float64(longest))
	// closed from outside the read: a read whose context ends drops the connection
	// without a close frame, and the client would not learn why
	timer := time.AfterFunc(wall, func() {
		_ = conn.Close(websocket.StatusPolicyViolation, "open for more than "+wall.Round(time.Second).String())
	})
	defer timer.Stop()
	code, reason := sess.run(c.Request.Context())
	sess.release() // before the close: a client that reconnects at once finds it free
	leave()
	if code != websocket.StatusNormalClosure {
		r.log.Info("speech stream ended", "code", code, "reason", reason)
	}
	_ = conn.Close(code, reason)
}

// run serves the stream until eof, an error or the client leaving, and returns how to
// close it.
func (a *asrSession) run(ctx context.Context) (websocket.StatusCode, string) {
	first := true
	for {
		rctx, cancel := context.WithTimeout(ctx, asrIdleTimeout)
		typ, data, err := a.conn.Read(rctx)
		cancel()
		if err != nil {
			if st := websocket.CloseStatus(err); st != -1 {
				return st, ""
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return websocket.StatusPolicyViolation, "idle for " + asrIdleTimeout.String()
			}
			return websocket.StatusGoingAway, ""
		}
		if err := a.checkRate(time.Now()); err != nil {
			return closeFor(err)
		}
		if typ == websocket.MessageBinary {
			first = false
			res, err := a.feed(data)
			if err != nil {
				return closeFor(err)
			}
			if err := a.write(ctx, res); err != nil {
				return websocket.StatusGoingAway, ""
			}
			continue
		}
		var msg voskConfig
		if err := json.Unmarshal(data, &msg); err != nil {
			return websocket.StatusUnsupportedData, "text frames must be JSON: config, eof or reset"
		}
		switch {
		case msg.Config != nil:
			if !first {
				return websocket.StatusPolicyViolation, "config must be the first frame"
			}
			first = false
			if err := a.configure(ctx, msg); err != nil {
				return closeFor(err)
			}
		case truthy(msg.EOF), truthy(msg.Reset):
			first = false
			fin, err := a.final()
			if err != nil {
				return closeFor(err)
			}
			if err := a.write(ctx, fin); err != nil {
				return websocket.StatusGoingAway, ""
			}
			if truthy(msg.EOF) {
				return websocket.StatusNormalClosure, ""
			}
		default:
			return websocket.StatusUnsupportedData, `unknown text frame (want {"config": …}, {"eof": 1} or {"reset": 1})`
		}
	}
}

// checkRate closes a stream whose audio, over the window that just ended, came at less
// than asrMinRate of real time; it then starts the next window.
func (a *asrSession) checkRate(now time.Time) error {
	if a.windowLen <= 0 || now.Sub(a.start) < a.window+a.windowLen {
		return nil
	}
	elapsed := now.Sub(a.start) - a.window
	got := float64(a.samples-a.windowSamples) / asr.SampleRate
	if got < asrMinRate*elapsed.Seconds() {
		return fmt.Errorf("%w: %.1fs of audio in %s is under %.0f%% of real time", errBadRequest, got, elapsed.Round(100*time.Millisecond), 100*asrMinRate)
	}
	a.window, a.windowSamples = now.Sub(a.start), a.samples
	return nil
}

// truthy reads vosk's flags: 1, true or any non-empty value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != "" && x != "0"
	}
	return true
}

func (a *asrSession) configure(ctx context.Context, msg voskConfig) error {
	cfg := msg.Config
	if cfg.SampleRate != nil {
		r := *cfg.SampleRate
		if r != math.Trunc(r) || r < audio.MinRate || r > audio.MaxRate {
			return fmt.Errorf("%w: sample_rate %v (supported %d–%d)", asr.ErrBadOptions, r, audio.MinRate, audio.MaxRate)
		}
		a.rate = int(r)
		if a.rate != asr.SampleRate {
			rs, err := audio.NewResampler(a.rate)
			if err != nil {
				return err
			}
			a.resamp = rs
		}
	}
	a.words = cfg.Words != nil && *cfg.Words != 0
	if len(cfg.PhraseList) > 0 {
		if len(cfg.PhraseList) > 10000 {
			return fmt.Errorf("%w: phrase_list of %d phrases (at most 10000)", asr.ErrBadOptions, len(cfg.PhraseList))
		}
		// Its own recognizer: give the pooled one back first.
		a.release()
		rec, _, release, err := a.svc.Stream(ctx, a.lang, asr.RecognizerOptions{Phrases: cfg.PhraseList, Words: true})
		if err != nil {
			a.release = func() {}
			return err
		}
		a.rec, a.release = rec, release
	}
	return nil
}

// feed converts a binary frame to 16 kHz samples and decodes them.
func (a *asrSession) feed(data []byte) (any, error) {
	if len(a.odd) > 0 {
		data = append(a.odd, data...)
		a.odd = nil
	}
	if len(data)%2 == 1 {
		a.odd = []byte{data[len(data)-1]}
		data = data[:len(data)-1]
	}
	pcm := make([]int16, len(data)/2)
	for i := range pcm {
		pcm[i] = int16(uint16(data[2*i]) | uint16(data[2*i+1])<<8)
	}
	if a.resamp != nil {
		pcm = a.resamp.Write(pcm)
	}
	a.samples += int64(len(pcm))
	if a.samples > a.maxSamp {
		return nil, fmt.Errorf("%w: the stream is longer than %v", audio.ErrTooLong, time.Duration(a.maxSamp/asr.SampleRate)*time.Second)
	}
	partial, fin, err := a.rec.Accept(pcm)
	if err != nil {
		return nil, err
	}
	if fin != nil {
		return a.result(*fin), nil
	}
	return voskPartial{Partial: partial}, nil
}

func (a *asrSession) final() (any, error) {
	var fin *asr.Result
	if a.resamp != nil {
		if rest := a.resamp.Flush(); len(rest) > 0 {
			_, f, err := a.rec.Accept(rest)
			if err != nil {
				return nil, err
			}
			fin = f
		}
	}
	last, err := a.rec.Final()
	if err != nil {
		return nil, err
	}
	if fin != nil {
		fin.Append(last)
		last = *fin
	}
	return a.result(last), nil
}

func (a *asrSession) result(r asr.Result) voskResult {
	out := voskResult{Text: strings.TrimSpace(r.Text)}
	if a.words {
		out.Result = r.Words
	}
	return out
}

func (a *asrSession) write(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return a.conn.Write(wctx, websocket.MessageText, b)
}

// closeFor maps a stream error to a close code: the client's fault, back-pressure, or
// ours. Close reasons are at most 123 bytes.
func closeFor(err error) (websocket.StatusCode, string) {
	code := websocket.StatusInternalError
	switch st, _ := statusOf(err); {
	case st == http.StatusTooManyRequests:
		code = websocket.StatusTryAgainLater
	case st == http.StatusRequestEntityTooLarge:
		code = websocket.StatusMessageTooBig
	case st >= 400 && st < 500:
		code = websocket.StatusPolicyViolation
	}
	msg := err.Error()
	if code == websocket.StatusInternalError {
		msg = "internal error"
	}
	if len(msg) > 120 {
		msg = msg[:120]
	}
	return code, msg
}
