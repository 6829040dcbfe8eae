package kb

import (
	"context"
	"fmt"
	"strings"

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
}

// Compose asks the model to answer text from the retriever's best passages.
// stream (may be nil) receives the answer as it is generated. The answer's
// confidence and citations are the retriever's; a model that finds no
// answer in the passages yields an empty answer.
func (c LLMComposer) Compose(ctx context.Context, r *Retriever, text string, stream func(chunk string)) (Answer, error) {
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
		if h.Chunk.Answer != "" {
			fmt.Fprintf(&sb, "Answer: %s\n", h.Chunk.Answer)
		}
		sb.WriteString("\n")
	}
	fmt.Fprintf(&sb, "Question: %s", text)
	opts := []llms.CallOption{llms.WithTemperature(0), llms.WithMaxTokens(max(c.MaxTokens, 512))}
	if stream != nil {
		opts = append(opts, llms.WithStreamingFunc(func(_ context.Context, chunk []byte) error {
			stream(string(chunk))
			return nil
		}))
	}
	resp, err := c.Model.GenerateContent(ctx, []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, llmSystemPrompt),
		llms.TextParts(llms.ChatMessageTypeHuman, sb.String()),
	}, opts...)
	if err != nil {
		return Answer{}, fmt.Errorf("llm: %w", err)
	}
	if len(resp.Choices) == 0 {
		return Answer{}, fmt.Errorf("llm: no choices in the response")
	}
	out := strings.TrimSpace(resp.Choices[0].Content)
	if out == "" || strings.Contains(out, NoAnswer) {
		return Answer{Citations: base.Citations}, nil
	}
	base.Text = out
	return base, nil
}
