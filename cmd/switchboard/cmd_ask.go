package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/tracing"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/nlp/intent"
)

// brain is what answers a message: understanding and the knowledge base.
type brain struct {
	understand flow.Understander
	answer     flow.Answerer
}

// openBrain opens the brain over the knowledge base as it is on disk or in Qdrant now
// (`ask`; a server uses openLiveBrain, which follows new generations).
func openBrain(ctx context.Context, cfg config.Config, log *slog.Logger) (brain, error) {
	parts, err := openBrainParts(ctx, cfg, log)
	if err != nil {
		return brain{}, err
	}
	idx, err := openIndex(ctx, cfg, parts.enc)
	if err != nil {
		parts.close()
		return brain{}, err
	}
	return parts.build(ctx, idx)
}

// brainParts are what every knowledge-base generation's brain shares, opened once: the
// escalation model, the dense encoder and the LLM (its client and circuit breaker).
type brainParts struct {
	cfg    config.Config
	log    *slog.Logger
	esc    *intent.Classifier
	enc    denseEncoder    // nil: lexical retrieval only
	rerank kb.Reranker     // nil: Chinese answers are not reranked
	llm    *kb.LLMComposer // nil: answers are composed from the passages
}

func openBrainParts(ctx context.Context, cfg config.Config, log *slog.Logger) (brainParts, error) {
	p := brainParts{cfg: cfg, log: log}
	var err error
	if p.esc, err = intent.EscalationModel(ctx); err != nil {
		return p, fmt.Errorf("escalation model: %w", err)
	}
	if p.llm, err = newLLM(cfg, log); err != nil {
		return p, err
	}
	if p.enc, err = openEncoder(ctx, cfg); err != nil {
		return p, err
	}
	if p.rerank, err = openReranker(cfg, p.enc); err != nil {
		p.close()
		return p, err
	}
	return p, nil
}

func (p brainParts) close() {
	if p.enc != nil {
		p.enc.Close()
	}
}

// build makes the brain of one knowledge-base generation: the retriever over idx, the
// LLM when configured, and the intent model saved by `kb train` as it is now.
func (p brainParts) build(ctx context.Context, idx kb.Index) (brain, error) {
	retriever, err := newRetriever(ctx, idx, p.enc, p.rerank, p.log)
	if err != nil {
		return brain{}, err
	}
	u := flow.NLPUnderstander{Escalation: p.esc}
	b := brain{answer: flow.KBAnswerer{Retriever: retriever}}
	if p.llm != nil {
		b.answer = flow.LLMAnswerer{Retriever: retriever, Composer: *p.llm}
	}
	path := intentModelPath(p.cfg)
	if fh, err := os.Open(path); err == nil {
		defer fh.Close()
		if u.Intents, err = intent.Load(fh); err != nil {
			return brain{}, fmt.Errorf("intent model %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return brain{}, err
	}
	b.understand = u
	return b, nil
}

// newLLM returns the composer of cfg.LLM, or nil without llm.base_url: an
// OpenAI-compatible client whose HTTP client gives up after llm.timeout, behind a
// circuit breaker that answers from the passages while the endpoint keeps failing.
func newLLM(cfg config.Config, log *slog.Logger) (*kb.LLMComposer, error) {
	if cfg.LLM.BaseURL == "" {
		return nil, nil
	}
	// Local endpoints (Ollama, vLLM) take no key, but the client insists on one.
	key := cmp.Or(cfg.LLM.APIKey, "no-key")
	model, err := openai.New(openai.WithBaseURL(cfg.LLM.BaseURL), openai.WithModel(cfg.LLM.Model), openai.WithToken(key),
		openai.WithHTTPClient(&http.Client{Timeout: cfg.LLM.Timeout, Transport: tracing.Transport(nil)}))
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	return &kb.LLMComposer{Model: model, Guard: kb.NewLLMGuard(cfg.LLM.BreakerFailures, cfg.LLM.BreakerCooldown, log)}, nil
}

// escalationPolicy is the rule by which serve and ask hand a conversation to a human.
func escalationPolicy(cfg config.Config) flow.EscalationPolicy {
	return flow.EscalationPolicy{MinConfidence: cfg.KB.MinConfidence, MinConfidenceByLanguage: cfg.KB.MinConfidenceByLanguage,
		IntentSkills: cfg.Routing.IntentSkills}
}

// askResult is what `switchboard ask` prints: the fields of a POST /v1/messages
// reply under the same names (escalated: the flow would hand the conversation to a
// human), plus what the bot understood.
type askResult struct {
	Reply      string            `json:"reply"`
	Citations  []json.RawMessage `json:"citations"`
	Confidence float64           `json:"confidence"`
	Language   string            `json:"language"`
	Intent     string            `json:"intent"`
	WantsHuman bool              `json:"wants_human"`
	Frustrated bool              `json:"frustrated"`
	Escalated  bool              `json:"escalated"`
	Redacted   string            `json:"redacted_text"`
	Degraded   []string          `json:"degraded,omitempty"`
}

func askCmd(f *rootFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "ask TEXT",
		Short: "Answer one message from the configured knowledge base and print JSON",
		Long: `Runs one message through the same flow as serve (redaction, understanding, the
knowledge base and the escalation decision), storing nothing, and prints JSON with the
names of a POST /v1/messages reply: reply (what the customer would be told: the bot's
answer, or the handover notice when it escalates), citations, confidence, language,
intent, wants_human and escalated (the conversation would go to a human), plus
frustrated, redacted_text and degraded (steps that failed open).`,
		Example: `  switchboard ask "How long does a refund take?"
  switchboard ask "我要投诉，转人工"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			log := cfg.Logger(cmd.ErrOrStderr())
			b, err := openBrain(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			red, err := newRedactor(cfg)
			if err != nil {
				return err
			}
			deps := flow.Deps{Redactor: red, Understander: b.understand, Answerer: b.answer, Escalation: escalationPolicy(cfg)}
			t := &pipeline.Turn{Channel: "ask", Parts: []pipeline.Part{{Kind: pipeline.PartText, Text: strings.Join(args, " ")}}}
			if err := deps.Dry(pipeline.NewMetrics(prometheus.NewRegistry()), log).Run(cmd.Context(), t); err != nil {
				return err
			}
			out := askResult{Reply: t.Reply, Confidence: t.Confidence, Language: t.Language, Intent: t.Intent,
				WantsHuman: t.WantsHuman, Frustrated: t.Frustrated, Redacted: t.Text, Citations: []json.RawMessage{},
				Escalated: t.Escalated, Degraded: t.Degraded}
			for _, c := range t.Citations {
				raw, _ := json.Marshal(c)
				out.Citations = append(out.Citations, raw)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetEscapeHTML(false)
			return enc.Encode(out)
		},
	}
}
