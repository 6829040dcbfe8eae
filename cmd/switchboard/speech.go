package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/asr/audio"
	"github.com/switchboard-cs/switchboard/asr/pocketsphinx"
	"github.com/switchboard-cs/switchboard/asr/vosk"
	"github.com/switchboard-cs/switchboard/internal/config"
)

// speechSet is the speech engines of speech.engines, loaded: the service over those that
// loaded, and why the others did not.
type speechSet struct {
	svc     *asr.Service // nil when no engine loaded
	engines []asr.Engine
	off     map[string]error // language → why it has no engine
}

// openSpeech loads the configured engines. An engine that cannot load (no library, no
// model) leaves its language out with the reason; only a configuration error fails.
func openSpeech(ctx context.Context, cfg config.Config, log *slog.Logger) (*speechSet, error) {
	sc := cfg.Speech
	langs, kinds, err := sc.SpeechEngines()
	if err != nil {
		return nil, err
	}
	voskDirs, err := sc.VoskModelDirs()
	if err != nil {
		return nil, err
	}
	phrases, err := readPhrases(sc.PhrasesFile)
	if err != nil {
		return nil, err
	}
	set := &speechSet{off: map[string]error{}}
	pools := map[string]*asr.Pool{}
	for _, lang := range langs {
		var e asr.Engine
		switch kinds[lang] {
		case "pocketsphinx":
			e, err = pocketsphinx.New(ctx, pocketsphinx.Config{ModelDir: sc.PocketSphinxModel, Language: lang})
		case "vosk":
			e, err = vosk.New(ctx, vosk.Config{Library: sc.VoskLib, ModelDir: voskDirs[lang], Language: lang})
		}
		if err != nil {
			set.off[lang] = err
			if log != nil {
				log.Warn("speech engine off; voice notes in this language are stored untranscribed", "language", lang, "engine", kinds[lang], "reason", err)
			}
			continue
		}
		set.engines = append(set.engines, e)
		pools[lang] = asr.NewPool(e, sc.PoolSize, sc.Queue, sc.QueueWait, asr.RecognizerOptions{Phrases: phrases, Words: true})
	}
	if len(pools) == 0 {
		return set, nil
	}
	def := sc.Language
	if def == "" || pools[def] == nil {
		for _, l := range langs {
			if pools[l] != nil {
				def = l
				break
			}
		}
	}
	set.svc, err = asr.NewService(pools, def, audio.Limits{MaxBytes: sc.MaxBytes, MaxDuration: sc.MaxDuration})
	if err != nil {
		set.Close()
		return nil, err
	}
	set.svc.ReserveForRecordings(sc.ReservedForNotes)
	return set, nil
}

// loadSpeech is openSpeech for a command that needs an engine: none loaded is an error.
func loadSpeech(ctx context.Context, cfg config.Config) (*speechSet, error) {
	set, err := openSpeech(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	if set.svc == nil {
		set.Close()
		return nil, fmt.Errorf("no speech engine loaded: %w", set.reason())
	}
	return set, nil
}

// readPhrases reads speech.phrases_file: one phrase per line, # comments.
func readPhrases(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("speech.phrases_file: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("speech.phrases_file: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("speech.phrases_file %s holds no phrases", path)
	}
	return out, nil
}

// reason says why languages have no engine ("" when all loaded).
func (s *speechSet) reason() error {
	if len(s.off) == 0 {
		return nil
	}
	langs := make([]string, 0, len(s.off))
	for l := range s.off {
		langs = append(langs, l)
	}
	slices.Sort(langs)
	var errs []error
	for _, l := range langs {
		errs = append(errs, fmt.Errorf("%s: %w", l, s.off[l]))
	}
	return errors.Join(errs...)
}

// ready is the optional readiness check of the speech stage: every configured language
// has an engine and its pool is not closed.
func (s *speechSet) ready(context.Context) error {
	if s.svc == nil && len(s.off) == 0 {
		return errors.New("no speech engine configured (speech.engines)")
	}
	return s.reason()
}

func (s *speechSet) Close() {
	if s.svc != nil {
		_ = s.svc.Close()
	}
	for _, e := range s.engines {
		_ = e.Close()
	}
}

func asrCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "asr", Short: "Speech recognition with the configured engines"}
	var asJSON bool
	var lang string
	transcribe := &cobra.Command{
		Use:   "transcribe FILE",
		Short: "Transcribe one recording (WAV or OGG/Opus) and report the real-time factor",
		Long: `Transcribes a recording with the engine of --lang (default speech.language, then the first
of speech.engines): WAV of any PCM width, float or G.711, any sample rate, mono or stereo,
or OGG/Opus as Telegram and WhatsApp send voice notes. rtf is decoding time over audio
time (below 1 is faster than real time); loading the engine is not counted.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(a[0])
			if err != nil {
				return err
			}
			set, err := loadSpeech(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer set.Close()
			pcm, info, err := set.svc.Decode(data)
			if err != nil {
				return err
			}
			tr, err := set.svc.Transcribe(cmd.Context(), lang, pcm)
			if err != nil {
				return err
			}
			out := struct {
				Text       string     `json:"text"`
				Words      []asr.Word `json:"result,omitempty"`
				Engine     string     `json:"engine"`
				Language   string     `json:"language"`
				AudioSec   float64    `json:"audio_seconds"`
				DecodeSec  float64    `json:"decode_seconds"`
				RTF        float64    `json:"rtf"`
				Format     string     `json:"format"`
				SampleRate int        `json:"sample_rate"`
				Channels   int        `json:"channels"`
			}{tr.Text, tr.Words, tr.Engine, tr.Language, tr.Audio.Seconds(), tr.Elapsed.Seconds(), tr.RTF(),
				info.Format, info.SampleRate, info.Channels}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n(%s, %s; %.1f s of %s at %d Hz, decoded in %s: RTF %.3f)\n", out.Text, out.Engine, out.Language,
				out.AudioSec, out.Format, out.SampleRate, tr.Elapsed.Round(time.Millisecond), out.RTF)
			return nil
		},
	}
	transcribe.Flags().BoolVar(&asJSON, "json", false, "print JSON: text, result (word timings), engine, language, rtf …")
	transcribe.Flags().StringVar(&lang, "lang", "", "language of the engine to use (default speech.language)")
	cmd.AddCommand(transcribe)
	return cmd
}
