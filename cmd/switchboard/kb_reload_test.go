package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/kb"
)

// execCLIErr runs the CLI and returns what it wrote to standard output and standard error.
func execCLIErr(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	root := rootCmd()
	var out, errw bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errw)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		t.Fatalf("switchboard %v: %v\n%s", args, err, errw.String())
	}
	return out.String(), errw.String()
}

// askServer posts text as a customer and returns the reply and whether it escalated.
func askServer(t *testing.T, base, token, text string) (string, bool) {
	t.Helper()
	var reply struct {
		Reply     string `json:"reply"`
		Escalated bool   `json:"escalated"`
	}
	body, _ := json.Marshal(map[string]string{"text": text})
	if code := request(t, token, "POST", base+"/v1/messages", string(body), &reply); code != 200 {
		t.Fatalf("message to %s: %d", base, code)
	}
	return reply.Reply, reply.Escalated
}

// intentOf posts text as a customer and returns the intent the server recognised.
func intentOf(t *testing.T, base, token, text string) string {
	t.Helper()
	var reply struct {
		Intent string `json:"intent"`
	}
	body, _ := json.Marshal(map[string]string{"text": text})
	if code := request(t, token, "POST", base+"/v1/messages", string(body), &reply); code != 200 {
		t.Fatalf("message to %s: %d", base, code)
	}
	return reply.Intent
}

// waitAnswer asks until the server answers text with want (without handing over), and
// returns how long that took.
func waitAnswer(t *testing.T, base, token, text, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got, esc := askServer(t, base, token, text)
		if got == want && !esc {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s still answers %q (escalated %v) to %q after %v", base, got, esc, text, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestServeReloadsKBWithoutRestart runs two servers (replicas on one PostgreSQL and one
// Redis) that share kb.dir. Before any ingest an FAQ question is handed to a human;
// after `kb ingest` through the cobra command both answer it within seconds without a
// restart, and the command waits until the server serves the new generation and says
// so. The second server polls only hourly, so its reload comes from NOTIFY kb_changed.
// `kb train` commits a generation as well, and the server then uses the intent model.
// A document uploaded through POST /v1/kb/documents is ingested by a job whose progress
// GET /v1/kb/jobs/:id shows, and both servers serve it. A corrupt generation is refused: the last good one keeps answering and the status
// route and metrics report it.
func TestServeReloadsKBWithoutRestart(t *testing.T) {
	dsn := testenv.PG(t)
	_, prefix := testenv.Redis(t)
	shared := t.TempDir()
	kbDir := filepath.Join(shared, "kb")
	const secret = "kb-reload-test-secret-0123456789abcdef"
	replica := func(interval time.Duration) config.Config {
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.HTTP.Addr = freeAddr(t)
		cfg.Log.Level = "warn"
		cfg.Postgres.DSN = dsn
		cfg.Redis.Addr, cfg.Redis.KeyPrefix = testenv.RedisAddr(t), prefix
		cfg.Auth.JWTSecret = secret
		cfg.Security.KeyRingFile = filepath.Join(shared, "keyring.json")
		cfg.KB.Dir = kbDir
		cfg.KB.ReloadInterval = interval
		return cfg
	}
	cfgA, cfgB := replica(2*time.Second), replica(time.Hour)
	baseA, stopA := startServe(t, cfgA)
	defer stopA()
	baseB, stopB := startServe(t, cfgB)
	defer stopB()

	t.Setenv("SWITCHBOARD_DATA_DIR", cfgA.DataDir)
	t.Setenv("SWITCHBOARD_KB_DIR", kbDir)
	t.Setenv("SWITCHBOARD_JWT_SECRET", secret)
	// The CLI runs with the servers' configuration: their database and key ring (its
	// audit rows are chained with the ring's key).
	t.Setenv("SWITCHBOARD_PG_DSN", dsn)
	t.Setenv("SWITCHBOARD_SECURITY_KEY_RING_FILE", cfgA.Security.KeyRingFile)
	cust, _ := execCLIErr(t, "token", "web:kb", "--role", "customer")
	cust = strings.TrimSpace(cust)
	sup, _ := execCLIErr(t, "token", "sam", "--role", "supervisor")
	sup = strings.TrimSpace(sup)
	const q1, a1 = "How do I reset my password?", "Use the Forgot password link on the sign-in page."
	for _, base := range []string{baseA, baseB} {
		if got, esc := askServer(t, base, cust, q1); !esc {
			t.Fatalf("%s answered %q before any ingest", base, got)
		}
	}

	// 1. ingest without PostgreSQL: server A, found through its serve.json record, finds
	// the generation by polling
	if _, err := os.Stat(serveRecordPath(cfgA)); err != nil {
		rec, _ := json.Marshal(serveRecord{PID: os.Getpid(), Addr: cfgA.HTTP.Addr})
		os.WriteFile(serveRecordPath(cfgA), rec, 0o600)
	}
	faq1 := filepath.Join(shared, "faq1.csv")
	os.WriteFile(faq1, []byte("question,answer\n"+q1+","+a1+"\n"), 0o644)
	start := time.Now()
	out, msg := execCLIErr(t, "kb", "ingest", "-q", faq1)
	if !strings.Contains(out, `"generation":1`) || !strings.Contains(msg, "served by "+baseA+" since generation 1") {
		t.Fatalf("ingest said %s / %s", out, msg)
	}
	t.Logf("server A serves generation 1 %v after the ingest started", time.Since(start))
	waitAnswer(t, baseA, cust, q1, a1, time.Second)

	// 2. ingest with PostgreSQL reachable: NOTIFY kb_changed reloads server B at once
	t.Setenv("SWITCHBOARD_PG_DSN", dsn)
	const q2, a2 = "How long does a refund take?", "Refunds arrive within 5 working days."
	faq2 := filepath.Join(shared, "faq2.csv")
	os.WriteFile(faq2, []byte("question,answer\n"+q2+","+a2+"\n"), 0o644)
	start = time.Now()
	out, msg = execCLIErr(t, "kb", "ingest", "-q", "--server", baseB, faq2)
	if !strings.Contains(out, `"generation":2`) || !strings.Contains(msg, "served by "+baseB+" since generation 2") {
		t.Fatalf("ingest said %s / %s", out, msg)
	}
	t.Logf("server B serves generation 2 %v after the ingest started", time.Since(start))
	for _, base := range []string{baseA, baseB} {
		waitAnswer(t, base, cust, q1, a1, 5*time.Second)
		waitAnswer(t, base, cust, q2, a2, 5*time.Second)
	}

	// 3. `kb train` commits a generation too: server A (whose data directory holds the
	// intent model) reloads and reports the intent
	const qi = "my card has still not arrived"
	if intent := intentOf(t, baseA, cust, qi); intent != "" {
		t.Fatalf("intent %q before training", intent)
	}
	ex := "text,category\n"
	for _, q := range []string{"where is my card", "my card has not arrived", "card still not here", "when will the card come"} {
		ex += q + ",card_arrival\n"
	}
	for _, q := range []string{"refund not received", "where is my refund", "refund is late", "I want my money back"} {
		ex += q + ",refund\n"
	}
	os.WriteFile(filepath.Join(shared, "ex.csv"), []byte(ex), 0o644)
	out, msg = execCLIErr(t, "kb", "train", "--server", baseA, filepath.Join(shared, "ex.csv"))
	if !strings.Contains(out, `"generation":3`) || !strings.Contains(msg, "served by "+baseA+" since generation 3") {
		t.Fatalf("train said %s / %s", out, msg)
	}
	if intent := intentOf(t, baseA, cust, qi); intent != "card_arrival" {
		t.Fatalf("intent %q after training", intent)
	}

	// 4. an upload through the API runs as a job; both servers serve its generation
	const q3, a3 = "Do you ship abroad?", "We ship to 30 countries."
	var job kb.Job
	if code := upload(t, baseA, sup, "faq3.csv", "question,answer\n"+q3+","+a3+"\n", &job); code != 202 || job.ID == "" {
		t.Fatalf("upload: %d %+v", code, job)
	}
	for deadline := time.Now().Add(10 * time.Second); job.State != kb.JobDone && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		request(t, sup, "GET", baseA+"/v1/kb/jobs/"+job.ID, "", &job)
	}
	if job.State != kb.JobDone || job.Generation != 4 || job.Done != 1 || job.Total != 1 || job.Stats.Added != 2 {
		t.Fatalf("job %+v", job)
	}
	for _, base := range []string{baseA, baseB} {
		waitAnswer(t, base, cust, q3, a3, 5*time.Second)
	}
	var bad struct{ Error, Code string }
	if code := upload(t, baseA, sup, "tool.exe", "MZ", &bad); code != 400 || bad.Code != "invalid" {
		t.Fatalf("unsupported upload: %d %+v", code, bad)
	}

	// 5. a corrupt generation is refused; generation 4 keeps answering
	garbage := []byte("this is not an index")
	os.WriteFile(filepath.Join(kbDir, "index.gob"), garbage, 0o600)
	var g kb.Generation
	raw, _ := os.ReadFile(filepath.Join(kbDir, "generation.json"))
	json.Unmarshal(raw, &g)
	sum := sha256.Sum256(garbage)
	g = g.Next(5, 5, hex.EncodeToString(sum[:]))
	raw, _ = json.Marshal(g)
	os.WriteFile(filepath.Join(kbDir, "generation.json"), raw, 0o600)
	var st kb.Status
	deadline := time.Now().Add(10 * time.Second)
	for st.Refused != 5 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		request(t, sup, "GET", baseA+"/v1/kb/status", "", &st)
	}
	if st.Refused != 5 || st.Generation != 4 || st.Chunks != 6 || st.Documents != 3 || !strings.Contains(st.LastError, "corrupt") ||
		st.LoadedAt.IsZero() || st.Backend != "embedded" {
		t.Fatalf("status after a corrupt generation: %+v", st)
	}
	waitAnswer(t, baseA, cust, q2, a2, time.Second)
	resp, err := http.Get(baseA + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"switchboard_kb_generation 4", "switchboard_kb_chunks 6", `switchboard_kb_reloads_total{result="refused"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// upload posts one file to POST /v1/kb/documents and decodes the answer into out.
func upload(t *testing.T, base, token, name, content string, out any) int {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("files", name)
	io.WriteString(fw, content)
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/v1/kb/documents", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("upload %s: %d %v", name, resp.StatusCode, err)
	}
	return resp.StatusCode
}

// TestIngestSaysWhenNoServerServesIt: without a running server the ingest commits the
// generation and says that no server was reached; an unchanged run commits nothing; the
// help of ingest and train says servers pick changes up within seconds.
func TestIngestSaysWhenNoServerServesIt(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SWITCHBOARD_DATA_DIR", dir)
	faq := filepath.Join(dir, "faq.csv")
	os.WriteFile(faq, []byte("question,answer\nA?,a.\n"), 0o644)
	out, msg := execCLIErr(t, "kb", "ingest", "-q", faq)
	if !strings.Contains(out, `"generation":1`) || !strings.Contains(msg, "no running server to wait for") {
		t.Fatalf("first ingest: %s / %s", out, msg)
	}
	os.WriteFile(faq, []byte("question,answer\nA?,a.\nB?,b.\n"), 0o644)
	closed := "http://" + freeAddr(t)
	out, msg = execCLIErr(t, "kb", "ingest", "-q", "--server", closed, faq)
	if !strings.Contains(out, `"generation":2`) || !strings.Contains(msg, "no server reached at "+closed) {
		t.Fatalf("ingest with an unreachable server: %s / %s", out, msg)
	}
	out, msg = execCLIErr(t, "kb", "ingest", "-q", faq)
	if !strings.Contains(out, `"generation":2`) || !strings.Contains(msg, "nothing changed") {
		t.Fatalf("unchanged ingest: %s / %s", out, msg)
	}
	for _, cmd := range []string{"ingest", "train"} {
		help, _ := execCLIErr(t, "kb", cmd, "--help")
		if !strings.Contains(help, "Running servers pick the change up within seconds") || strings.Contains(help, "on restart") {
			t.Errorf("kb %s --help:\n%s", cmd, help)
		}
	}
}
