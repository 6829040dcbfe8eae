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
	"github.com/switchboard-cs/switchboard/nlp/match"
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
// saves it at cfg.ParaphraseModel(), and fits the Chinese reranker on every
// question-matching pair found, saved at cfg.RerankerModel(). With --if-missing only what
// is missing is made.
func trainParaphraseModel(cmd *cobra.Command, cfg config.Config, p paraphraseFlags) error {
	path, rerankPath := cfg.ParaphraseModel(), cfg.RerankerModel()
	if path == "" {
		return errors.New("kb.paraphrase_model is off: nothing to train")
	}
	needModel, needReranker := true, true
	if p.ifMissing {
		needModel, needReranker = !exists(path), !exists(rerankPath)
		if !needModel && !needReranker {
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
	out := map[string]any{"next": "restart serve, and run `switchboard kb ingest` again so the knowledge base's vectors come from this model"}
	if needModel {
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
		out["model"], out["bytes"], out["trained_on"], out["groups"], out["texts"], out["seconds"] =
			path, st.Size(), m.Info.TrainedOn, m.Info.Groups, m.Info.Texts, m.Info.Seconds
	}
	if needReranker {
		rr, sets, n, err := fitReranker(cmd.Context(), p.data)
		switch {
		case errors.Is(err, match.ErrNoPairs):
			if !p.ifMissing {
				fmt.Fprintln(cmd.ErrOrStderr(), "kb train: no Chinese question pairs found; Chinese answers are not reranked")
			}
		case err != nil:
			return err
		default:
			if err := rr.Save(rerankPath); err != nil {
				return err
			}
			out["reranker"], out["reranker_trained_on"], out["reranker_pairs"] = rerankPath, sets, n
		}
	}
	if len(out) == 1 { // nothing was made
		return nil
	}
	return json.NewEncoder(cmd.OutOrStdout()).Encode(out)
}

// fitReranker fits the Chinese reranker (nlp/match) on the question-matching pairs
// under data, except the sets named in without; it returns the sets and pairs it saw.
func fitReranker(ctx context.Context, data string, without ...string) (*match.Matcher, []string, int, error) {
	pairs, sets, err := match.LoadAll(data, without...)
	if err != nil {
		return nil, nil, 0, err
	}
	m, err := match.Fit(ctx, pairs, match.Options{Seed: 1})
	if err != nil {
		return nil, nil, 0, fmt.Errorf("reranker: %w", err)
	}
	return m, sets, len(pairs), nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
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
