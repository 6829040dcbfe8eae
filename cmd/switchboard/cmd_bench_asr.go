package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/asr/asreval"
)

// ASRBenchResult is what `switchboard bench asr --json` prints.
type ASRBenchResult struct {
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

func benchASRCmd(f *rootFlags) *cobra.Command {
	var data, lang, sets string
	var maxStreams int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "asr",
		Short: "Speech: real-time factor, concurrent real-time streams and word error rate per set",
		Long: `Measures the engine of --lang (default speech.language) on the speech sets of the shared
data (librivox, cards, goforward, vosk_testwav, fsdd, and espeak-ng sentences):

  rtf               one stream, each recording decoded in one pass (voice notes)
  rtf_streamed      one stream fed in 0.25 s chunks as the live endpoint decodes it
  realtime_streams  live streams decoding the librivox set at once, raised one at a time
                    until the slowest stream falls behind real time (rtf > 1); the
                    baseline is the single stream of the same run
  wer               word error rate per set against its reference transcripts`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			if data == "" {
				if data, err = findSharedData(); err != nil {
					return err
				}
			}
			set, err := loadSpeech(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer set.Close()
			pool, err := set.svc.Pool(lang)
			if err != nil {
				return err
			}
			var progress *progressbar.ProgressBar
			if !asJSON {
				progress = progressbar.NewOptions(-1, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSpinnerType(14))
			}
			step := func(s string) {
				if progress != nil {
					progress.Describe(s)
					_ = progress.Add(1)
				}
			}
			res, err := benchASR(cmd.Context(), pool.Engine(), data, strings.Split(sets, ","), maxStreams, step)
			if progress != nil {
				_ = progress.Finish()
				fmt.Fprintln(os.Stderr)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s (%s) on %d cores: RTF %.3f one pass, %.3f streamed; %d concurrent real-time streams\n",
				res.Engine, res.Language, res.Cores, res.RTF, res.RTFStreamed, res.RealtimeStreams)
			for _, s := range res.Steps {
				fmt.Fprintf(w, "  %2d streams: slowest RTF %.3f\n", s.Streams, s.RTF)
			}
			for _, name := range strings.Split(sets, ",") {
				if why, ok := res.Skipped[name]; ok {
					fmt.Fprintf(w, "  WER %-13s skipped: %s\n", name, why)
				} else if _, ok := res.WER[name]; ok {
					fmt.Fprintf(w, "  WER %-13s %.3f (%d words, %.1f s)\n", name, res.WER[name], res.Words[name], res.AudioSec[name])
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringVar(&data, "data", "", "the shared data folder (default: shared/data found beside the checkout)")
	cmd.Flags().StringVar(&lang, "lang", "", "language of the engine to measure (default speech.language)")
	cmd.Flags().StringVar(&sets, "sets", "librivox,cards,goforward,vosk_testwav,fsdd,espeak", "evaluation sets for the WER")
	cmd.Flags().IntVar(&maxStreams, "max-streams", 32, "stop raising the stream count here")
	return cmd
}

func benchASR(ctx context.Context, e asr.Engine, data string, sets []string, maxStreams int, step func(string)) (ASRBenchResult, error) {
	res := ASRBenchResult{Engine: e.Name(), Language: e.Language(), Cores: runtime.GOMAXPROCS(0),
		WER: map[string]float64{}, Words: map[string]int{}, AudioSec: map[string]float64{}, Skipped: map[string]string{}}
	step("loading librivox")
	stream, err := asreval.Librivox(data)
	if err != nil {
		return res, fmt.Errorf("the stream test needs the librivox set: %w", err)
	}
	res.StreamAudioSec = asreval.Seconds(stream)

	// One stream: one pass, then streamed.
	single := asr.NewPool(e, 1, 0, 0, asr.RecognizerOptions{Words: true})
	defer single.Close()
	for _, mode := range []struct {
		chunk int
		dst   *float64
	}{{0, &res.RTF}, {asr.SampleRate / 4, &res.RTFStreamed}} {
		step("one stream")
		s, err := asreval.Evaluate(ctx, single, stream, 1, mode.chunk)
		if err != nil {
			return res, err
		}
		*mode.dst = s.RTF()
	}

	// Concurrent live streams, one more at a time, until the slowest falls behind.
	for n := 1; n <= maxStreams; n++ {
		step(fmt.Sprintf("%d live streams", n))
		rtf, err := concurrentStreams(ctx, e, stream, n)
		if err != nil {
			return res, err
		}
		res.Steps = append(res.Steps, StreamLevel{Streams: n, RTF: rtf})
		if rtf > 1 {
			break
		}
		res.RealtimeStreams = n
	}

	loaders := map[string]func(string) ([]asreval.Utterance, error){}
	for _, s := range asreval.Sets() {
		loaders[s.Name] = s.Load
	}
	pool := asr.NewPool(e, res.Cores, 1<<20, 0, asr.RecognizerOptions{})
	defer pool.Close()
	for _, name := range sets {
		name = strings.TrimSpace(name)
		load, ok := loaders[name]
		if !ok {
			return res, fmt.Errorf("unknown set %q (have librivox, cards, goforward, vosk_testwav, fsdd, espeak)", name)
		}
		step("WER " + name)
		utts, err := load(data)
		if errors.Is(err, asreval.ErrMissing) {
			res.Skipped[name] = err.Error()
			continue
		}
		if err != nil {
			return res, err
		}
		s, err := asreval.Evaluate(ctx, pool, utts, res.Cores, 0)
		if err != nil {
			return res, err
		}
		res.WER[name], res.Words[name], res.AudioSec[name] = s.WER(), s.Words, s.Audio
	}
	return res, nil
}

// concurrentStreams runs n live streams at once, each decoding utts in 0.25 s chunks as
// fast as it can, and returns the slowest stream's wall time over its audio time. The
// recognizers are made before the clock starts.
func concurrentStreams(ctx context.Context, e asr.Engine, utts []asreval.Utterance, n int) (float64, error) {
	recs := make([]asr.Recognizer, n)
	for i := range recs {
		rec, err := e.NewRecognizer(ctx, asr.RecognizerOptions{Words: true})
		if err != nil {
			return 0, err
		}
		defer rec.Close()
		recs[i] = rec
	}
	audio := asreval.Seconds(utts)
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
