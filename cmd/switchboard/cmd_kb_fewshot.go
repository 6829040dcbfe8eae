package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/gateway/flow/faqeval"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/nlp/intent"
	"github.com/switchboard-cs/switchboard/nlp/pii"
)

// fewShot runs the few-shot FAQ evaluation over the retriever serve builds from cfg (the
// dense encoder of kb.encoder_model when set) and the escalation policy serve uses; no
// intent model takes part (one trained on a set would have seen its questions).
func fewShot(ctx context.Context, cfg config.Config, data string, rep *evalReport) error {
	esc, err := intent.EscalationModel(ctx)
	if err != nil {
		return err
	}
	enc, err := openEncoder(ctx, cfg)
	if err != nil {
		return err
	}
	rep.FewShotRetrieval = "lexical BM25 over the entries' phrasings (nothing trained)"
	if enc != nil {
		defer enc.Close()
		rep.FewShotRetrieval = "hybrid: lexical and the dense encoder " + cfg.KB.EncoderModel
	}
	dir, err := os.MkdirTemp("", "switchboard-fewshot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	o := faqeval.Options{Dir: dir,
		Ingest: func(ctx context.Context, idx kb.Index, path string) error {
			_, err := kb.Ingest(ctx, idx, kb.NewLexicalEmbedder(), path, nil, ingestOptionsFor(enc)...)
			return err
		},
		Deps: func(idx kb.Index) (flow.Deps, error) {
			return flow.Deps{Redactor: pii.NewRedactor(), Understander: flow.NLPUnderstander{Escalation: esc},
				Answerer: flow.KBAnswerer{Retriever: newRetriever(idx, enc)}, Escalation: escalationPolicy(cfg)}, nil
		}}
	train, test, err := intent.LoadBanking77(filepath.Join(data, "banking77"))
	if err != nil {
		return err
	}
	for k, acc := range map[int]*float64{1: &rep.FewShotBanking77K1Acc, 3: &rep.FewShotBanking77K3Acc, 5: &rep.FewShotBanking77K5Acc} {
		r, err := faqeval.Run(ctx, "banking77", train, test, k, 1, o)
		if err != nil {
			return err
		}
		*acc = r.Accuracy
		if k == 3 {
			rep.FewShotBanking77K3ECE = r.ECE
		}
	}
	ctrain, _, ctest, err := intent.LoadCLINC150(filepath.Join(data, "clinc150"))
	if err != nil {
		return err
	}
	r, err := faqeval.Run(ctx, "clinc150", ctrain, ctest, 3, 1, o)
	if err != nil {
		return err
	}
	rep.FewShotCLINC150K3Acc, rep.FewShotCLINC150K3OOSRecall, rep.FewShotCLINC150K3ECE = r.Accuracy, r.OOSRecall, r.ECE
	return nil
}
