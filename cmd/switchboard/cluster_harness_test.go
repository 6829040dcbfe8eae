//go:build linux

package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cs/switchboard/internal/fieldcrypt"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// The fault harness (issue 20): N `serve` replicas as processes of their own — this
// test binary re-executed, like the crash test — on one PostgreSQL database and one
// Redis key prefix (TestHelperServeProcess), sharing the JWT secret, the key ring and kb.dir as production
// replicas must; a load generator (cluster_load_test.go); fault injectors (kill -9,
// SIGTERM); and an invariant checker (cluster_check_test.go). The scenarios
// (cluster_test.go) run only with SWITCHBOARD_FAULT_TEST=1 (`make test-faults`).

// faultCluster is N replicas of `serve` on one database and one Redis prefix.
type faultCluster struct {
	t        *testing.T
	opts     faultOptions
	dsn      string
	redis    string   // Redis address (standalone)
	cluster  []string // or the Redis Cluster's node addresses
	prefix   string
	secret   string
	dir      string        // shared: key ring, kb.dir, models.dir
	media    faultMedia    // what the media customers send (cluster_media_test.go)
	shutdown time.Duration // http.shutdown_timeout of every replica
	env      []string      // every replica's environment but its address and data dir
	replicas []*faultReplica
	tg       *fakeTelegram // the Bot API the replicas' Telegram channel sends to
}

// faultReplica is one serve process; up is false from the moment a fault is injected.
type faultReplica struct {
	idx     int
	addr    string
	dataDir string
	logPath string
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	up      atomic.Bool
}

func (r *faultReplica) base() string { return "http://" + r.addr }

// faultOptions shape a cluster and its load; the zero value of each field is the
// default noted beside it.
type faultOptions struct {
	Replicas  int           // 3
	Shutdown  time.Duration // http.shutdown_timeout of every replica: 10 s
	DSN       string        // a database of the test PostgreSQL server (testenv.PG)
	RedisAddr string        // the test Redis (testenv.RedisAddr), with a key prefix of the test's own
	Env       []string      // more SWITCHBOARD_* settings for every replica
	Customers int           // 12, every other one over web chat
	Telegram  int           // Telegram customers (webhook channel): 4
	Agents    int           // 3
	Think     time.Duration // a customer's pause between turns: 300 ms
	LLMDelay  time.Duration // the stub model's time to write an answer: 250 ms
	NoMedia   bool          // no voice notes or photos in the load
	// MediaEvery > 1: only one group of four customers in MediaEvery sends media (its
	// photo customer and its voice customer); 0 or 1: every group.
	MediaEvery int
	Duration   time.Duration // how long the load runs: faultDuration()
	// Rate, when > 0, paces the customers together at Rate turns/s (a shared limiter
	// in place of the think time): open-loop while enough customers are free.
	Rate float64
	// RedisCluster, when set, are the nodes of a Redis Cluster the replicas use instead of
	// RedisAddr (redis.cluster_addrs).
	RedisCluster []string
}

func (o faultOptions) withDefaults() faultOptions {
	o.Replicas = cmp.Or(o.Replicas, 3)
	o.Shutdown = cmp.Or(o.Shutdown, 10*time.Second)
	o.Customers = cmp.Or(o.Customers, 12)
	o.Telegram = cmp.Or(o.Telegram, 4)
	o.Agents = cmp.Or(o.Agents, 3)
	o.Think = cmp.Or(o.Think, 300*time.Millisecond)
	o.LLMDelay = cmp.Or(o.LLMDelay, 250*time.Millisecond)
	o.Duration = cmp.Or(o.Duration, faultDuration())
	return o
}

// startFaultCluster starts o.Replicas replicas with an FAQ ingested; they stop
// (SIGTERM, then SIGKILL) when the test ends.
func startFaultCluster(t *testing.T, o faultOptions) *faultCluster {
	t.Helper()
	o = o.withDefaults()
	dsn := cmp.Or(o.DSN, testenv.PG(t))
	redisAddr, prefix := o.RedisAddr, "fault"+strconv.Itoa(os.Getpid())
	redisEnv := "SWITCHBOARD_REDIS_ADDR=" + redisAddr
	switch {
	case len(o.RedisCluster) > 0:
		redisAddr, redisEnv = "", "SWITCHBOARD_REDIS_CLUSTER_ADDRS="+strings.Join(o.RedisCluster, ",")
	case redisAddr == "":
		_, prefix = testenv.Redis(t)
		redisAddr = testenv.RedisAddr(t)
		redisEnv = "SWITCHBOARD_REDIS_ADDR=" + redisAddr
	}
	c := &faultCluster{t: t, opts: o, dsn: dsn, redis: redisAddr, cluster: o.RedisCluster, prefix: prefix,
		secret: "fault-harness-secret-0123456789abcdef", dir: t.TempDir(), shutdown: o.Shutdown}
	// A language model that takes 250 ms to write each answer, as a real one would take
	// longer: turns are in flight when a fault comes.
	llmSrv := httptest.NewServer(faqLLM(o.LLMDelay))
	t.Cleanup(llmSrv.Close) // after the replicas stopped (cleanups run last first)
	kbDir, modelsDir := filepath.Join(c.dir, "kb"), filepath.Join(c.dir, "models")
	ring := filepath.Join(c.dir, "keyring.json")
	if !o.NoMedia {
		c.media = setUpFaultMedia(t, modelsDir)
		c.media.every = o.MediaEvery
	}
	// One key ring for all, made before they start: replicas with a read replica
	// (postgres.replica_dsn) refuse to make one each.
	if _, err := fieldcrypt.Open(ring, fieldcrypt.Options{Create: true}); err != nil {
		t.Fatal(err)
	}
	c.env = append(os.Environ(), "SB_HELPER_SERVE=1", "SWITCHBOARD_PG_DSN="+dsn,
		redisEnv, "SWITCHBOARD_REDIS_KEY_PREFIX="+prefix,
		"SWITCHBOARD_JWT_SECRET="+c.secret, "SWITCHBOARD_SECURITY_KEY_RING_FILE="+ring, "SWITCHBOARD_KB_DIR="+kbDir,
		"SWITCHBOARD_MODELS_DIR="+modelsDir,
		"SWITCHBOARD_LOG_LEVEL=warn", "SWITCHBOARD_KB_MIN_CONFIDENCE=0.1", "SWITCHBOARD_QUEUE_LEASE=3s",
		"SWITCHBOARD_HTTP_SHUTDOWN_TIMEOUT="+o.Shutdown.String(),
		"SWITCHBOARD_LLM_BASE_URL="+llmSrv.URL+"/v1", "SWITCHBOARD_LLM_MODEL=m",
		// one load generator on 127.0.0.1 is every customer: the per-IP limits would be its limits
		"SWITCHBOARD_LIMITS_PER_IP_PER_MINUTE=1000000", "SWITCHBOARD_LIMITS_PER_CUSTOMER_PER_MINUTE=100000",
		"SWITCHBOARD_LIMITS_CONCURRENT_PER_IP=1000", "SWITCHBOARD_LIMITS_WEBSOCKETS_PER_IP=10000")
	c.tg = startFakeTelegram(t)
	c.env = append(c.env, c.tg.env()...)
	c.env = append(c.env, o.Env...)
	// The CLI (kb ingest, audit verify) runs with the replicas' configuration.
	t.Setenv("SWITCHBOARD_DATA_DIR", filepath.Join(c.dir, "cli"))
	t.Setenv("SWITCHBOARD_PG_DSN", dsn)
	t.Setenv("SWITCHBOARD_KB_DIR", kbDir)
	t.Setenv("SWITCHBOARD_JWT_SECRET", c.secret)
	t.Setenv("SWITCHBOARD_SECURITY_KEY_RING_FILE", ring)
	faq := filepath.Join(c.dir, "faq.csv")
	csv := "question,answer\n"
	for _, qa := range faultFAQ {
		csv += qa[0] + "," + qa[1] + "\n"
	}
	os.WriteFile(faq, []byte(csv), 0o644)
	runCLI(t, "kb", "ingest", "--quiet", faq)

	for i := range o.Replicas {
		c.replicas = append(c.replicas, &faultReplica{idx: i, addr: freeAddr(t), dataDir: t.TempDir(),
			logPath: filepath.Join(c.dir, fmt.Sprintf("replica%d.log", i))})
	}
	t.Cleanup(c.stopAll)
	c.start(0) // the first migrates the schema; the others start together
	var wg sync.WaitGroup
	for i := 1; i < o.Replicas; i++ {
		wg.Go(func() { c.start(i) })
	}
	wg.Wait()
	return c
}

// start runs replica i (again) on its address and waits until it is ready.
func (c *faultCluster) start(i int) {
	r := c.replicas[i]
	logf, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.t.Error(err)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServeProcess$", "-test.count=1")
	// a copy: replicas start concurrently, and an append into c.env's spare capacity
	// would give two of them one address and data directory
	cmd.Env = append(slices.Clip(c.env), "SWITCHBOARD_HTTP_ADDR="+r.addr, "SWITCHBOARD_DATA_DIR="+r.dataDir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the test
	if err := cmd.Start(); err != nil {
		logf.Close()
		c.t.Error(err)
		return
	}
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		logf.Close()
		r.mu.Lock()
		r.exitErr = err
		r.mu.Unlock()
		close(exited)
	}()
	r.mu.Lock()
	r.cmd, r.exited = cmd, exited
	r.mu.Unlock()
	if err := waitProcessReady(r.base(), exited, 90*time.Second); err != nil {
		c.t.Errorf("replica %d: %v\n%s", i, err, tailOf(r.logPath))
		return
	}
	r.up.Store(true)
}

// waitProcessReady polls /readyz until it answers 200, the process exits or within passes.
func waitProcessReady(base string, exited <-chan struct{}, within time.Duration) error {
	client := faultHTTPClient(2 * time.Second)
	for deadline := time.Now().Add(within); time.Now().Before(deadline); {
		select {
		case <-exited:
			return errors.New("exited before it was ready")
		default:
		}
		if resp, err := client.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("not ready in time")
}

// kill sends SIGKILL to replica i and waits for it to be gone.
func (c *faultCluster) kill(i int) {
	r := c.replicas[i]
	r.up.Store(false)
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// term sends SIGTERM to replica i and returns how long it took to exit, and its exit
// error (nil: it drained and exited 0).
func (c *faultCluster) term(i int, within time.Duration) (time.Duration, error) {
	r := c.replicas[i]
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(within):
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		r.up.Store(false)
		return time.Since(start), fmt.Errorf("still running %v after SIGTERM: killed", within)
	}
	r.up.Store(false)
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Since(start), r.exitErr
}

// stopAll stops every replica still running: SIGTERM, then SIGKILL after 30 s.
func (c *faultCluster) stopAll() {
	var wg sync.WaitGroup
	for _, r := range c.replicas {
		r.mu.Lock()
		cmd, exited := r.cmd, r.exited
		r.mu.Unlock()
		if cmd == nil {
			continue
		}
		select {
		case <-exited:
			continue
		default:
		}
		wg.Go(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				cmd.Process.Signal(syscall.SIGKILL)
				<-exited
			}
		})
	}
	wg.Wait()
	if c.t.Failed() {
		for _, r := range c.replicas {
			c.t.Logf("replica %d (%s) log:\n%s", r.idx, r.addr, tailOf(r.logPath))
		}
	}
}

// tailOf is the last 3 KB of a log file.
func tailOf(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(bytes.TrimSpace(b))
}

// redisClient is a client of the replicas' Redis: a ClusterClient on a cluster.
func (c *faultCluster) redisClient() redis.UniversalClient {
	if len(c.cluster) > 0 {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.cluster})
	}
	return redis.NewClient(&redis.Options{Addr: c.redis})
}

// forEachRedisNode runs fn on every node holding keys: every master of a cluster, or
// the one server.
func forEachRedisNode(ctx context.Context, rdb redis.UniversalClient, fn func(context.Context, *redis.Client) error) error {
	switch r := rdb.(type) {
	case *redis.ClusterClient:
		return r.ForEachMaster(ctx, fn)
	case *redis.Client:
		return fn(ctx, r)
	}
	return fmt.Errorf("unsupported redis client %T", rdb)
}

// replicaOrder lists the replicas' indexes starting at i (a client's preference).
func (c *faultCluster) replicaOrder(i int) []int {
	out := make([]int, 0, len(c.replicas))
	for k := range c.replicas {
		out = append(out, (i+k)%len(c.replicas))
	}
	return out
}

func (c *faultCluster) String() string {
	return strconv.Itoa(len(c.replicas)) + " replicas"
}

// faultFAQ is the knowledge base the replicas answer from.
var faultFAQ = [][2]string{
	{"How long does a refund take?", "Refunds arrive within 5 working days."},
	{"How do I reset my password?", "Use the Forgot password link on the sign-in page."},
	{"Do you ship abroad?", "We ship to 30 countries."}, // a passage the questions do not ask for
}

// faqLLM speaks the OpenAI chat protocol: after delay it answers with the FAQ answer
// of the passage that matches the question, citing it (a grounded answer, as a good
// model gives).
func faqLLM(delay time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
			Stream   bool                       `json:"stream"`
		}
		json.Unmarshal(body, &req)
		answer := "NO_ANSWER"
		if n := len(req.Messages); n > 0 {
			answer = groundedAnswer(req.Messages[n-1].Content)
		}
		msg, _ := json.Marshal(answer)
		if req.Stream { // web chat streams drafts: server-sent events, one chunk
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":%s},\"finish_reason\":null}]}\n\n", msg)
			fmt.Fprintf(w, "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
			io.WriteString(w, "data: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}]}`, msg)
	})
}

// groundedAnswer answers a prompt of numbered passages ("[1] …" separated by blank
// lines) and a final "Question: …": the answer of the first passage whose FAQ question
// the question starts with, and its citation, naming the message it answers (so a
// channel's checker can tell one answer from another).
func groundedAnswer(prompt string) string {
	passages, question, _ := strings.Cut(prompt, "Question: ")
	for _, p := range strings.Split(passages, "\n\n") {
		num, rest, ok := strings.Cut(p, " ")
		if !ok || !strings.HasPrefix(num, "[") {
			continue
		}
		for _, qa := range append(slices.Clone(faultFAQ), faultUpdateFAQ) { // the stub knows the entry a scenario adds later
			if strings.HasPrefix(question, qa[0]) && strings.Contains(rest, qa[1]) {
				return qa[1] + " " + num + replyTag(question)
			}
		}
	}
	return "NO_ANSWER"
}

// replyTag names, in an answer, the message id the question carries: " (re m-…)".
func replyTag(question string) string {
	if m := midInText.FindStringSubmatch(question); m != nil {
		return " (re " + m[1] + ")"
	}
	return ""
}
