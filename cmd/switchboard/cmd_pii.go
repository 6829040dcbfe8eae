package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/nlp/pii"
)

func piiCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "pii", Short: "PII redaction: evaluate the detectors"}
	cmd.AddCommand(piiEvalCmd(f))
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
	Seconds            float64                   `json:"seconds"`
}

func piiEvalCmd(f *rootFlags) *cobra.Command {
	var data string
	var asJSON bool
	var keep int
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Per-type precision and recall of redaction on the shared data's held-out sets, and false positives on ordinary support text",
		Long: `Scores the redactor serve builds (pii.phone_regions included) on the held-out part of
presidio-research's synthetic set (records split by a hash of their text, 30 % held out),
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
			r := newRedactor(cfg)
			ctx := cmd.Context()
			var rep piiReport
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
	fmt.Fprintf(w, "(%.1f s)\n", rep.Seconds)
}
