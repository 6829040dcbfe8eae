package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tmc/langchaingo/llms/openai"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/nlp/intent"
	"github.com/switchboard-cs/switchboard/nlp/pii"
)

// brain is what answers a message: understanding and the knowledge base.
type brain struct {
	understand gateway.NLPUnderstander
	answer     gateway.Answerer
}

func openBrain(ctx context.Context, cfg config.Config) (brain, error) {
	esc, err := intent.EscalationModel(ctx)
	if err != nil {
		return brain{}, fmt.Errorf("escalation model: %w", err)
	}
	k, err := openKB(ctx, cfg)
	if err != nil {
		return brain{}, err
	}
	retriever := k.Retriever
	b := brain{understand: gateway.NLPUnderstander{Escalation: esc}, answer: gateway.KBAnswerer{Retriever: retriever}}
	if cfg.LLM.BaseURL != "" {
		// Local endpoints (Ollama, vLLM) take no key, but the client insists on one.
		key := cmp.Or(cfg.LLM.APIKey, "no-key")
		model, err := openai.New(openai.WithBaseURL(cfg.LLM.BaseURL), openai.WithModel(cfg.LLM.Model), openai.WithToken(key))
		if err != nil {
			return brain{}, fmt.Errorf("llm: %w", err)
		}
		b.answer = gateway.LLMAnswerer{Retriever: retriever, Composer: kb.LLMComposer{Model: model}}
	}
	if fh, err := os.Open(intentModelPath(cfg)); err == nil {
		defer fh.Close()
		if b.understand.Intents, err = intent.Load(fh); err != nil {
			return brain{}, fmt.Errorf("intent model %s: %w", intentModelPath(cfg), err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return brain{}, err
	}
	return b, nil
}

// askResult is what `switchboard ask` prints.
type askResult struct {
	Answer     string            `json:"answer"`
	Citations  []json.RawMessage `json:"citations"`
	Confidence float64           `json:"confidence"`
	Language   string            `json:"language"`
	Intent     string            `json:"intent"`
	WantsHuman bool              `json:"wants_human"`
	Frustrated bool              `json:"frustrated"`
	Escalate   bool              `json:"escalate"`
	Redacted   string            `json:"redacted_text"`
}

func askCmd(f *rootFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "ask TEXT",
		Short: "Answer one message from the configured knowledge base and print JSON",
		Long: `Runs one message through redaction, understanding and the knowledge base, the way
the pipeline does, and prints the answer, its citations and confidence, the
intent, whether the customer wants a human, and whether the bot would escalate.
Nothing is stored.`,
		Example: `  switchboard ask "How long does a refund take?"
  switchboard ask "我要投诉，转人工"`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			b, err := openBrain(cmd.Context(), cfg)
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
			out := askResult{Answer: a.Text, Confidence: a.Confidence, Language: u.Language, Intent: u.Intent,
				WantsHuman: u.WantsHuman, Frustrated: u.Frustrated, Redacted: red.Text, Citations: []json.RawMessage{},
				Escalate: u.WantsHuman || a.Text == "" || a.Confidence < cfg.KB.MinConfidence}
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
