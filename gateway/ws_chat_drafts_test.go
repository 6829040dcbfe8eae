package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tmc/langchaingo/llms"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/kb"
)

// wordByWordModel is a language model that answers a refund question from the passages,
// one word per streamed chunk, and refuses anything else.
type wordByWordModel struct{}

func (wordByWordModel) GenerateContent(ctx context.Context, msgs []llms.MessageContent, options ...llms.CallOption) (*llms.ContentResponse, error) {
	var o llms.CallOptions
	for _, opt := range options {
		opt(&o)
	}
	prompt := fmt.Sprint(msgs)
	answer := kb.NoAnswer
	if _, q, _ := strings.Cut(prompt, "Question:"); strings.Contains(q, "refund") {
		answer = "Refunds reach your card within five working days [1]."
	}
	for _, w := range strings.SplitAfter(answer, " ") {
		if o.StreamingFunc != nil {
			if err := o.StreamingFunc(ctx, []byte(w)); err != nil {
				return nil, err
			}
		}
	}
	return &llms.ContentResponse{Choices: []*llms.ContentChoice{{Content: answer}}}, nil
}

func (m wordByWordModel) Call(ctx context.Context, prompt string, options ...llms.CallOption) (string, error) {
	return llms.GenerateFromSinglePrompt(ctx, m, prompt, options...)
}

// llmBrain understands like scriptedBrain and answers with the language model over a
// one-entry FAQ.
type llmBrain struct {
	scriptedBrain
	llm flow.LLMAnswerer
}

func (b llmBrain) Answer(ctx context.Context, text string) (flow.Answer, error) {
	return b.llm.Answer(ctx, text)
}

// TestWebChatStreamsTheAnswer: with a language model, web chat shows the bot's answer as
// it is written (growing drafts of the client's message), then the reply; an answer the
// bot will not give — the customer asked for a human, or the model refused — is never
// drafted.
func TestWebChatStreamsTheAnswer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	idx, err := kb.NewEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	lex := kb.NewLexicalEmbedder()
	c := kb.Chunk{ID: "faq#0", DocID: "faq", Source: "faq.csv", Title: "When does my refund arrive?",
		Text: "When does my refund arrive?", Answer: "Refunds take five working days."}
	if err := idx.Upsert(ctx, []kb.Point{{Chunk: c, Hash: "h", Sparse: lex.Document(c.Text)}}); err != nil {
		t.Fatal(err)
	}
	brain := llmBrain{llm: flow.LLMAnswerer{Retriever: kb.NewRetriever(idx, lex), Composer: kb.LLMComposer{Model: wordByWordModel{}}}}
	in := newInstanceWith(t, newPool(t), "drafts"+strings.ToLower(t.Name()), brain)
	cust := in.token(t, "web:drafts", RoleCustomer)
	chat := dialChat(t, ctx, in.http.URL, cust, "")

	chat.say("when does my refund arrive", "d1")
	frames := chat.until(func(f ChatFrame) bool { return f.Type == "reply" })
	var drafts []string
	for _, f := range frames {
		if f.Type == "draft" {
			if f.MessageID != "d1" {
				t.Errorf("draft for message %q, want d1", f.MessageID)
			}
			drafts = append(drafts, f.Text)
		}
	}
	final := frames[len(frames)-1].Reply
	if final == nil || final.Escalated || final.Reply != "Refunds reach your card within five working days [1]." {
		t.Fatalf("reply %+v", final)
	}
	if len(drafts) < 3 || drafts[len(drafts)-1] != final.Reply || !strings.HasPrefix(drafts[1], drafts[0]) {
		t.Fatalf("drafts %q: want the answer growing word by word up to the reply", drafts)
	}

	for _, tc := range []struct{ text, id string }{
		{"a human please, about my refund", "d2"}, // answered by a human: nothing to stream
		{"when does my parcel arrive", "d3"},      // the model refuses: escalates
	} {
		chat.say(tc.text, tc.id)
		for _, f := range chat.until(func(f ChatFrame) bool { return f.Type == "reply" && f.MessageID == tc.id }) {
			if f.Type == "draft" {
				t.Errorf("%q: drafted %q for an answer the bot does not give", tc.text, f.Text)
			}
			if f.Type == "reply" && !f.Reply.Escalated {
				t.Errorf("%q: not escalated: %+v", tc.text, f.Reply)
			}
		}
	}
}
