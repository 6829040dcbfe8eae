package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/embedded"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// needPostgres skips (fails in CI) without a local PostgreSQL installation.
func needPostgres(t *testing.T) {
	t.Helper()
	if _, err := embedded.FindPostgres(); err != nil {
		testenv.Missing(t, err.Error()) // a skip locally, a failure in CI
	}
}

// embeddedServeConfig serves with the embedded PostgreSQL on a fresh data directory that
// CLI commands run in the test also use.
func embeddedServeConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr = freeAddr(t)
	cfg.Log.Level = "warn"
	t.Setenv("SWITCHBOARD_DATA_DIR", cfg.DataDir)
	return cfg
}

// postmaster returns the pid in the embedded cluster's postmaster.pid (0 when absent).
func postmaster(t *testing.T, cfg config.Config) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(cfg.PGEmbeddedDir(), "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}

// status sends a request and returns the status code, the Retry-After header and the body.
func status(t *testing.T, token, method, url, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(raw)
}

// TestCLICommandsLeaveTheRunningServersDatabaseAlone: with `serve` running on the
// embedded PostgreSQL, `users set`, `users list` and `migrate` on the same data directory
// use the server's PostgreSQL; its postmaster keeps running, sign-in works afterwards,
// and a second serve on the directory is refused with the first one's pid and address.
func TestCLICommandsLeaveTheRunningServersDatabaseAlone(t *testing.T) {
	needPostgres(t)
	cfg := embeddedServeConfig(t)
	cfg.HTTP.AdminAddr = freeAddr(t)
	base, stop := startServe(t, cfg)
	defer stop()
	pid := postmaster(t, cfg)
	if pid == 0 {
		t.Fatal("no postmaster.pid under the running server")
	}
	var rec embedded.Instance
	raw, err := os.ReadFile(filepath.Join(cfg.DataDir, embedded.InstanceFile))
	if err != nil || json.Unmarshal(raw, &rec) != nil || rec.PID != os.Getpid() || rec.Command != "serve" ||
		"http://"+rec.HTTPAddr != base || rec.AdminAddr != cfg.HTTP.AdminAddr || rec.PostgresAddr == "" {
		t.Fatalf("serve.json: %v %s", err, raw)
	}
	// http.admin_addr takes /metrics off the public listener.
	if code, _, _ := status(t, "", "GET", base+"/metrics", ""); code != 404 {
		t.Errorf("public /metrics: %d, want 404 with an admin listener", code)
	}
	if code, _, body := status(t, "", "GET", "http://"+cfg.HTTP.AdminAddr+"/metrics", ""); code != 200 || !strings.Contains(body, "switchboard_http_requests_total") {
		t.Errorf("admin /metrics: %d", code)
	}
	for _, step := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"a long passphrase for sam\n", []string{"users", "set", "sam", "--role", "supervisor"}, "sam can sign in as supervisor\n"},
		{"", []string{"users", "list"}, "sam\tsupervisor\n"},
		{"", []string{"migrate"}, "migrations applied\n"},
	} {
		out, err := execCLI(t, step.stdin, step.args...)
		if err != nil || out != step.want {
			t.Fatalf("%v: %q %v, want %q", step.args, out, err, step.want)
		}
		if got := postmaster(t, cfg); got != pid || syscall.Kill(pid, 0) != nil {
			t.Fatalf("after %v the server's postmaster is %d (was %d, alive: %v)", step.args, got, pid, syscall.Kill(pid, 0) == nil)
		}
	}
	code, _, body := status(t, "", "POST", base+"/v1/auth/login", `{"username":"sam","password":"a long passphrase for sam"}`)
	if code != 200 || !strings.Contains(body, `"token"`) {
		t.Fatalf("sign-in after the commands: %d %s", code, body)
	}

	second := cfg
	second.HTTP.Addr = freeAddr(t)
	_, stop2, err := serveInBackground(context.Background(), second)
	if err == nil {
		stop2()
		t.Fatal("a second serve started on the same data directory")
	}
	if !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) || !strings.Contains(err.Error(), rec.HTTPAddr) {
		t.Fatalf("second serve: %v, want the running one's pid and address", err)
	}
	t.Logf("a second serve is refused: %v", err)
	if code, _, _ := status(t, "", "GET", base+"/readyz", ""); code != 200 || postmaster(t, cfg) != pid {
		t.Fatalf("the refused second serve disturbed the first: readyz %d", code)
	}
}

// TestServeRestartsItsPostgresAfterKill9: kill -9 of the embedded postmaster under a
// running serve; meanwhile requests get 503 (never 500), and within 30 s /readyz is 200
// again and a customer message is answered.
func TestServeRestartsItsPostgresAfterKill9(t *testing.T) {
	needPostgres(t)
	cfg := embeddedServeConfig(t)
	// The probe below signs in ten times a second: no sign-in limits here.
	cfg.Limits.LoginPerIPPerMinute, cfg.Limits.LoginPerUserPerMinute = 0, 0
	base, stop := startServe(t, cfg)
	defer stop()
	cust, err := execCLI(t, "", "token", "web:kill9", "--role", "customer")
	if err != nil {
		t.Fatal(err)
	}
	cust = strings.TrimSpace(cust)
	if code, _, body := status(t, cust, "POST", base+"/v1/messages", `{"text":"hello"}`); code != 200 {
		t.Fatalf("message before the kill: %d %s", code, body)
	}
	old := postmaster(t, cfg)
	killed := time.Now()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := killed.Add(30 * time.Second)
	var sawDown bool
	for {
		if time.Now().After(deadline) {
			t.Fatal("/readyz not 200 within 30 s of the kill")
		}
		code, retry, body := status(t, "", "POST", base+"/v1/auth/login", `{"username":"nobody","password":"wrong password"}`)
		switch {
		case code == 503 && retry != "":
			sawDown = true
		case code != 401:
			t.Fatalf("sign-in while PostgreSQL restarts: %d (Retry-After %q) %s; want 503 or 401", code, retry, body)
		}
		if code, _, _ := status(t, "", "GET", base+"/readyz", ""); code == 200 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	ready := time.Since(killed)
	for {
		code, _, body := status(t, cust, "POST", base+"/v1/messages", `{"text":"are you back?"}`)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer within 30 s of the kill: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("kill -9 of the postmaster: ready again after %s, answering after %s (a 503 was seen: %v)",
		ready.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond), sawDown)
	if postmaster(t, cfg) == old {
		t.Error("postmaster.pid still names the killed server")
	}
	if code, _, _ := status(t, "", "GET", base+"/healthz", ""); code != 200 {
		t.Errorf("healthz %d after the recovery", code)
	}
}

// TestExternalPostgresOutageIs503AndRecovers: with a PostgreSQL that is not ours to
// restart, serve answers 503 unavailable with Retry-After while it is gone (liveness
// stays 200, readiness 503) and serves again once it is back.
func TestExternalPostgresOutageIs503AndRecovers(t *testing.T) {
	needPostgres(t)
	ctx := context.Background()
	pgDir := filepath.Join(t.TempDir(), "pg")
	pg, err := embedded.StartPostgres(ctx, embedded.PostgresOptions{DataDir: pgDir, Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { pg.Stop(ctx) }()
	if err := pg.CreateDatabase(ctx, "switchboard"); err != nil {
		t.Fatal(err)
	}
	cfg := embeddedServeConfig(t)
	cfg.Postgres.DSN = pg.DSN("switchboard")
	t.Setenv("SWITCHBOARD_PG_DSN", cfg.Postgres.DSN)
	if _, err := execCLI(t, "a long passphrase for sam\n", "users", "set", "sam", "--role", "supervisor"); err != nil {
		t.Fatal(err)
	}
	base, stop := startServe(t, cfg)
	defer stop()
	login := `{"username":"sam","password":"a long passphrase for sam"}`
	if code, _, body := status(t, "", "POST", base+"/v1/auth/login", login); code != 200 {
		t.Fatalf("sign-in: %d %s", code, body)
	}
	if err := pg.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	code, retry, body := status(t, "", "POST", base+"/v1/auth/login", login)
	if code != 503 || retry == "" || !strings.Contains(body, `"code":"unavailable"`) || strings.Contains(body, "127.0.0.1") {
		t.Fatalf("sign-in with the database gone: %d Retry-After=%q %s", code, retry, body)
	}
	if code, _, _ := status(t, "", "GET", base+"/healthz", ""); code != 200 {
		t.Errorf("healthz %d while an external database is down (a restart would not help)", code)
	}
	if code, _, body := status(t, "", "GET", base+"/readyz", ""); code != 503 || strings.Contains(body, "127.0.0.1") {
		t.Errorf("readyz %d %s while the database is down", code, body)
	}
	pg2, err := embedded.StartPostgres(ctx, embedded.PostgresOptions{DataDir: pgDir, Port: pg.Port(), Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { pg2.Stop(ctx) }()
	back := time.Now()
	for {
		code, _, _ := status(t, "", "POST", base+"/v1/auth/login", login)
		if code == 200 {
			break
		}
		if time.Since(back) > 30*time.Second {
			t.Fatalf("sign-in still %d 30 s after the database came back", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, _, _ := status(t, "", "GET", base+"/readyz", ""); code != 200 {
		t.Errorf("readyz %d after the database came back", code)
	}
	t.Logf("serving again %s after the database came back", time.Since(back).Round(time.Millisecond))
}

// TestPoolsSetStatementAndLockTimeouts: every pooled connection carries
// postgres.statement_timeout and postgres.lock_timeout; a statement over the limit is
// cancelled (and classified unavailable, a 503), not left running.
func TestPoolsSetStatementAndLockTimeouts(t *testing.T) {
	dsn := testenv.PG(t)
	ctx := context.Background()
	pc := config.Default().Postgres
	pool, err := newPool(ctx, dsn, pc)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var st, lt string
	if err := pool.QueryRow(ctx, "SELECT current_setting('statement_timeout'), current_setting('lock_timeout')").Scan(&st, &lt); err != nil {
		t.Fatal(err)
	}
	if st != "30s" || lt != "10s" {
		t.Errorf("defaults: statement_timeout %q, lock_timeout %q; want 30s and 10s", st, lt)
	}
	pc.StatementTimeout = 200 * time.Millisecond
	short, err := newPool(ctx, dsn, pc)
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	start := time.Now()
	_, err = short.Exec(ctx, "SELECT pg_sleep(5)")
	if err == nil || !strings.Contains(err.Error(), "57014") || time.Since(start) > 3*time.Second {
		t.Fatalf("a 5 s statement under a 200ms timeout: %v after %s", err, time.Since(start))
	}
}

// TestTokenNeedsARole: `switchboard token NAME` without --role is an error, not an agent token.
func TestTokenNeedsARole(t *testing.T) {
	t.Setenv("SWITCHBOARD_DATA_DIR", t.TempDir())
	out, err := execCLI(t, "", "token", "alice")
	if err == nil || !strings.Contains(err.Error(), `"role"`) {
		t.Fatalf("token without --role: %q %v, want a required-flag error", out, err)
	}
	if out, err := execCLI(t, "", "token", "alice", "--role", "agent"); err != nil || strings.Count(out, ".") != 2 {
		t.Fatalf("token with --role: %q %v", out, err)
	}
}

// TestDoctorChannelsNeedReplyCredentials: a channel counts as ok only when the
// credentials its replies need are set; otherwise doctor names what is missing.
func TestDoctorChannelsNeedReplyCredentials(t *testing.T) {
	for _, tc := range []struct {
		name         string
		set          func(*config.ChannelsConfig)
		status, want string
	}{
		{"none", func(*config.ChannelsConfig) {}, "optional", "no webhook channel"},
		{"telegram without a bot token", func(c *config.ChannelsConfig) { c.Telegram.SecretToken = "s" }, "missing",
			"telegram cannot reply: SWITCHBOARD_TELEGRAM_BOT_TOKEN not set"},
		{"telegram complete", func(c *config.ChannelsConfig) { c.Telegram.SecretToken, c.Telegram.BotToken = "s", "1:x" }, "ok", "REST, web chat, telegram"},
		{"slack without a bot token", func(c *config.ChannelsConfig) { c.Slack.SigningSecret = "s" }, "missing", "SWITCHBOARD_SLACK_BOT_TOKEN"},
		{"webhook without a callback", func(c *config.ChannelsConfig) { c.Webhook.Secret = "s" }, "missing", "SWITCHBOARD_WEBHOOK_CALLBACK_URL"},
		{"wecom without its app", func(c *config.ChannelsConfig) { c.WeCom.Token, c.WeCom.CorpID = "t", "corp" }, "missing",
			"wecom cannot reply: SWITCHBOARD_WECOM_SECRET, SWITCHBOARD_WECOM_AGENT_ID not set"},
		{"wecom complete", func(c *config.ChannelsConfig) {
			c.WeCom.Token, c.WeCom.CorpID, c.WeCom.Secret, c.WeCom.AgentID = "t", "corp", "sec", "1000002"
		}, "ok", "wecom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			tc.set(&cfg.Channels)
			c := checkChannels(cfg)
			if c.Status != tc.status || !strings.Contains(c.Detail+" "+c.Fix, tc.want) {
				t.Fatalf("%+v, want status %s saying %q", c, tc.status, tc.want)
			}
		})
	}
}
