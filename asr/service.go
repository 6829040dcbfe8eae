package asr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/asr/audio"
)

// Service is speech recognition as the gateway uses it: one pool of recognizers per
// language, a default language for voice notes, and the audio limits. Recordings are
// decoded with asr/audio and transcribed on the language's pool; live streams borrow a
// pooled recognizer, or, when they ask for their own phrase list, one made for them and
// counted against the same capacity. Recognizers reserved for recordings
// (ReserveForRecordings) are never lent to live streams, so voice notes keep being
// transcribed however many streams are open.
type Service struct {
	pools   map[string]*Pool
	def     string
	limits  audio.Limits
	custom  map[string]chan struct{} // tokens for streams with their own recognizer options
	streams map[string]chan struct{} // tokens of live streams: pool size − reserved
	mu      sync.Mutex
	closed  bool

	audioSec, rtf *prometheus.HistogramVec // Service is a prometheus.Collector
}

// NewService serves the pools (language → pool, at least one); def is the language of
// voice notes whose language is not known ("" takes the only or the alphabetically
// first language).
func NewService(pools map[string]*Pool, def string, lim audio.Limits) (*Service, error) {
	if len(pools) == 0 {
		return nil, fmt.Errorf("%w: no speech engine configured", ErrUnavailable)
	}
	langs := make([]string, 0, len(pools))
	for l := range pools {
		langs = append(langs, l)
	}
	slices.Sort(langs)
	if def == "" {
		def = langs[0]
	}
	if pools[def] == nil {
		return nil, fmt.Errorf("%w: default language %q has no engine (have %v)", ErrBadOptions, def, langs)
	}
	s := &Service{pools: pools, def: def, limits: lim, custom: map[string]chan struct{}{}, streams: map[string]chan struct{}{}}
	s.audioSec, s.rtf = newHistograms()
	for l, p := range pools {
		s.audioSec.WithLabelValues(l) // exported, empty, before the first recording
		s.rtf.WithLabelValues(l)
		s.custom[l] = make(chan struct{}, max(p.Stats().Size, 1))
		s.streams[l] = make(chan struct{}, max(p.Stats().Size, 1))
	}
	return s, nil
}

// ReserveForRecordings keeps n recognizers of every language's pool for recordings
// (Transcribe, voice notes): live streams on pooled recognizers hold at most pool size −
// n at once, and none when n reaches the pool size. Call it before the service is used.
func (s *Service) ReserveForRecordings(n int) {
	for l, p := range s.pools {
		s.streams[l] = make(chan struct{}, max(p.Stats().Size-max(n, 0), 0))
	}
}

// StreamSlots reports, per language, how many live streams may run at once.
func (s *Service) StreamSlots() map[string]int {
	out := make(map[string]int, len(s.streams))
	for l, ch := range s.streams {
		out[l] = cap(ch)
	}
	return out
}

// Languages lists the languages with an engine, sorted.
func (s *Service) Languages() []string {
	out := make([]string, 0, len(s.pools))
	for l := range s.pools {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// DefaultLanguage is the language of voice notes of unknown language.
func (s *Service) DefaultLanguage() string { return s.def }

// Limits are the audio limits recordings are decoded with.
func (s *Service) Limits() audio.Limits { return s.limits }

// Pool returns the pool of lang ("" for the default language); an unknown language wraps
// ErrUnavailable.
func (s *Service) Pool(lang string) (*Pool, error) {
	if lang == "" {
		lang = s.def
	}
	p, ok := s.pools[lang]
	if !ok {
		return nil, fmt.Errorf("%w: no speech engine for language %q (have %v)", ErrUnavailable, lang, s.Languages())
	}
	return p, nil
}

// Stats reports every pool's occupancy by language.
func (s *Service) Stats() map[string]PoolStats {
	out := make(map[string]PoolStats, len(s.pools))
	for l, p := range s.pools {
		out[l] = p.Stats()
	}
	return out
}

// Decode turns an encoded recording (WAV or OGG/Opus) into 16 kHz mono PCM within the
// service's limits; errors wrap audio.ErrAudio, audio.ErrTooLong or audio.ErrUnavailable.
func (s *Service) Decode(data []byte) ([]int16, audio.Info, error) {
	return audio.Decode(data, s.limits)
}

// Transcription is a recording's transcript with what it took.
type Transcription struct {
	Result
	Audio   time.Duration `json:"audio_seconds"`
	Elapsed time.Duration `json:"elapsed"`
}

// RTF is the real-time factor: decoding time over audio time (below 1 is faster than
// real time).
func (t Transcription) RTF() float64 {
	if t.Audio <= 0 {
		return 0
	}
	return t.Elapsed.Seconds() / t.Audio.Seconds()
}

// Transcribe decodes 16 kHz mono PCM in lang ("" for the default) on the language's pool.
func (s *Service) Transcribe(ctx context.Context, lang string, pcm []int16) (Transcription, error) {
	p, err := s.Pool(lang)
	if err != nil {
		return Transcription{}, err
	}
	start := time.Now()
	res, err := p.Transcribe(ctx, pcm)
	if err != nil {
		return Transcription{}, err
	}
	tr := Transcription{Result: res, Audio: time.Duration(float64(len(pcm)) / SampleRate * float64(time.Second)),
		Elapsed: time.Since(start)}
	if lang == "" {
		lang = s.def
	}
	if tr.Audio > 0 {
		s.audioSec.WithLabelValues(lang).Observe(tr.Audio.Seconds())
		s.rtf.WithLabelValues(lang).Observe(tr.RTF())
	}
	return tr, nil
}

// TranscribeAudio is Decode then Transcribe.
func (s *Service) TranscribeAudio(ctx context.Context, lang string, data []byte) (Transcription, error) {
	pcm, _, err := s.Decode(data)
	if err != nil {
		return Transcription{}, err
	}
	return s.Transcribe(ctx, lang, pcm)
}

// Stream lends a recognizer for one live stream in lang. With the pool's own options
// (phrases and grammar empty) it is a pooled one, and the stream takes one of the
// language's stream slots (pool size minus the recognizers reserved for recordings;
// none free: ErrBusy at once). With a phrase list or grammar of the stream's own, one is
// made for the stream (a model load: slower to start) and counts against a second
// capacity of the pool's size, so memory stays bounded either way. release must be
// called exactly once.
func (s *Service) Stream(ctx context.Context, lang string, opts RecognizerOptions) (rec Recognizer, engine Engine, release func(), err error) {
	p, err := s.Pool(lang)
	if err != nil {
		return nil, nil, nil, err
	}
	if lang == "" {
		lang = s.def
	}
	if len(opts.Phrases) == 0 && opts.Grammar == "" {
		return s.pooledStream(ctx, p, lang)
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, nil, nil, ErrClosed
	}
	tokens := s.custom[lang]
	select {
	case tokens <- struct{}{}:
	default:
		return nil, nil, nil, fmt.Errorf("%w: %d streams with their own phrase lists already open", ErrBusy, cap(tokens))
	}
	opts.SampleRate = 0
	rec, err = p.Engine().NewRecognizer(ctx, opts)
	if err != nil {
		<-tokens
		return nil, nil, nil, err
	}
	var once sync.Once
	return rec, p.Engine(), func() { once.Do(func() { _ = rec.Close(); <-tokens }) }, nil
}

// pooledStream lends a pooled recognizer to a live stream that holds a stream slot.
func (s *Service) pooledStream(ctx context.Context, p *Pool, lang string) (Recognizer, Engine, func(), error) {
	slots := s.streams[lang]
	select {
	case slots <- struct{}{}:
	default:
		size := p.Stats().Size
		if cap(slots) == 0 {
			return nil, nil, nil, fmt.Errorf("%w: live streams are off: all %d recognizers are reserved for recordings", ErrBusy, size)
		}
		return nil, nil, nil, fmt.Errorf("%w: %d live streams already open (%d of %d recognizers are reserved for recordings)",
			ErrBusy, cap(slots), size-cap(slots), size)
	}
	rec, release, err := p.Acquire(ctx)
	if err != nil {
		<-slots
		return nil, nil, nil, err
	}
	var once sync.Once
	return rec, p.Engine(), func() { once.Do(func() { release(); <-slots }) }, nil
}

// Close closes the pools (not the engines: their owner closes them).
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	var errs []error
	for _, p := range s.pools {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}
