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

	"github.com/spf13/cobra"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/nlp/embed"
	"github.com/switchboard-cs/switchboard/nlp/intent"
	"github.com/switchboard-cs/switchboard/nlp/pii"
)

// brain is what answers a message: understanding and the knowledge base.
type brain struct {
	understand gateway.Understander
	answer     gateway.Answerer
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
	return parts.build(idx)
}

// brainParts are what every knowledge-base generation's brain shares, opened once: the
// escalation model, the dense encoder and the LLM (its client and circuit breaker).
type brainParts struct {
	cfg config.Config
	esc *intent.Classifier
	enc *embed.Encoder  // nil: lexical retrieval only
	llm *kb.LLMComposer // nil: answers are composed from the passages
}

func openBrainParts(ctx context.Context, cfg config.Config, log *slog.Logger) (brainParts, error) {
	p := brainParts{cfg: cfg}
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
	return p, nil
}

func (p brainParts) close() {
	if p.enc != nil {
		p.enc.Close()
	}
}

// build makes the brain of one knowledge-base generation: the retriever over idx, the
// LLM when configured, and the intent model saved by `kb train` as it is now.
func (p brainParts) build(idx kb.Index) (brain, error) {
	retriever := newRetriever(idx, p.enc)
	u := gateway.NLPUnderstander{Escalation: p.esc}
	b := brain{answer: gateway.KBAnswerer{Retriever: retriever}}
	if p.llm != nil {
		b.answer = gateway.LLMAnswerer{Retriever: retriever, Composer: *p.llm}
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
		openai.WithHTTPClient(&http.Client{Timeout: cfg.LLM.Timeout}))
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	return &kb.LLMComposer{Model: model, Guard: kb.NewLLMGuard(cfg.LLM.BreakerFailures, cfg.LLM.BreakerCooldown, log)}, nil
}

// escalationPolicy is the rule by which serve and ask hand a conversation to a human.
func escalationPolicy(cfg config.Config) gateway.EscalationPolicy {
	return gateway.EscalationPolicy{MinConfidence: cfg.KB.MinConfidence}
}

// askResult is what `switchboard ask` prints: the fields of a POST /v1/messages
// reply under the same names (escalated: the pipeline would hand the conversation to
// a human), plus what the bot understood.
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
}

func askCmd(f *rootFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "ask TEXT",
		Short: "Answer one message from the configured knowledge base and print JSON",
		Long: `Runs one message through redaction, understanding and the knowledge base, the way
the pipeline does, and prints JSON with the names of a POST /v1/messages reply:
reply (the bot's answer; empty when it has none), citations, confidence, language,
intent, wants_human and escalated (the pipeline would hand the conversation to a
human, by the same rule), plus frustrated and redacted_text. Nothing is stored.`,
		Example: `  switchboard ask "How long does a refund take?"
  switchboard ask "我要投诉，转人工"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			b, err := openBrain(cmd.Context(), cfg, cfg.Logger(cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			red, err := pii.NewRedactor().Redact(cmd.Context(), strings.Join(args, " "))
			if err != nil {
				return err
			}
			u, err := b.understand.Understand(cmd.Context(), red.Text)
			if err != nil {
				return err
			}
			a, err := b.answer.Answer(cmd.Context(), red.Text)
			if err != nil {
				return err
			}
			pol := escalationPolicy(cfg)
			out := askResult{Reply: a.Text, Confidence: a.Confidence, Language: u.Language, Intent: u.Intent,
				WantsHuman: u.WantsHuman, Frustrated: u.Frustrated, Redacted: red.Text, Citations: []json.RawMessage{},
				Escalated: pol.Escalates(u.WantsHuman, u.Intent, a.Text, a.Confidence)}
			for _, c := range a.Citations {
				raw, _ := json.Marshal(c)
				out.Citations = append(out.Citations, raw)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetEscapeHTML(false)
			return enc.Encode(out)
		},
	}
}
