package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/nlp/para"
)

// paraphraseFlags are the flags of `kb train` without a file.
type paraphraseFlags struct {
	data, wordnet string
	ifMissing     bool
	quiet         bool
}

func (p *paraphraseFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.data, "data", "", "folder holding banking77/, clinc150/, atec_ccks/ … (default: shared/data found beside the checkout)")
	cmd.Flags().StringVar(&p.wordnet, "wordnet", para.WordNetDir, "WordNet 3.0 database (Debian's wordnet-base); empty: none")
	cmd.Flags().BoolVar(&p.ifMissing, "if-missing", false, "do nothing when the model exists; succeed without training when there is no data")
	cmd.Flags().BoolVarP(&p.quiet, "quiet", "q", false, "no progress bar")
}

// trainParaphraseModel trains the paraphrase encoder serve uses on every set found and
// saves it at cfg.ParaphraseModel().
func trainParaphraseModel(cmd *cobra.Command, cfg config.Config, p paraphraseFlags) error {
	path := cfg.ParaphraseModel()
	if path == "" {
		return errors.New("kb.paraphrase_model is off: nothing to train")
	}
	if p.ifMissing {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
	}
	if p.data == "" {
		var err error
		if p.data, err = findSharedData(); err != nil {
			if p.ifMissing {
				fmt.Fprintln(cmd.ErrOrStderr(), "kb train: no training data found; the knowledge base stays lexical")
				return nil
			}
			return err
		}
	}
	corpus, err := para.LoadCorpus(p.data, p.wordnet)
	if err != nil {
		return err
	}
	if len(corpus.Sets) == 0 {
		if p.ifMissing {
			fmt.Fprintln(cmd.ErrOrStderr(), "kb train: no training sets found; the knowledge base stays lexical")
			return nil
		}
		return fmt.Errorf("no training sets under %s or %s", p.data, p.wordnet)
	}
	var bar io.Writer = cmd.ErrOrStderr()
	if p.quiet {
		bar = io.Discard
	}
	m, err := trainParaphrase(cmd.Context(), corpus, bar)
	if err != nil {
		return err
	}
	if err := m.Save(path); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"model": path, "bytes": st.Size(),
		"trained_on": m.Info.TrainedOn, "groups": m.Info.Groups, "texts": m.Info.Texts, "seconds": m.Info.Seconds,
		"next": "restart serve, and run `switchboard kb ingest` again so the knowledge base's vectors come from this model"})
}

// trainParaphrase trains on corpus with the default options, drawing a progress bar on
// w (io.Discard: none).
func trainParaphrase(ctx context.Context, corpus para.Corpus, w io.Writer) (*para.Model, error) {
	var bar *progressbar.ProgressBar
	o := para.Options{Seed: 1, Progress: func(done, total int, loss float64) {
		if w == io.Discard {
			return
		}
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(),
				progressbar.OptionSetDescription(fmt.Sprintf("training the paraphrase encoder on %v", corpus.Names())),
				progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
		}
		bar.Describe(fmt.Sprintf("paraphrase encoder, loss %.3f", loss))
		_ = bar.Set(done)
	}}
	m, err := para.Train(ctx, corpus.Sets, o)
	if bar != nil {
		_ = bar.Finish()
	}
	return m, err
}
