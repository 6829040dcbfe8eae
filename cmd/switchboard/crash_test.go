package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cs/switchboard/gateway/channel/webhook"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// TestHelperServeProcess is not a test: the crash, memory and fault tests re-execute
// the test binary with SB_HELPER_SERVE=1 to run `switchboard serve` as a process they
// can kill -9, or stop with SIGTERM, on which it drains as `switchboard serve` does.
func TestHelperServeProcess(t *testing.T) {
	if os.Getenv("SB_HELPER_SERVE") != "1" {
		t.Skip("helper process of the crash, memory and fault tests")
	}
	cfg, err := config.Load("", os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// SB_HELPER_CPUPROFILE=path: a CPU profile of this replica until it stops, written to
	// path.PORT (replicas of one cluster share the environment).
	stopProfile := func() {}
	if p := os.Getenv("SB_HELPER_CPUPROFILE"); p != "" {
		_, port, _ := strings.Cut(cfg.HTTP.Addr, ":")
		if f, err := os.Create(p + "." + port); err == nil && pprof.StartCPUProfile(f) == nil {
			stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
		}
	}
	err = serve(ctx, cfg)
	stopProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// slowLLM speaks the OpenAI chat protocol and answers after a delay that
// the test can change.
type slowLLM struct {
	delay atomic.Int64
	calls atomic.Int64
}

func (s *slowLLM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	s.calls.Add(1)
	select {
	case <-time.After(time.Duration(s.delay.Load())):
	case <-r.Context().Done():
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Refunds arrive within 5 working days."},"finish_reason":"stop"}]}`)
}

// TestCrashLosesNothingAndProcessesNothingTwice acknowledges webhook
// messages, kills the server with SIGKILL while their answers are being
// written, restarts it, and checks every message is answered exactly once.
func TestCrashLosesNothingAndProcessesNothingTwice(t *testing.T) {
	dsn := testenv.PG(t)
	_, prefix := testenv.Redis(t)
	dataDir := t.TempDir()
	t.Setenv("SWITCHBOARD_DATA_DIR", dataDir)
	faq := dataDir + "/faq.csv"
	os.WriteFile(faq, []byte("question,answer\nHow long does a refund take?,Refunds arrive within 5 working days.\n"), 0o644)
	runCLI(t, "kb", "ingest", "--quiet", faq)

	llm := &slowLLM{}
	llm.delay.Store(int64(30 * time.Second)) // the first process never gets an answer
	llmSrv := httptest.NewServer(llm)
	defer llmSrv.Close()
	var mu sync.Mutex
	replies := map[string]int{}
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rep webhook.Reply
		json.NewDecoder(r.Body).Decode(&rep)
		mu.Lock()
		replies[rep.CustomerID]++
		mu.Unlock()
	}))
	defer callback.Close()

	addr := freeAddr(t)
	env := append(os.Environ(), "SB_HELPER_SERVE=1", "SWITCHBOARD_PG_DSN="+dsn, "SWITCHBOARD_REDIS_ADDR="+testenv.RedisAddr(t),
		"SWITCHBOARD_REDIS_KEY_PREFIX="+prefix, "SWITCHBOARD_HTTP_ADDR="+addr, "SWITCHBOARD_LOG_LEVEL=warn",
		"SWITCHBOARD_WEBHOOK_SECRET=crash-secret", "SWITCHBOARD_WEBHOOK_CALLBACK_URL="+callback.URL,
		"SWITCHBOARD_LLM_BASE_URL="+llmSrv.URL+"/v1", "SWITCHBOARD_LLM_MODEL=m", "SWITCHBOARD_QUEUE_LEASE=2s",
		"SWITCHBOARD_QUEUE_WORKERS=2", "SWITCHBOARD_KB_MIN_CONFIDENCE=0.1")
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServeProcess$", "-test.count=1")
		cmd.Env, cmd.Stderr = env, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Process.Wait(); close(exited) }()
		waitReady(t, "http://"+addr, exited)
		return cmd
	}
	const n = 6
	first := start()
	for i := range n {
		body := []byte(fmt.Sprintf(`{"message_id":"m%d","customer_id":"c%d","text":"how long does a refund take?"}`, i, i))
		ts := time.Now().Unix()
		req, _ := http.NewRequest("POST", "http://"+addr+"/v1/channels/webhook", strings.NewReader(string(body)))
		req.Header.Set("X-Switchboard-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Switchboard-Signature", webhook.Sign("crash-secret", ts, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 202 {
			t.Fatalf("message %d: %v %v", i, resp, err)
		}
		resp.Body.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for llm.calls.Load() < 2 && time.Now().Before(deadline) { // both workers are mid-answer
		time.Sleep(20 * time.Millisecond)
	}
	if llm.calls.Load() < 2 {
		t.Fatalf("only %d answers in flight when the crash was due", llm.calls.Load())
	}
	first.Process.Signal(syscall.SIGKILL)
	time.Sleep(200 * time.Millisecond)

	llm.delay.Store(0)
	second := start()
	defer second.Process.Signal(syscall.SIGTERM)
	deadline = time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		got := len(replies)
		mu.Unlock()
		if got == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // room for a wrong duplicate to show up
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		if c := replies[fmt.Sprintf("c%d", i)]; c != 1 {
			t.Errorf("customer c%d got %d replies, want 1 (all: %v)", i, c, replies)
		}
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var customer, bot, done int
	err = conn.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM messages WHERE author = 'customer'), (SELECT count(*) FROM messages WHERE author = 'bot'),
		(SELECT count(*) FROM channel_messages WHERE state = 'done')`).Scan(&customer, &bot, &done)
	if err != nil || customer != n || bot != n || done != n {
		t.Fatalf("after the crash: %d customer and %d bot messages, %d turns done (%v); want %d each", customer, bot, done, err, n)
	}
}

func waitReady(t *testing.T, base string, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatal("server process exited before it was ready")
		default:
		}
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("server did not become ready")
}
