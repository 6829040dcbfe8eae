package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/asr/asreval"
)

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
			cfg, err := f.loadWithData(&data)
			if err != nil {
				return err
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
			res, err := asreval.Bench(cmd.Context(), pool.Engine(), data, strings.Split(sets, ","), maxStreams, step)
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
