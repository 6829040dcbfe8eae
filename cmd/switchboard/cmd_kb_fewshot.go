package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/gateway/flow/faqeval"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/nlp/intent"
	"github.com/switchboard-cs/switchboard/nlp/match"
	"github.com/switchboard-cs/switchboard/nlp/para"
)

// fewShot runs the few-shot FAQ evaluation over the retriever serve builds from cfg and
// the escalation policy serve uses; no intent model takes part (one trained on a set
// would have seen its questions). The dense encoder is the one serve uses: the ONNX
// encoder of kb.encoder_model when set; else, unless kb.paraphrase_model is off, a
// paraphrase encoder trained the way `kb train` trains serve's, on every set found but
// the one evaluated (so a set's figures come from a model that never saw its training
// split), adapted by serve's retriever to each FAQ's own phrasings (the k questions per
// intent it was given, never the questions asked); with it off, lexical retrieval alone.
func fewShot(ctx context.Context, cfg config.Config, data string, progress io.Writer, rep *evalReport) error {
	esc, err := intent.EscalationModel(ctx)
	if err != nil {
		return err
	}
	onnx, err := openEncoder(ctx, cfg)
	if err != nil {
		return err
	}
	if onnx != nil {
		defer onnx.Close()
	}
	var corpus para.Corpus
	trained := cfg.KB.EncoderModel == "" && cfg.ParaphraseModel() != ""
	switch {
	case cfg.KB.EncoderModel != "":
		rep.FewShotRetrieval = "hybrid: lexical and the dense encoder " + cfg.KB.EncoderModel
	case trained:
		if corpus, err = para.LoadCorpus(data, para.WordNetDir); err != nil {
			return err
		}
		rep.FewShotRetrieval = "ranked by a paraphrase encoder trained without the evaluated set, adapted to each FAQ's own phrasings (lexical coverage in the confidence)"
	default:
		rep.FewShotRetrieval = "lexical BM25 over the entries' phrasings (kb.paraphrase_model is off)"
	}
	// encoderFor is the dense encoder for the figures of set (nil: lexical only).
	encoderFor := func(set string, model *string) (denseEncoder, error) {
		if !trained {
			return onnx, nil
		}
		m, err := trainParaphrase(ctx, corpus.Without(set), progress)
		if err != nil {
			return nil, fmt.Errorf("paraphrase encoder without %s: %w", set, err)
		}
		if model != nil {
			*model = m.Info.String()
		}
		return m, nil
	}
	rep.FewShotSweeps = map[string][]faqeval.Point{}
	dir, err := os.MkdirTemp("", "switchboard-fewshot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	red, err := newRedactor(cfg)
	if err != nil {
		return err
	}
	options := func(enc denseEncoder, rerank kb.Reranker) faqeval.Options {
		return faqeval.Options{Dir: dir,
			Ingest: func(ctx context.Context, idx kb.Index, path string) error {
				_, err := kb.Ingest(ctx, idx, kb.NewLexicalEmbedder(), path, nil, ingestOptionsFor(enc)...)
				return err
			},
			Deps: func(idx kb.Index) (flow.Deps, error) {
				r, err := newRetriever(ctx, idx, enc, rerank, slog.New(slog.DiscardHandler))
				if err != nil {
					return flow.Deps{}, err
				}
				return flow.Deps{Redactor: red, Understander: flow.NLPUnderstander{Escalation: esc},
					Answerer: flow.KBAnswerer{Retriever: r}, Escalation: escalationPolicy(cfg)}, nil
			}}
	}
	train, test, err := intent.LoadBanking77(filepath.Join(data, "banking77"))
	if err != nil {
		return err
	}
	enc, err := encoderFor(para.SetBanking77, &rep.FewShotBanking77Model)
	if err != nil {
		return err
	}
	for k, acc := range map[int]*float64{1: &rep.FewShotBanking77K1Acc, 3: &rep.FewShotBanking77K3Acc, 5: &rep.FewShotBanking77K5Acc} {
		r, err := faqeval.Run(ctx, "banking77", train, test, k, 1, options(enc, nil))
		if err != nil {
			return err
		}
		*acc = r.Accuracy
		if k == 3 {
			rep.FewShotBanking77K3ECE, rep.FewShotBanking77K3Precision = r.ECE, r.Precision
			rep.FewShotBanking77K3BestEntry = r.BestEntry
			rep.FewShotSweeps["banking77_k3"] = r.Sweep
		}
	}
	ctrain, _, ctest, err := intent.LoadCLINC150(filepath.Join(data, "clinc150"))
	if err != nil {
		return err
	}
	if enc, err = encoderFor(para.SetCLINC150, &rep.FewShotCLINC150Model); err != nil {
		return err
	}
	r, err := faqeval.Run(ctx, "clinc150", ctrain, ctest, 3, 1, options(enc, nil))
	if err != nil {
		return err
	}
	rep.FewShotCLINC150K3Acc, rep.FewShotCLINC150K3OOSRecall, rep.FewShotCLINC150K3ECE = r.Accuracy, r.OOSRecall, r.ECE
	rep.FewShotCLINC150K3Precision, rep.FewShotSweeps["clinc150_k3"] = r.Precision, r.Sweep
	rep.FewShotCLINC150K3BestEntry = r.BestEntry

	// Chinese: a bank's FAQ from the BQ corpus, asked in other words, with general
	// questions from LCQMC as the out-of-scope ones; the encoder saw neither set
	faq, asked, err := chineseFAQ(data, chineseFAQSize)
	if err != nil {
		return err
	}
	if trained {
		encoderFor = func(string, *string) (denseEncoder, error) {
			m, err := trainParaphrase(ctx, corpus.Without(para.SetBQ, para.SetLCQMC), progress)
			if err != nil {
				return nil, fmt.Errorf("paraphrase encoder without bq and lcqmc: %w", err)
			}
			rep.FewShotBQModel = m.Info.String()
			return m, nil
		}
	}
	if enc, err = encoderFor(para.SetBQ, nil); err != nil {
		return err
	}
	// the Chinese reranker serve uses, fitted the way `kb train` fits it but on neither set
	var rerank kb.Reranker
	if trained {
		m, sets, n, err := fitReranker(ctx, data, para.SetBQ, para.SetLCQMC)
		if err != nil && !errors.Is(err, match.ErrNoPairs) {
			return err
		}
		if err == nil {
			rerank, rep.FewShotBQReranker = m, fmt.Sprintf("question matcher fitted on %d pairs of %v", n, sets)
		}
	}
	if r, err = faqeval.Run(ctx, "bq", faq, asked, 1, 1, options(enc, rerank)); err != nil {
		return err
	}
	rep.FewShotBQK1Acc, rep.FewShotBQK1OOSRecall, rep.FewShotBQK1ECE = r.Accuracy, r.OOSRecall, r.ECE
	rep.FewShotBQK1Precision, rep.FewShotSweeps["bq_k1"] = r.Precision, r.Sweep
	rep.FewShotBQK1BestEntry = r.BestEntry
	return nil
}

// chineseFAQSize is how many BQ questions make the Chinese FAQ, and how many LCQMC
// questions are asked out of scope.
const chineseFAQSize = 500

// chineseFAQ builds the Chinese few-shot set: the first n matching pairs of BQ's test
// split with distinct questions give an FAQ entry each (the first question) and a
// question asked in other words (the second); the second questions of the first n pairs
// of LCQMC's test split are asked as out of scope (general questions, not a bank's).
func chineseFAQ(data string, n int) (faq, asked []intent.Example, err error) {
	_, bq, err := match.LoadBQ(filepath.Join(data, "bq_corpus"))
	if err != nil {
		return nil, nil, err
	}
	_, lcqmc, err := match.LoadLCQMC(filepath.Join(data, "lcqmc"))
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, p := range bq {
		if len(faq) == n {
			break
		}
		if !p.Same || p.A == p.B || seen[p.A] || seen[p.B] {
			continue
		}
		seen[p.A], seen[p.B] = true, true
		label := fmt.Sprintf("bq-%d", len(faq))
		faq = append(faq, intent.Example{Text: p.A, Label: label})
		asked = append(asked, intent.Example{Text: p.B, Label: label})
	}
	for _, p := range lcqmc[:min(n, len(lcqmc))] {
		asked = append(asked, intent.Example{Text: p.B, Label: intent.OutOfScope})
	}
	return faq, asked, nil
}
