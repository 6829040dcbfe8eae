package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/gateway/flow/faqeval"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/nlp/intent"
	"github.com/switchboard-cs/switchboard/nlp/match"
)

// findSharedData looks for shared/data beside the working directory or any
// of its parents (the layout of a checkout next to the evaluation data).
func findSharedData() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		for _, cand := range []string{filepath.Join(dir, "shared", "data"), filepath.Join(dir, "..", "shared", "data")} {
			if fi, err := os.Stat(cand); err == nil && fi.IsDir() {
				return filepath.Clean(cand), nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no shared/data found beside the working directory or its parents; pass --data DIR")
		}
		dir = parent
	}
}

// loadWithData loads the configuration and, when *data is empty, sets it to the shared
// data found beside the checkout (findSharedData): the start of every evaluation command.
func (f *rootFlags) loadWithData(data *string) (config.Config, error) {
	cfg, err := f.load()
	if err != nil {
		return cfg, err
	}
	if *data == "" {
		*data, err = findSharedData()
	}
	return cfg, err
}

// evalReport is what `switchboard kb eval --json` prints.
type evalReport struct {
	Banking77Acc       float64  `json:"banking77_acc"`
	CLINC150InScopeAcc float64  `json:"clinc150_inscope_acc"`
	CLINC150OOSRecall  float64  `json:"clinc150_oos_recall"`
	CLINC150Threshold  float64  `json:"clinc150_threshold"`
	BQAcc              *float64 `json:"bq_acc"`
	LCQMCAcc           *float64 `json:"lcqmc_acc"`
	ATECCCKSAcc        *float64 `json:"atec_ccks_acc"`
	// The few-shot FAQ through the serving path (gateway/flow/faqeval): k questions per
	// intent of the training split are the FAQ, the test split asks.
	FewShotBanking77K1Acc      float64 `json:"fewshot_banking77_k1_acc"`
	FewShotBanking77K3Acc      float64 `json:"fewshot_banking77_k3_acc"`
	FewShotBanking77K5Acc      float64 `json:"fewshot_banking77_k5_acc"`
	FewShotCLINC150K3Acc       float64 `json:"fewshot_clinc150_k3_acc"`
	FewShotCLINC150K3OOSRecall float64 `json:"fewshot_clinc150_k3_oos_recall"`
	// Expected calibration error of the answer confidence at k=3 (10 bins).
	FewShotBanking77K3ECE float64 `json:"fewshot_banking77_k3_ece"`
	FewShotCLINC150K3ECE  float64 `json:"fewshot_clinc150_k3_ece"`
	// FewShotRetrieval says what answered them; the models say what the encoder of each
	// set's figures was trained on (never that set).
	FewShotRetrieval      string `json:"fewshot_retrieval"`
	FewShotBanking77Model string `json:"fewshot_banking77_model,omitempty"`
	FewShotCLINC150Model  string `json:"fewshot_clinc150_model,omitempty"`
	// The Chinese few-shot FAQ: 500 BQ questions as entries (k=1), each asked in the
	// other words of its BQ pair, and 500 general LCQMC questions asked out of scope.
	FewShotBQK1Acc       float64 `json:"fewshot_bq_k1_acc"`
	FewShotBQK1OOSRecall float64 `json:"fewshot_bq_k1_oos_recall"`
	FewShotBQK1ECE       float64 `json:"fewshot_bq_k1_ece"`
	FewShotBQModel       string  `json:"fewshot_bq_model,omitempty"`
	FewShotBQReranker    string  `json:"fewshot_bq_reranker,omitempty"`
	// Answer precision at the serving threshold, and the figures at other thresholds.
	FewShotBanking77K3Precision float64 `json:"fewshot_banking77_k3_precision"`
	FewShotCLINC150K3Precision  float64 `json:"fewshot_clinc150_k3_precision"`
	FewShotBQK1Precision        float64 `json:"fewshot_bq_k1_precision"`
	// The share whose best entry was the right one whatever the confidence: what a
	// perfect escalation decision would reach with this ranking.
	FewShotBanking77K3BestEntry float64                    `json:"fewshot_banking77_k3_best_entry"`
	FewShotCLINC150K3BestEntry  float64                    `json:"fewshot_clinc150_k3_best_entry"`
	FewShotBQK1BestEntry        float64                    `json:"fewshot_bq_k1_best_entry"`
	FewShotSweeps               map[string][]faqeval.Point `json:"fewshot_sweeps"`
	Seconds                     float64                    `json:"seconds"`
}

func kbEvalCmd(f *rootFlags) *cobra.Command {
	var data string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate understanding on public sets: BANKING77, CLINC150 (with out-of-scope), Chinese question matching",
		Long: `Trains on each set's training split and reports test figures:
BANKING77 accuracy; CLINC150 in-scope accuracy and out-of-scope recall at one
confidence threshold chosen on the validation split; Chinese question matching
accuracy on BQ, LCQMC and ATEC-CCKS (a pair classifier fitted on each dev split,
scored on its test split). Then the few-shot FAQ, measured the way the bot serves:
k questions per intent of the training split (seed 1) are an FAQ, and every test
question goes through the serving steps (redaction, understanding, retrieval, the
escalation decision at kb.min_confidence): right when answered with its intent's
entry, out-of-scope handled when escalated. The Chinese counterpart: 500 BQ
questions as the FAQ, each asked in its pair's other words, and 500 LCQMC questions
asked out of scope. The dense encoder is serve's: kb.encoder_model, or a paraphrase
encoder trained like kb train's but without the evaluated set (and for the Chinese FAQ
without BQ and LCQMC), so no figure comes from a model that saw its set.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.loadWithData(&data)
			if err != nil {
				return err
			}
			start := time.Now()
			var rep evalReport
			if rep.Banking77Acc, err = intent.EvalBanking77(cmd.Context(), filepath.Join(data, "banking77"), intent.Options{}); err != nil {
				return fmt.Errorf("banking77: %w", err)
			}
			cl, err := intent.EvalCLINC150(cmd.Context(), filepath.Join(data, "clinc150"), intent.Options{})
			if err != nil {
				return fmt.Errorf("clinc150: %w", err)
			}
			rep.CLINC150InScopeAcc, rep.CLINC150OOSRecall, rep.CLINC150Threshold = cl.AtRecall.TestInScopeAcc, cl.AtRecall.TestOOSRecall, cl.AtRecall.Threshold
			zh, err := match.EvalAll(cmd.Context(), data)
			if err != nil {
				return fmt.Errorf("chinese question matching: %w", err)
			}
			bq, lc, at := zh["bq_acc"], zh["lcqmc_acc"], zh["atec_ccks_acc"]
			rep.BQAcc, rep.LCQMCAcc, rep.ATECCCKSAcc = &bq, &lc, &at
			if err := fewShot(cmd.Context(), cfg, data, cmd.ErrOrStderr(), &rep); err != nil {
				return fmt.Errorf("few-shot FAQ: %w", err)
			}
			rep.Seconds = time.Since(start).Seconds()
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "BANKING77 accuracy        %.4f\nCLINC150 in-scope accuracy %.4f\nCLINC150 OOS recall        %.4f (threshold %.3f)\n"+
				"BQ accuracy               %.4f\nLCQMC accuracy            %.4f\nATEC-CCKS accuracy        %.4f\n"+
				"few-shot FAQ, through the serving path (%s):\n"+
				"  BANKING77 k=1 %.4f  k=3 %.4f  k=5 %.4f (ECE at k=3 %.4f; best entry right %.4f)\n"+
				"  CLINC150 k=3 %.4f, out-of-scope escalated %.4f (ECE %.4f; best entry right %.4f)\n"+
				"  BQ (Chinese) k=1 %.4f, out-of-scope escalated %.4f (ECE %.4f; best entry right %.4f)\n",
				rep.Banking77Acc, rep.CLINC150InScopeAcc, rep.CLINC150OOSRecall, rep.CLINC150Threshold, bq, lc, at,
				rep.FewShotRetrieval, rep.FewShotBanking77K1Acc, rep.FewShotBanking77K3Acc, rep.FewShotBanking77K5Acc, rep.FewShotBanking77K3ECE, rep.FewShotBanking77K3BestEntry,
				rep.FewShotCLINC150K3Acc, rep.FewShotCLINC150K3OOSRecall, rep.FewShotCLINC150K3ECE, rep.FewShotCLINC150K3BestEntry,
				rep.FewShotBQK1Acc, rep.FewShotBQK1OOSRecall, rep.FewShotBQK1ECE, rep.FewShotBQK1BestEntry)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "folder holding banking77/, clinc150/, bq_corpus/ … (default: shared/data found beside the checkout)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// intentModelPath is where `kb train` keeps the intent model.
func intentModelPath(cfg config.Config) string {
	return filepath.Join(cfg.DataDir, "models", "intent", "model.bin")
}

func kbTrainCmd(f *rootFlags) *cobra.Command {
	var pub publishFlags
	var pf paraphraseFlags
	cmd := &cobra.Command{
		Use:   "train [FILE.csv]",
		Short: "Train the paraphrase encoder (no file) or the intent classifier (CSV: text,label)",
		Long: `Without a file, trains the knowledge base's paraphrase encoder and saves it at
kb.paraphrase_model (default <data_dir>/paraphrase.bin): a bag-of-features encoder
learned from paraphrase groups (WordNet's synsets from Debian's wordnet-base; the
intents of BANKING77's and CLINC150's training splits; the question pairs of ATEC,
BQ, LCQMC and AFQMC), each set found taking part. serve, ask and kb ingest use it
for dense retrieval beside the lexical index whenever the file exists and no
kb.encoder_model is set.

With a file, trains the understand stage's intent classifier from a CSV whose
first column is the example text and whose second is its label (a header row such
as text,category is skipped), and saves it under <data_dir>/models/intent/.

` + reloadHelp,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return trainParaphraseModel(cmd, cfg, pf)
			}
			ex, err := readExamples(args[0])
			if err != nil {
				return err
			}
			start := time.Now()
			c, err := intent.Train(cmd.Context(), ex, intent.Options{})
			if err != nil {
				return err
			}
			path := intentModelPath(cfg)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			tmp := path + ".tmp"
			out, err := os.Create(tmp)
			if err != nil {
				return err
			}
			if err := c.Save(out); err != nil {
				out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
			if err := os.Rename(tmp, path); err != nil {
				return err
			}
			seconds := time.Since(start).Seconds()
			idx, err := openIndex(cmd.Context(), cfg, nil)
			if err != nil {
				return err
			}
			g, err := publish(cmd, cfg, idx, true, pub)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"examples": len(ex), "labels": len(c.Labels()),
				"model": path, "seconds": seconds, "generation": g.N})
		},
	}
	pub.register(cmd)
	pf.register(cmd)
	return cmd
}

func readExamples(path string) ([]intent.Example, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	r := csv.NewReader(fh)
	r.FieldsPerRecord = -1
	var out []intent.Example
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rec) < 2 {
			return nil, fmt.Errorf("%s line %d: want text,label", path, line)
		}
		if line == 1 && strings.EqualFold(rec[0], "text") || line == 1 && strings.EqualFold(rec[0], "question") {
			continue
		}
		out = append(out, intent.Example{Text: rec[0], Label: rec[1]})
	}
	return out, nil
}
