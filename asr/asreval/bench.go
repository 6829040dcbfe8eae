package asreval

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-cs/switchboard/asr"
)

// BenchResult is what a speech benchmark measured (`switchboard bench asr --json`).
type BenchResult struct {
	Engine   string `json:"engine"`
	Language string `json:"language"`
	Cores    int    `json:"cores"`
	// RTF is decoding time over audio time of one stream at a time, each recording in
	// one pass (voice notes); RTFStreamed the same fed as a live stream in 0.25 s chunks
	// (partials, endpointing and the per-utterance second pass).
	RTF         float64 `json:"rtf"`
	RTFStreamed float64 `json:"rtf_streamed"`
	// RealtimeStreams is the most concurrent live streams whose every stream still
	// decodes faster than real time (per-stream RTF ≤ 1); Steps lists each level tried.
	RealtimeStreams int           `json:"realtime_streams"`
	Steps           []StreamLevel `json:"steps"`
	// StreamAudioSec is the audio each stream decodes per level (the librivox set).
	StreamAudioSec float64 `json:"stream_audio_seconds"`
	// WER per evaluation set (one-pass decoding with the language model), with the
	// reference word count and the set's audio.
	WER      map[string]float64 `json:"wer"`
	Words    map[string]int     `json:"words"`
	AudioSec map[string]float64 `json:"audio_seconds"`
	Skipped  map[string]string  `json:"skipped,omitempty"`
}

// StreamLevel is one concurrency level of the stream test.
type StreamLevel struct {
	Streams int     `json:"streams"`
	RTF     float64 `json:"rtf"` // the slowest stream's wall time over its audio time
}

// Bench measures engine e on the speech sets under data: the real-time factor of one
// stream (one pass and streamed), the most concurrent live streams that stay real time
// (up to maxStreams) and the WER of each of sets. step is told what runs now.
func Bench(ctx context.Context, e asr.Engine, data string, sets []string, maxStreams int, step func(string)) (BenchResult, error) {
	res := BenchResult{Engine: e.Name(), Language: e.Language(), Cores: runtime.GOMAXPROCS(0),
		WER: map[string]float64{}, Words: map[string]int{}, AudioSec: map[string]float64{}, Skipped: map[string]string{}}
	loaders := map[string]func(string) ([]Utterance, error){}
	for _, s := range Sets() {
		loaders[s.Name] = s.Load
	}
	for _, name := range sets {
		if _, ok := loaders[strings.TrimSpace(name)]; !ok {
			return res, fmt.Errorf("unknown set %q (have librivox, cards, goforward, vosk_testwav, fsdd, espeak)", name)
		}
	}
	step("loading librivox")
	stream, err := Librivox(data)
	if err != nil {
		return res, fmt.Errorf("the stream test needs the librivox set: %w", err)
	}
	res.StreamAudioSec = Seconds(stream)

	// One stream: one pass, then streamed.
	single := asr.NewPool(e, 1, 0, 0, asr.RecognizerOptions{Words: true})
	defer single.Close()
	for _, mode := range []struct {
		chunk int
		dst   *float64
	}{{0, &res.RTF}, {asr.SampleRate / 4, &res.RTFStreamed}} {
		step("one stream")
		s, err := Evaluate(ctx, single, stream, 1, mode.chunk)
		if err != nil {
			return res, err
		}
		*mode.dst = s.RTF()
	}

	// Concurrent live streams, one more at a time, until the slowest falls behind.
	for n := 1; n <= maxStreams; n++ {
		step(fmt.Sprintf("%d live streams", n))
		rtf, err := ConcurrentStreams(ctx, e, stream, n)
		if err != nil {
			return res, err
		}
		res.Steps = append(res.Steps, StreamLevel{Streams: n, RTF: rtf})
		if rtf > 1 {
			break
		}
		res.RealtimeStreams = n
	}

	pool := asr.NewPool(e, res.Cores, 1<<20, 0, asr.RecognizerOptions{})
	defer pool.Close()
	for _, name := range sets {
		name = strings.TrimSpace(name)
		load := loaders[name]
		step("WER " + name)
		utts, err := load(data)
		if errors.Is(err, ErrMissing) {
			res.Skipped[name] = err.Error()
			continue
		}
		if err != nil {
			return res, err
		}
		s, err := Evaluate(ctx, pool, utts, res.Cores, 0)
		if err != nil {
			return res, err
		}
		res.WER[name], res.Words[name], res.AudioSec[name] = s.WER(), s.Words, s.Audio
	}
	return res, nil
}

// ConcurrentStreams runs n live streams at once, each decoding utts in 0.25 s chunks as
// fast as it can, and returns the slowest stream's wall time over its audio time. The
// recognizers are made before the clock starts.
func ConcurrentStreams(ctx context.Context, e asr.Engine, utts []Utterance, n int) (float64, error) {
	recs := make([]asr.Recognizer, n)
	for i := range recs {
		rec, err := e.NewRecognizer(ctx, asr.RecognizerOptions{Words: true})
		if err != nil {
			return 0, err
		}
		defer rec.Close()
		recs[i] = rec
	}
	audio := Seconds(utts)
	took := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, rec := range recs {
		wg.Go(func() {
			start := time.Now()
			for _, u := range utts {
				if _, err := asr.Transcribe(ctx, e, rec, u.PCM, asr.SampleRate/4); err != nil {
					errs[i] = err
					return
				}
			}
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	var slowest time.Duration
	for _, d := range took {
		slowest = max(slowest, d)
	}
	return slowest.Seconds() / audio, nil
}
