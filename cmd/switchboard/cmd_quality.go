package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/nlp/lang"
	"github.com/switchboard-cs/switchboard/nlp/sentiment"
)

// sentimentMaxTrain is --max-train's default: no cap. The whole training side (about
// 60,000 Chinese reviews and 2,400 English sentences) trains in about 10 s on two cores.
const sentimentMaxTrain = 0

func qualityCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "quality", Short: "Quality inspection of agents' replies: train the sentiment model it uses"}
	cmd.AddCommand(qualityTrainCmd(f))
	return cmd
}

// qualityTrainFlags are the flags of `quality train`.
type qualityTrainFlags struct {
	out, data, en string
	ifMissing     bool
	asJSON        bool
	maxTrain      int
}

func qualityTrainCmd(f *rootFlags) *cobra.Command {
	var fl qualityTrainFlags
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train the Chinese and English sentiment model quality inspection uses (customer sentiment trend, agent hostility)",
		Long: `Trains nlp/sentiment's polarity model: a Chinese classifier on the shared data's
waimai_10k and online_shopping_10_cats reviews, and an English one on the UCI Sentiment
Labelled Sentences (amazon, imdb, yelp; scripts/fetch-sentiment-data.sh puts them in
.deps/sentiment-en). 20 % of each set, chosen by a hash of the text, is held out and never
trained on; the accuracy on it, and on FewCLUE EPRSTMT's test_public (Chinese product
reviews from elsewhere), is printed. A language whose data is not found is left out; with
neither, it says so and fails. Writes <data_dir>/sentiment.bin unless --out says otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			if fl.out == "" {
				if fl.out = cfg.SentimentModel(); fl.out == "" {
					return errors.New("quality.sentiment_model is off: give --out to train one anyway")
				}
			}
			return trainSentiment(cmd, fl)
		},
	}
	cmd.Flags().StringVar(&fl.out, "out", "", "model file to write (default quality.sentiment_model, else <data_dir>/sentiment.bin)")
	cmd.Flags().StringVar(&fl.data, "data", "", "shared data folder with zh_reviews_chinesenlpcorpus/ and fewclue_eprstmt/ (default: shared/data found beside the checkout)")
	cmd.Flags().StringVar(&fl.en, "en", "", "folder with amazon.json, imdb.json, yelp.json (default: .deps/sentiment-en found above the working directory)")
	cmd.Flags().BoolVar(&fl.ifMissing, "if-missing", false, "do nothing when the model exists and has every language whose data is found")
	cmd.Flags().BoolVar(&fl.asJSON, "json", false, "print the report as one JSON object")
	cmd.Flags().IntVar(&fl.maxTrain, "max-train", sentimentMaxTrain, "at most this many training examples per language, a deterministic subsample (0: all)")
	return cmd
}

// trainSentiment finds the data, trains, saves and reports.
func trainSentiment(cmd *cobra.Command, fl qualityTrainFlags) error {
	stderr := cmd.ErrOrStderr()
	src := locateSentimentData(fl.data, fl.en)
	if fl.ifMissing && exists(fl.out) {
		m, err := sentiment.LoadFile(fl.out)
		switch {
		case err != nil: // of an older format, or damaged: trained anew below
			fmt.Fprintf(stderr, "quality train: %v; training it anew\n", err)
		case covers(m.Languages(), src.langs()):
			return nil
		default:
			fmt.Fprintf(stderr, "quality train: %s has %v, data was found for %v; training it anew\n", fl.out, m.Languages(), src.langs())
		}
	}
	for _, why := range src.missing {
		fmt.Fprintf(stderr, "quality train: %s\n", why)
	}
	if len(src.langs()) == 0 {
		return errors.New("quality train: no sentiment training data found (see above); quality inspection uses its rules alone")
	}
	corpus, err := src.read()
	if err != nil {
		return err
	}
	opts := sentiment.Options{MaxTrain: fl.maxTrain, Progress: func(l lang.Lang, event string) {
		fmt.Fprintf(stderr, "quality train: %s: %s\n", l, event)
	}}
	m, rep, err := sentiment.Train(cmd.Context(), corpus, opts)
	if err != nil {
		return err
	}
	if err := m.SaveFile(fl.out); err != nil {
		return fmt.Errorf("quality train: save: %w", err)
	}
	if fl.asJSON {
		return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"model": fl.out, "report": rep})
	}
	printSentimentReport(cmd.OutOrStdout(), fl.out, rep)
	return nil
}

// sentimentSources are the folders the sentiment model's data is read from: zh the
// shared data folder, en the English sentences' folder ("" when not found, with the
// reason in missing).
type sentimentSources struct {
	zh, en  string
	missing []string
}

// locateSentimentData takes the folders given, and finds those not given: the shared
// data beside the checkout (when it holds the Chinese review sets) and .deps/sentiment-en.
// It only looks; a folder given is read, and its errors told, by read.
func locateSentimentData(data, en string) sentimentSources {
	src := sentimentSources{zh: data, en: en}
	if src.zh == "" {
		d, err := findSharedData()
		if err == nil {
			if _, err = os.Stat(filepath.Join(d, sentiment.ChineseDirName)); err == nil {
				src.zh = d
			}
		}
		if err != nil {
			src.missing = append(src.missing, fmt.Sprintf("no Chinese training data: %v", err))
		}
	}
	if src.en == "" {
		d, err := sentiment.FindEnglishDir()
		if err != nil {
			src.missing = append(src.missing, fmt.Sprintf("no English training data: %v", err))
		}
		src.en = d
	}
	return src
}

// langs are the languages with a folder.
func (s sentimentSources) langs() []lang.Lang {
	var out []lang.Lang
	if s.zh != "" {
		out = append(out, lang.Chinese)
	}
	if s.en != "" {
		out = append(out, lang.English)
	}
	return out
}

// read reads the corpus of the folders.
func (s sentimentSources) read() (sentiment.Corpus, error) {
	return sentiment.ReadCorpus(s.zh, s.en)
}

// covers reports whether have holds every language of want.
func covers(have, want []lang.Lang) bool {
	for _, l := range want {
		if !slices.Contains(have, l) {
			return false
		}
	}
	return true
}

// printSentimentReport writes the held-out and out-of-domain accuracies as a table.
func printSentimentReport(w io.Writer, path string, rep sentiment.Report) {
	row := func(name string, e sentiment.Eval) {
		fmt.Fprintf(w, "  %-44s %6d %8.3f %9.3f %7.3f %9.3f %7.3f %8.3f\n", name, e.N, e.Accuracy,
			e.Negative.Precision, e.Negative.Recall, e.Positive.Precision, e.Positive.Recall, e.LogLoss)
	}
	for _, l := range rep.Languages {
		fmt.Fprintf(w, "%s: trained on %d of %d examples (%s) in %.1f s\n", l.Lang, l.Train, l.Available,
			strings.Join(l.Sources, ", "), l.Seconds)
		fmt.Fprintf(w, "  %-44s %6s %8s %9s %7s %9s %7s %8s\n", "evaluated on", "n", "accuracy", "neg prec", "neg rec", "pos prec", "pos rec", "log-loss")
		row("held out (20 %, by text hash)", l.HeldOut)
		for _, s := range l.BySet {
			row("  "+s.Name, s.Eval)
		}
		for _, s := range l.OutOfDomain {
			row(s.Name+" (out of domain)", s.Eval)
		}
	}
	fmt.Fprintf(w, "wrote %s (%.1f s); restart serve to use it\n", path, rep.Seconds)
}
