package kb

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tmc/langchaingo/llms/openai"

	"github.com/switchboard-cs/switchboard/internal/llmtest"
)

// refundAnswerer answers from what the prompt contains: the refund passage for a
// question about refunds, the refusal marker otherwise.
func refundAnswerer(prompt string) string {
	_, question, _ := strings.Cut(prompt, "Question:")
	if strings.Contains(prompt, "5 working days") && strings.Contains(question, "refund") {
		return "Your refund arrives within 5 working days [1]."
	}
	return "NO_ANSWER"
}

func TestLLMComposerAnswersOnlyFromPassagesAndStreams(t *testing.T) {
	fake := &llmtest.Server{Answer: refundAnswerer}
	model := fake.Start(t)
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
	var drafts []string
	var asked float64
	stream := &Stream{Draft: func(s string) { drafts = append(drafts, s) },
		Allow: func(conf float64) bool { asked = conf; return true }}
	streamed, err := c.Compose(ctx, r, "how long will my refund take", stream)
	if err != nil || streamed.Text != plain.Text || len(drafts) < 3 || drafts[len(drafts)-1] != plain.Text || asked != plain.Confidence {
		t.Fatalf("streamed %+v (drafts %q, allow asked with %v), %v", streamed, drafts, asked, err)
	}
	for i := 1; i < len(drafts); i++ {
		if !strings.HasPrefix(drafts[i], drafts[i-1]) || drafts[i] == drafts[i-1] {
			t.Errorf("draft %d %q does not grow %q", i, drafts[i], drafts[i-1])
		}
	}
	// an answer that will not be given is not streamed
	drafts = nil
	stream.Allow = func(float64) bool { return false }
	if again, err := c.Compose(ctx, r, "how long will my refund take", stream); err != nil || again.Text != plain.Text || len(drafts) != 0 {
		t.Fatalf("not allowed: %+v, drafts %q, %v", again, drafts, err)
	}
	// nor is the refusal marker
	stream.Allow = nil
	none, err := c.Compose(ctx, r, "how do I reset my password [PHONE_1]", stream)
	if err != nil || none.Text != "" || len(drafts) != 0 {
		t.Fatalf("model said NO_ANSWER but got %+v (drafts %q), %v", none, drafts, err)
	}
	prompts := fake.Prompts()
	last := prompts[len(prompts)-1]
	if !strings.Contains(last, "[PHONE_1]") || !strings.Contains(last, "ONLY the numbered passages") {
		t.Fatalf("prompt lacks the instructions or the redacted question: %s", last)
	}
}

// hangingOpenAI accepts chat completions and never answers, until the test ends.
type hangingOpenAI struct {
	calls   atomic.Int32
	release chan struct{}
}

func (h *hangingOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.calls.Add(1)
	select {
	case <-r.Context().Done():
	case <-h.release:
	}
}

// TestLLMGuardTimesOutAndFailsFast: against an endpoint that hangs, the HTTP client's
// timeout ends each call and the answer comes from the passages; after two failures the
// circuit opens, the next answer comes at once without calling the endpoint, and the
// opening is logged once.
func TestLLMGuardTimesOutAndFailsFast(t *testing.T) {
	hang := &hangingOpenAI{release: make(chan struct{})}
	srv := httptest.NewServer(hang)
	defer srv.Close()
	defer close(hang.release)
	const timeout = 300 * time.Millisecond
	model, err := openai.New(openai.WithBaseURL(srv.URL+"/v1"), openai.WithToken("test-key"), openai.WithModel("m"),
		openai.WithHTTPClient(&http.Client{Timeout: timeout}))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c := LLMComposer{Model: model, Guard: NewLLMGuard(2, time.Minute, log)}
	r := refundRetriever(t)
	want := "Refunds arrive within 5 working days."
	for i := range 3 {
		start := time.Now()
		ans, err := c.Compose(context.Background(), r, "how long will my refund take", nil)
		took := time.Since(start)
		if err != nil || ans.Text != want || len(ans.Citations) == 0 {
			t.Fatalf("call %d: %+v, %v; want the passage's answer", i+1, ans, err)
		}
		if i < 2 && (took < timeout || took > 10*timeout) {
			t.Errorf("call %d took %v, want about the %v timeout", i+1, took, timeout)
		}
		if i == 2 && took > timeout/2 {
			t.Errorf("call with the circuit open took %v, want an immediate answer", took)
		}
	}
	if n := hang.calls.Load(); n != 2 {
		t.Errorf("endpoint called %d times, want 2 (the open circuit must not call it)", n)
	}
	if !c.Guard.Open() || strings.Count(logs.String(), "llm circuit open") != 1 {
		t.Errorf("open %v, log:\n%s", c.Guard.Open(), logs.String())
	}
	// the caller's own cancellation is its error, not a fallback
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (LLMComposer{Model: model, Guard: NewLLMGuard(2, time.Minute, nil)}).Compose(ctx, r, "how long will my refund take", nil); err == nil {
		t.Error("a cancelled request answered")
	}
}

// refundRetriever is a retriever over a two-entry FAQ.
func refundRetriever(t *testing.T) *Retriever {
	t.Helper()
	idx, _ := NewEmbedded("")
	emb := NewLexicalEmbedder()
	var pts []Point
	for i, qa := range [][2]string{{"How long does a refund take?", "Refunds arrive within 5 working days."}, {"How do I reset my password?", "Use the Forgot password link."}} {
		c := Chunk{ID: fmt.Sprintf("faq#%d", i), DocID: "faq", Source: "faq.csv", Title: qa[0], Text: qa[0], Answer: qa[1]}
		pts = append(pts, Point{Chunk: c, Hash: c.ID, Sparse: emb.Document(c.Text)})
	}
	if err := idx.Upsert(context.Background(), pts); err != nil {
		t.Fatal(err)
	}
	return NewRetriever(idx, emb)
}

// TestDrafterHoldsBackTheRefusal: text that may still become the refusal marker is not
// drafted, and a refusal after an answer stops the drafts.
func TestDrafterHoldsBackTheRefusal(t *testing.T) {
	for _, tc := range []struct {
		chunks []string
		want   []string
	}{
		{[]string{"NO", "_ANS", "WER"}, nil},
		{[]string{" ", "NO_", "ANSWER."}, nil},
		{[]string{"NO", "RTH AMERICA"}, []string{"NORTH AMERICA"}}, // "NO" might have been the marker
		{[]string{"Refunds ", "take ", "5 days. ", "NO_ANSWER", " more"}, []string{"Refunds", "Refunds take", "Refunds take 5 days."}},
	} {
		var got []string
		d := &drafter{s: &Stream{Draft: func(s string) { got = append(got, s) }}}
		for _, c := range tc.chunks {
			d.chunk([]byte(c))
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("chunks %q: drafts %q, want %q", tc.chunks, got, tc.want)
		}
	}
}
