package asr

import (
	"context"
	"errors"
	"strings"
)

// SampleRate is the only PCM rate engines accept: 16 kHz mono signed 16-bit samples.
const SampleRate = 16000

var (
	// ErrUnavailable means the engine's native library or model is missing or unusable;
	// the service runs degraded (503) rather than failing.
	ErrUnavailable = errors.New("asr: engine unavailable")
	// ErrBusy is the pool's back-pressure: every recognizer is in use and the wait queue
	// is full or the queue timeout passed (429).
	ErrBusy = errors.New("asr: all recognizers busy")
	// ErrBadAudio rejects audio an engine cannot decode (a sample rate other than
	// 16 kHz); callers map it to 4xx.
	ErrBadAudio = errors.New("asr: bad audio")
	// ErrBadOptions rejects recognizer options: a grammar that does not compile, phrases
	// of which the model knows no word (4xx).
	ErrBadOptions = errors.New("asr: bad recognizer options")
	// ErrClosed is returned by a closed engine, recognizer or pool.
	ErrClosed = errors.New("asr: closed")
)

// Word is one recognized word with its time span in seconds from the start of the stream
// and a confidence in [0, 1]. The JSON names are those of vosk-server.
type Word struct {
	Word  string  `json:"word"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Conf  float64 `json:"conf"`
}

// Result is the transcript of one utterance or of a whole stream. Words is filled when
// RecognizerOptions.Words asked for timings.
type Result struct {
	Text     string `json:"text"`
	Words    []Word `json:"result,omitempty"`
	Engine   string `json:"engine"`
	Language string `json:"language"`
}

// Append adds the text and words of r2 (a later utterance of the same stream) to r.
func (r *Result) Append(r2 Result) {
	if t := strings.TrimSpace(r2.Text); t != "" {
		if r.Text != "" {
			r.Text += " "
		}
		r.Text += t
	}
	r.Words = append(r.Words, r2.Words...)
	if r.Engine == "" {
		r.Engine = r2.Engine
	}
	if r.Language == "" {
		r.Language = r2.Language
	}
}

// RecognizerOptions configure one recognizer.
type RecognizerOptions struct {
	// SampleRate of the PCM given to Accept; 0 means SampleRate (16000), the only rate
	// the engines accept (asr/audio resamples everything else).
	SampleRate int
	// Phrases restrict recognition to these words and phrases (order numbers spelled
	// as digits are read as digit words), where the engine supports it: a JSGF grammar
	// for PocketSphinx, a phrase-list grammar for Vosk models with a dynamic graph.
	// Words the model does not know are dropped.
	Phrases []string
	// Grammar is an engine-specific grammar that takes precedence over Phrases: JSGF
	// text for PocketSphinx, a JSON list of phrases for Vosk.
	Grammar string
	// Words asks for word timings and confidences in results.
	Words bool
}

// Rate is the effective sample rate.
func (o RecognizerOptions) Rate() int {
	if o.SampleRate == 0 {
		return SampleRate
	}
	return o.SampleRate
}

// Engine makes recognizers for one language; it is loaded once (library and model) and
// shared. It is safe for concurrent use.
type Engine interface {
	Name() string
	Language() string
	NewRecognizer(ctx context.Context, opts RecognizerOptions) (Recognizer, error)
	Close() error
}

// Recognizer is one streaming decoding session; it is not safe for concurrent use.
//
// Accept feeds a chunk of PCM and returns the partial text of the utterance in progress,
// and a final result when the engine detected the end of an utterance inside the chunk
// (a following Accept starts the next utterance). Final ends the stream, returns what was
// not yet returned as a final result and leaves the recognizer ready for a new stream.
// Reset discards the stream. Word times count from the start of the stream.
type Recognizer interface {
	Accept(pcm []int16) (partial string, final *Result, err error)
	Final() (Result, error)
	Reset() error
	Close() error
}

// BatchDecoder is implemented by recognizers that decode a complete recording better in
// one pass than streamed (PocketSphinx normalizes the cepstra over the whole utterance
// then). Pool.Transcribe uses it when the pool's recognizers have it. DecodeAll ends any
// stream in progress and leaves the recognizer ready for a new one.
type BatchDecoder interface {
	DecodeAll(ctx context.Context, pcm []int16) (Result, error)
}
