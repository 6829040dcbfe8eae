package kb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/tmc/langchaingo/llms"
)

// NoAnswer is what the model is told to say when the passages do not
// answer the question; it becomes an empty answer (and so a hand-over).
const NoAnswer = "NO_ANSWER"

const llmSystemPrompt = `You are a customer-service assistant. Answer the customer's question using ONLY the numbered passages. ` +
	`Answer in the language of the question, briefly, and cite passages as [1], [2]. ` +
	`If the passages do not answer the question, reply exactly ` + NoAnswer + `. ` +
	`Placeholders such as [PHONE_1] stand for redacted personal data: keep them as they are.`

// LLMComposer writes answers with a language model (any OpenAI-compatible
// endpoint through langchaingo) from the retrieved passages only. The text
// it sends is redacted text: no raw PII reaches the prompt.
type LLMComposer struct {
	Model     llms.Model
	MaxTokens int // default 512
	// Guard (may be nil) is a circuit breaker around Model. With it, a failed or
	// refused model call answers from the retrieved passages instead of failing.
	Guard *LLMGuard
}

// LLMGuard is a circuit breaker for the language model: after Failures consecutive
// failed calls it refuses calls for Cooldown (the composer then answers from the
// passages at once), then lets one call probe the endpoint. Opening and closing are
// logged once each. A caller's own cancellation is not the model's failure.
type LLMGuard struct {
	cb  *gobreaker.CircuitBreaker[*llms.ContentResponse]
	log *slog.Logger
}

// NewLLMGuard returns a guard that opens after failures consecutive failures
// (minimum 1) and stays open for cooldown.
func NewLLMGuard(failures int, cooldown time.Duration, log *slog.Logger) *LLMGuard {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &LLMGuard{log: log}
	n := uint32(max(failures, 1))
	g.cb = gobreaker.NewCircuitBreaker[*llms.ContentResponse](gobreaker.Settings{
		Name:        "llm",
		MaxRequests: 1,
		Timeout:     cooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= n },
		IsExcluded:  func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			switch to {
			case gobreaker.StateOpen:
				if from == gobreaker.StateClosed {
					log.Warn("llm circuit open: answers come from the retrieved passages until the endpoint recovers",
						"consecutive_failures", n, "cooldown", cooldown)
				}
			case gobreaker.StateClosed:
				log.Info("llm circuit closed: the endpoint answers again")
			}
		},
	})
	return g
}

// Open reports whether calls are being refused.
func (g *LLMGuard) Open() bool { return g.cb.State() == gobreaker.StateOpen }

// call runs the model call through the breaker.
func (g *LLMGuard) call(fn func() (*llms.ContentResponse, error)) (*llms.ContentResponse, error) {
	if g == nil {
		return fn()
	}
	return g.cb.Execute(fn)
}

// Stream receives an answer while the model writes it.
type Stream struct {
	// Allow, when set, is asked once the passages are found, with their confidence:
	// false keeps the answer from streaming (it would be handed over, not given).
	Allow func(confidence float64) bool
	// Draft receives the answer so far each time it grows. The refusal marker is never
	// drafted, and a refusal after some text stops the drafts: the composed answer is
	// the final word.
	Draft func(soFar string)
}

// drafter turns the model's chunks into drafts.
type drafter struct {
	s       *Stream
	sb      strings.Builder
	last    string // the last draft
	refused bool
}

func (d *drafter) chunk(chunk []byte) {
	if d.refused {
		return
	}
	d.sb.Write(chunk)
	text := strings.TrimSpace(d.sb.String())
	switch {
	case strings.Contains(text, NoAnswer):
		d.refused = true
	case text == "" || text == d.last || strings.HasPrefix(NoAnswer, text):
		// nothing new, or it may still become the refusal: hold it back
	default:
		d.last = text
		d.s.Draft(text)
	}
}

// Compose asks the model to answer text from the retriever's best passages.
// stream (may be nil) receives the answer as it is generated. The answer's
// confidence and citations are the retriever's; a model that finds no
// answer in the passages yields an empty answer.
func (c LLMComposer) Compose(ctx context.Context, r *Retriever, text string, stream *Stream) (Answer, error) {
	base, err := r.Answer(ctx, text)
	if err != nil || len(base.Citations) == 0 {
		return base, err
	}
	hits, err := r.Retrieve(ctx, text, 4)
	if err != nil {
		return Answer{}, err
	}
	var sb strings.Builder
	for i, h := range hits {
		fmt.Fprintf(&sb, "[%d] %s\n%s\n", i+1, h.Chunk.Title, h.Chunk.Text)
		if h.Chunk.Answer != "" && h.Chunk.Answer != h.Chunk.Text {
			fmt.Fprintf(&sb, "Answer: %s\n", h.Chunk.Answer)
		}
		sb.WriteString("\n")
	}
	fmt.Fprintf(&sb, "Question: %s", text)
	opts := []llms.CallOption{llms.WithTemperature(0), llms.WithMaxTokens(max(c.MaxTokens, 512))}
	if stream != nil && stream.Draft != nil && (stream.Allow == nil || stream.Allow(base.Confidence)) {
		d := &drafter{s: stream}
		opts = append(opts, llms.WithStreamingFunc(func(_ context.Context, chunk []byte) error {
			d.chunk(chunk)
			return nil
		}))
	}
	resp, err := c.Guard.call(func() (*llms.ContentResponse, error) {
		resp, err := c.Model.GenerateContent(ctx, []llms.MessageContent{
			llms.TextParts(llms.ChatMessageTypeSystem, llmSystemPrompt),
			llms.TextParts(llms.ChatMessageTypeHuman, sb.String()),
		}, opts...)
		if err == nil && len(resp.Choices) == 0 {
			err = errors.New("no choices in the response")
		}
		return resp, err
	})
	if err != nil {
		if c.Guard == nil || errors.Is(ctx.Err(), context.Canceled) {
			return Answer{}, fmt.Errorf("llm: %w", err)
		}
		if !errors.Is(err, gobreaker.ErrOpenState) && !errors.Is(err, gobreaker.ErrTooManyRequests) {
			c.Guard.log.Debug("llm call failed; answering from the passages", "err", err)
		}
		return base, nil
	}
	out := strings.TrimSpace(resp.Choices[0].Content)
	if out == "" || strings.Contains(out, NoAnswer) {
		return Answer{Citations: base.Citations}, nil
	}
	base.Text = out
	return base, nil
}

// Write has the model write text other than a customer answer (an agent's reply draft):
// instructions as the system prompt, material as the request. draft (may be nil)
// receives the text so far as it grows. Behind the guard like Compose; a failed or
// refused call is an error (there is nothing to fall back to).
func (c LLMComposer) Write(ctx context.Context, instructions, material string, draft func(soFar string)) (string, error) {
	opts := []llms.CallOption{llms.WithTemperature(0.2), llms.WithMaxTokens(max(c.MaxTokens, 512))}
	if draft != nil {
		var sb strings.Builder
		last := ""
		opts = append(opts, llms.WithStreamingFunc(func(_ context.Context, chunk []byte) error {
			sb.Write(chunk)
			if text := strings.TrimSpace(sb.String()); text != "" && text != last {
				last = text
				draft(text)
			}
			return nil
		}))
	}
	resp, err := c.Guard.call(func() (*llms.ContentResponse, error) {
		resp, err := c.Model.GenerateContent(ctx, []llms.MessageContent{
			llms.TextParts(llms.ChatMessageTypeSystem, instructions),
			llms.TextParts(llms.ChatMessageTypeHuman, material),
		}, opts...)
		if err == nil && len(resp.Choices) == 0 {
			err = errors.New("no choices in the response")
		}
		return resp, err
	})
	if err != nil {
		return "", fmt.Errorf("llm: %w", err)
	}
	return strings.TrimSpace(resp.Choices[0].Content), nil
}
