package kb

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tmc/langchaingo/llms/openai"
)

// fakeOpenAI speaks the OpenAI chat-completions protocol (plain and SSE
// streaming) and answers from what the prompt contains.
type fakeOpenAI struct {
	mu      sync.Mutex
	prompts []string
}

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer test-key" {
		http.Error(w, `{"error":{"message":"bad path or key"}}`, http.StatusUnauthorized)
		return
	}
	var req struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct {
			Role    string `json:"role"`
			Content any    `json:"content"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	raw, _ := json.Marshal(req.Messages)
	prompt := string(raw)
	f.mu.Lock()
	f.prompts = append(f.prompts, prompt)
	f.mu.Unlock()
	answer := "NO_ANSWER"
	_, question, _ := strings.Cut(prompt, "Question:")
	if strings.Contains(prompt, "5 working days") && strings.Contains(question, "refund") {
		answer = "Your refund arrives within 5 working days [1]."
	}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"c1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`, req.Model, answer)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for _, word := range strings.SplitAfter(answer, " ") {
		fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", req.Model, word)
		w.(http.Flusher).Flush()
	}
	fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", req.Model)
}

func TestLLMComposerAnswersOnlyFromPassagesAndStreams(t *testing.T) {
	fake := &fakeOpenAI{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	model, err := openai.New(openai.WithBaseURL(srv.URL+"/v1"), openai.WithToken("test-key"), openai.WithModel("qwen-test"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	idx, _ := NewEmbedded("")
	emb := NewLexicalEmbedder()
	var pts []Point
	for i, qa := range [][2]string{{"How long does a refund take?", "Refunds arrive within 5 working days."}, {"How do I reset my password?", "Use the Forgot password link."}} {
		c := Chunk{ID: fmt.Sprintf("faq#%d", i), DocID: "faq", Source: "faq.csv", Title: qa[0], Text: qa[0], Answer: qa[1]}
		pts = append(pts, Point{Chunk: c, Hash: c.ID, Sparse: emb.Document(c.Text)})
	}
	if err := idx.Upsert(ctx, pts); err != nil {
		t.Fatal(err)
	}
	r := NewRetriever(idx, emb)
	c := LLMComposer{Model: model}

	plain, err := c.Compose(ctx, r, "how long will my refund take", nil)
	if err != nil || plain.Text != "Your refund arrives within 5 working days [1]." || len(plain.Citations) == 0 || plain.Confidence <= 0 {
		t.Fatalf("plain answer %+v, %v", plain, err)
	}
	var chunks []string
	streamed, err := c.Compose(ctx, r, "how long will my refund take", func(s string) { chunks = append(chunks, s) })
	if err != nil || streamed.Text != plain.Text || len(chunks) < 3 || strings.Join(chunks, "") != plain.Text {
		t.Fatalf("streamed %+v (chunks %q), %v", streamed, chunks, err)
	}
	none, err := c.Compose(ctx, r, "how do I reset my password [PHONE_1]", nil)
	if err != nil || none.Text != "" {
		t.Fatalf("model said NO_ANSWER but got %+v, %v", none, err)
	}
	last := fake.prompts[len(fake.prompts)-1]
	if !strings.Contains(last, "[PHONE_1]") || !strings.Contains(last, "ONLY the numbered passages") {
		t.Fatalf("prompt lacks the instructions or the redacted question: %s", last)
	}
}
