package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/nlp/ner"
	"github.com/switchboard-cs/switchboard/nlp/pii"
)

func piiCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "pii", Short: "PII redaction: train the name and address tagger, evaluate the detectors"}
	cmd.AddCommand(piiTrainCmd(f), piiEvalCmd(f))
	return cmd
}

// trainTagger trains the name and address tagger on the shared data's training sets
// (pii.TaggerTrainingSet), the same way for `pii train` and `pii eval`.
func trainTagger(ctx context.Context, data string) (*ner.Model, error) {
	exs, sets, err := pii.TaggerTrainingSet(data, 1)
	if err != nil {
		return nil, err
	}
	return ner.Train(ctx, pii.TaggerTypes, exs, ner.TrainOptions{Seed: 1, TrainedOn: sets})
}

// measuredRedactor is the redactor serve builds from cfg, for evaluations and benchmarks:
// its phone regions and, unless pii.tagger_model is off, a tagger trained here on data the
// way pii train trains serve's (on none of the sets pii eval reports). tagger says what
// the tagger was trained on ("" without one).
func measuredRedactor(ctx context.Context, cfg config.Config, data string) (r *pii.Redactor, tagger string, err error) {
	opts := []pii.Option{pii.WithPhoneRegions(cfg.PII.PhoneRegions...)}
	if cfg.PIITaggerModel() != "" {
		m, err := trainTagger(ctx, data)
		if err != nil {
			return nil, "", fmt.Errorf("tagger: %w", err)
		}
		opts, tagger = append(opts, pii.WithTagger(m)), m.Info.String()
	}
	return pii.NewRedactor(opts...), tagger, nil
}

func piiTrainCmd(f *rootFlags) *cobra.Command {
	var data string
	var ifMissing bool
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train the name and address tagger redaction uses, from the shared data (about a second)",
		Long: `Trains the sequence tagger (nlp/ner) that finds person names and street addresses for
redaction, on the training part of presidio-research's synthetic set, zh_address_parsing's
dev split and ordinary questions of BANKING77, CLINC150, LCQMC, BQ and ATEC, and writes it
to pii.tagger_model (<data_dir>/pii-tagger.bin). None of the sets pii eval reports on is
trained on. Restart serve to use a new tagger.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			path := cfg.PIITaggerModel()
			if path == "" {
				return errors.New("pii.tagger_model is off: nothing to train")
			}
			if ifMissing && exists(path) {
				_, err := ner.Load(path)
				if err == nil {
					return nil
				}
				// of an older format, or damaged: trained anew below
				fmt.Fprintf(cmd.ErrOrStderr(), "pii train: %v; training it anew\n", err)
			}
			if data == "" {
				if data, err = findSharedData(); err != nil {
					if ifMissing {
						fmt.Fprintln(cmd.ErrOrStderr(), "pii train: no training data found; names and addresses are found by their cues alone")
						return nil
					}
					return err
				}
			}
			start := time.Now()
			m, err := trainTagger(cmd.Context(), data)
			if err != nil {
				return err
			}
			if err := m.Save(path); err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"model": path, "examples": m.Info.Examples,
				"features": m.Info.Features, "trained_on": m.Info.TrainedOn, "seconds": time.Since(start).Seconds(),
				"next": "restart serve to redact with this tagger"})
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "shared data folder (default: shared/data found beside the checkout)")
	cmd.Flags().BoolVar(&ifMissing, "if-missing", false, "train only when the file is missing or unreadable; without data, say so and succeed")
	return cmd
}

// piiReport is what `pii eval` measures, each with the redactor serve builds.
type piiReport struct {
	// PresidioHeldOut scores the held-out part of presidio-research's synthetic set (the
	// part nothing is trained on), per type; gold types no detector has are listed with
	// every span missed.
	PresidioHeldOut        map[string]pii.Score `json:"presidio_heldout"`
	PresidioHeldOutRecords int                  `json:"presidio_heldout_records"`
	// ZhAddressTest scores addresses and names on the test split of zh_address_parsing.
	ZhAddressTest map[string]pii.Score `json:"zh_address_test"`
	// ZhStructured scores ID, phone and card numbers put into real Chinese sentences.
	ZhStructured map[string]pii.Score `json:"zh_structured"`
	// KeepFalsePositives counts ordinary support messages (order and tracking numbers,
	// product codes, prices, dates) in which anything was redacted, per language.
	KeepFalsePositives map[string]pii.KeepResult `json:"keep_false_positives"`
	// Tagger says what the name and address tagger was trained on ("" when off).
	Tagger  string  `json:"tagger"`
	Seconds float64 `json:"seconds"`
}

func piiEvalCmd(f *rootFlags) *cobra.Command {
	var data string
	var asJSON bool
	var keep int
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Per-type precision and recall of redaction on the shared data's held-out sets, and false positives on ordinary support text",
		Long: `Scores the redactor serve builds (pii.phone_regions, and the name and address tagger
trained here the way pii train trains it, unless pii.tagger_model is off) on the held-out
part of presidio-research's synthetic set (records split by a hash of their text, 30 %
held out, never trained on),
the test split of zh_address_parsing, ID/phone/card numbers put into real Chinese
sentences, and ordinary English and Chinese support messages carrying order numbers,
prices and dates that must stay readable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.loadWithData(&data)
			if err != nil {
				return err
			}
			start := time.Now()
			ctx := cmd.Context()
			var rep piiReport
			r, tagger, err := measuredRedactor(ctx, cfg, data)
			if err != nil {
				return err
			}
			rep.Tagger = tagger
			if rep.PresidioHeldOut, rep.PresidioHeldOutRecords, err = pii.EvaluatePresidio(ctx, r, filepath.Join(data, "pii_presidio_synth"), pii.SplitHeldOut); err != nil {
				return err
			}
			if rep.ZhAddressTest, err = pii.EvaluateChineseAddresses(ctx, r, filepath.Join(data, "zh_address_parsing")); err != nil {
				return err
			}
			if rep.ZhStructured, err = pii.EvaluateChineseStructured(ctx, r, data, 5000, 20231123); err != nil {
				return err
			}
			if rep.KeepFalsePositives, err = pii.EvaluateKeepStrings(ctx, r, data, keep, 2026); err != nil {
				return err
			}
			rep.Seconds = time.Since(start).Seconds()
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
			}
			printPIIReport(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "folder holding pii_presidio_synth/, zh_address_parsing/, lcqmc/ … (default: shared/data found beside the checkout)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().IntVar(&keep, "keep", 3000, "ordinary support messages per language for the false-positive count")
	return cmd
}

// printPIIReport writes the report as tables.
func printPIIReport(w io.Writer, rep piiReport) {
	table := func(title string, scores map[string]pii.Score) {
		fmt.Fprintf(w, "%s\n  %-18s %5s %5s %5s %9s %7s\n", title, "type", "TP", "FP", "FN", "precision", "recall")
		for _, typ := range pii.SortedTypes(scores) {
			s := scores[typ]
			fmt.Fprintf(w, "  %-18s %5d %5d %5d %9.3f %7.3f\n", typ, s.TP, s.FP, s.FN, s.Precision, s.Recall)
		}
	}
	table(fmt.Sprintf("presidio-research synthetic set, held-out part (%d records)", rep.PresidioHeldOutRecords), rep.PresidioHeldOut)
	table("zh_address_parsing, test split", rep.ZhAddressTest)
	table("ID, phone and card numbers in Chinese sentences", rep.ZhStructured)
	fmt.Fprintln(w, "ordinary support messages with order numbers, prices, dates (must stay as written)")
	for _, lang := range []string{"en", "zh"} {
		k := rep.KeepFalsePositives[lang]
		fmt.Fprintf(w, "  %s: %d of %d touched (%.2f %%)\n", lang, k.Touched, k.Messages, 100*k.Rate)
	}
	if rep.Tagger != "" {
		fmt.Fprintln(w, rep.Tagger)
	}
	fmt.Fprintf(w, "(%.1f s)\n", rep.Seconds)
}
