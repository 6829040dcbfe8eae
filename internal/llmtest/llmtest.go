// Package llmtest is a language-model endpoint for tests: it speaks the OpenAI
// chat-completions protocol (a plain response, or server-sent chunks when the request
// streams) and answers with what its Answer function makes of the prompt.
package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tmc/langchaingo/llms/openai"
)

// Key is the API key the endpoint accepts.
const Key = "test-key"

// Server is the endpoint. Answer gets the request's messages as text ("role: content"
// a line each) and returns the reply; streamed, it is sent a word at a time.
type Server struct {
	Answer func(prompt string) string

	mu      sync.Mutex
	prompts []string
}

// Listen serves s until the test ends and returns its base URL (llm.base_url).
func (s *Server) Listen(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

// Start serves s until the test ends and returns a client of it.
func (s *Server) Start(t testing.TB) *openai.LLM {
	t.Helper()
	model, err := openai.New(openai.WithBaseURL(s.Listen(t)), openai.WithToken(Key), openai.WithModel("test-model"))
	if err != nil {
		t.Fatal(err)
	}
	return model
}

// Prompts returns the prompts received so far (each as Answer got it).
func (s *Server) Prompts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.prompts...)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer "+Key {
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
	var sb strings.Builder
	for _, m := range req.Messages {
		sb.WriteString(m.Role + ": ")
		switch c := m.Content.(type) {
		case string:
			sb.WriteString(c)
		case []any: // content parts
			for _, part := range c {
				if p, ok := part.(map[string]any); ok {
					if text, ok := p["text"].(string); ok {
						sb.WriteString(text)
					}
				}
			}
		}
		sb.WriteString("\n")
	}
	prompt := sb.String()
	s.mu.Lock()
	s.prompts = append(s.prompts, prompt)
	s.mu.Unlock()
	answer := s.Answer(prompt)
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
