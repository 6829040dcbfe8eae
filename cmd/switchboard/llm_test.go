package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAskWithHangingLLMAnswersFromPassages: `ask` with an LLM endpoint that never
// answers gives up after llm.timeout and answers from the retrieved passages (before,
// the call had no deadline and ask hung).
func TestAskWithHangingLLMAnswersFromPassages(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	dir := t.TempDir()
	t.Setenv("SWITCHBOARD_DATA_DIR", dir)
	faq := filepath.Join(dir, "faq.csv")
	if err := os.WriteFile(faq, []byte("question,answer\nHow long does a refund take?,Refunds arrive within 5 working days.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runCLI(t, "kb", "ingest", "-q", faq)
	t.Setenv("SWITCHBOARD_LLM_BASE_URL", srv.URL+"/v1")
	t.Setenv("SWITCHBOARD_LLM_TIMEOUT", "300ms")
	t.Setenv("SWITCHBOARD_LOG_LEVEL", "error")
	done := make(chan string, 1)
	start := time.Now()
	go func() { done <- runCLI(t, "ask", "how long does a refund take") }()
	select {
	case out := <-done:
		var got askResult
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if got.Reply != "Refunds arrive within 5 working days." || got.Escalated {
			t.Fatalf("ask: %+v", got)
		}
		t.Logf("answered from the passages after %v", time.Since(start))
	case <-time.After(20 * time.Second):
		t.Fatal("ask still waiting for the LLM after 20 s: the call has no deadline")
	}
}
