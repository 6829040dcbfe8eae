package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/channel/slack"
	"github.com/switchboard-cs/switchboard/gateway/channel/telegram"
	"github.com/switchboard-cs/switchboard/gateway/channel/webhook"
	"github.com/switchboard-cs/switchboard/tickets"
)

// bareServer is a gateway without a database: enough for probes, routing errors,
// webhook authentication and WebSocket plumbing.
func bareServer(t *testing.T, o Options) (*Server, *httptest.Server, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	reg := prometheus.NewRegistry()
	o.Log, o.Registerer, o.Gatherer = slog.New(slog.NewTextHandler(logs, nil)), reg, reg
	if o.Auth == nil {
		auth, err := NewAuth([]byte(testSecret), "", "switchboard")
		if err != nil {
			t.Fatal(err)
		}
		o.Auth = auth
	}
	srv := New(o)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return srv, hs, logs
}

func failing(err error) func(context.Context) error {
	return func(context.Context) error { return err }
}

func passing(context.Context) error { return nil }

var netOpError = net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

// TestProbesSayWhatAProbeNeeds: /healthz is liveness (503 only when a Live check says the
// process cannot recover by itself), /readyz is readiness; both answer only ok or fail per
// check, and the reason goes to the log, not to the caller.
func TestProbesSayWhatAProbeNeeds(t *testing.T) {
	secret := errors.New("dial tcp db.internal:5432 as user app: connection refused")
	for _, tc := range []struct {
		name                string
		live, ready         []Checker
		healthz, readyz     int
		healthBody, readyOK map[string]any
	}{
		{"all well",
			[]Checker{{Name: "postgres", Check: passing}}, []Checker{{Name: "postgres", Check: passing}, {Name: "vision", Check: failing(secret), Optional: true}},
			200, 200, map[string]any{"status": "ok"}, map[string]any{"ready": true, "checks": map[string]any{"postgres": "ok", "vision": "off"}}},
		{"database down, still healing",
			[]Checker{{Name: "postgres", Check: passing}}, []Checker{{Name: "postgres", Check: failing(secret)}},
			200, 503, map[string]any{"status": "ok"}, map[string]any{"ready": false, "checks": map[string]any{"postgres": "fail"}}},
		{"supervisor gave up",
			[]Checker{{Name: "postgres", Check: failing(errors.New("embedded: gave up restarting PostgreSQL"))}}, []Checker{{Name: "postgres", Check: failing(secret)}},
			503, 503, map[string]any{"status": "fail", "checks": map[string]any{"postgres": "fail"}}, map[string]any{"ready": false, "checks": map[string]any{"postgres": "fail"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, hs, logs := bareServer(t, Options{Live: tc.live, Ready: tc.ready})
			var health, ready map[string]any
			if got := call(t, hs.URL, "", "GET", "/healthz", nil, &health); got != tc.healthz {
				t.Errorf("healthz %d, want %d", got, tc.healthz)
			}
			if diff := cmp.Diff(tc.healthBody, health); diff != "" {
				t.Errorf("healthz body (-want +got):\n%s", diff)
			}
			for range 2 { // asked twice, logged once
				if got := call(t, hs.URL, "", "GET", "/readyz", nil, &ready); got != tc.readyz {
					t.Errorf("readyz %d, want %d", got, tc.readyz)
				}
			}
			if diff := cmp.Diff(tc.readyOK, ready); diff != "" {
				t.Errorf("readyz body (-want +got):\n%s", diff)
			}
			if tc.readyz == 503 && strings.Count(logs.String(), "db.internal:5432") != 1 {
				t.Errorf("the failure's detail should be logged once:\n%s", logs.String())
			}
		})
	}
}

// TestAdminListenerTakesMetrics: with AdminSeparate, /metrics is served by AdminHandler
// only; the probes are on both.
func TestAdminListenerTakesMetrics(t *testing.T) {
	srv, public, _ := bareServer(t, Options{AdminSeparate: true, Ready: []Checker{{Name: "postgres", Check: passing}}})
	admin := httptest.NewServer(srv.AdminHandler())
	defer admin.Close()
	for _, tc := range []struct {
		base, path string
		want       int
	}{
		{public.URL, "/metrics", 404},
		{public.URL, "/healthz", 200},
		{public.URL, "/readyz", 200},
		{admin.URL, "/metrics", 200},
		{admin.URL, "/healthz", 200},
		{admin.URL, "/readyz", 200},
		{admin.URL, "/v1/tickets", 404},
	} {
		if got := call(t, tc.base, "", "GET", tc.path, nil, nil); got != tc.want {
			t.Errorf("GET %s on the %s listener: %d, want %d", tc.path, map[bool]string{true: "admin", false: "public"}[tc.base == admin.URL], got, tc.want)
		}
	}
	resp, err := http.Get(admin.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "switchboard_http_requests_total") {
		t.Errorf("admin /metrics lacks the gateway's metrics")
	}
}

// TestErrorRepliesCarryTheRequestID: a 405 is JSON with a code and the request id, like
// every other error.
func TestErrorRepliesCarryTheRequestID(t *testing.T) {
	_, hs, _ := bareServer(t, Options{})
	for _, tc := range []struct {
		method, path string
		want         int
		code         string
	}{
		{"POST", "/healthz", 405, "method_not_allowed"},
		{"DELETE", "/v1/tickets", 405, "method_not_allowed"},
		{"GET", "/v1/nothing", 404, "not_found"},
	} {
		var body ErrorBody
		if got := call(t, hs.URL, "", tc.method, tc.path, nil, &body); got != tc.want || body.Code != tc.code || body.RequestID == "" || body.Error == "" {
			t.Errorf("%s %s: %d %+v, want %d with code %s, a message and a request id", tc.method, tc.path, got, body, tc.want, tc.code)
		}
	}
}

// TestUnavailableStoreIs503WithRetryAfter: a request that finds PostgreSQL gone gets 503
// "unavailable" with Retry-After, without the connection detail, instead of a 500.
func TestUnavailableStoreIs503WithRetryAfter(t *testing.T) {
	in := newInstance(t, newPool(t), "gone"+strings.ToLower(t.Name()))
	sup := in.token(t, "sam", RoleSupervisor)
	mustCall(t, 200, in.http.URL, sup, "GET", "/v1/skill-groups", nil, nil)
	in.store.Pool().Close() // the database is gone for this instance
	for _, path := range []string{"/v1/skill-groups", "/v1/agents", "/v1/queues"} {
		req, _ := http.NewRequest("GET", in.http.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+sup)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(raw), `"code":"unavailable"`) ||
			strings.Contains(string(raw), "closed pool") {
			t.Errorf("GET %s with the database gone: %d Retry-After=%q %s", path, resp.StatusCode, resp.Header.Get("Retry-After"), raw)
		}
	}
}

// TestStatusOfUnavailable: the edge maps the ticket core's ErrUnavailable and raw
// connection failures to 503, and keeps a client's deadline a 504.
func TestStatusOfUnavailable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("agents: %w", tickets.ErrUnavailable), 503},
		{fmt.Errorf("router set agent: %w", &netOpError), 503},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), 504},
		{errors.New("boom"), 500},
	} {
		if got, _ := statusOf(tc.err); got != tc.want {
			t.Errorf("statusOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// TestWebhookRefusalsNameTheirOwnSecret: a webhook without its secret or signature is
// told which header failed, not about bearer tokens.
func TestWebhookRefusalsNameTheirOwnSecret(t *testing.T) {
	_, hs, _ := bareServer(t, Options{Channels: []channel.Channel{&telegram.Channel{SecretToken: "tg-secret"},
		&slack.Channel{SigningSecret: "slack-secret"}, &webhook.Channel{Secret: "hook-secret"}}})
	for _, tc := range []struct{ path, header, value, want string }{
		{"/v1/channels/telegram", "", "", "X-Telegram-Bot-Api-Secret-Token"},
		{"/v1/channels/telegram", "X-Telegram-Bot-Api-Secret-Token", "wrong", "X-Telegram-Bot-Api-Secret-Token"},
		{"/v1/channels/slack", "", "", "X-Slack-Request-Timestamp"},
		{"/v1/channels/slack", "X-Slack-Request-Timestamp", fmt.Sprint(time.Now().Unix()), "X-Slack-Signature"},
		{"/v1/channels/webhook", "", "", "X-Switchboard-Timestamp"},
	} {
		req, _ := http.NewRequest("POST", hs.URL+tc.path, strings.NewReader(`{}`))
		if tc.header != "" {
			req.Header.Set(tc.header, tc.value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(raw), tc.want) || strings.Contains(string(raw), "bearer") {
			t.Errorf("POST %s (%s): %d %s, want 401 naming %s and no bearer token", tc.path, tc.header, resp.StatusCode, raw, tc.want)
		}
	}
}

// TestRequestDeadline: an API request's context ends after RequestTimeout (here the
// readiness checks see it), while a WebSocket outlives it.
func TestRequestDeadline(t *testing.T) {
	var left time.Duration
	srv, hs, _ := bareServer(t, Options{RequestTimeout: 150 * time.Millisecond, Ready: []Checker{{Name: "slow", Check: func(ctx context.Context) error {
		dl, _ := ctx.Deadline()
		left = time.Until(dl)
		<-ctx.Done()
		return ctx.Err()
	}}}})
	start := time.Now()
	if got := call(t, hs.URL, "", "GET", "/readyz", nil, nil); got != 503 {
		t.Fatalf("readyz %d", got)
	}
	if took := time.Since(start); left > 150*time.Millisecond || took > time.Second {
		t.Errorf("the check had %s left and the request took %s; want ≤ 150ms and well under the 2s probe timeout", left, took)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tok, _ := srv.auth.Issue("web:1", RoleCustomer, time.Hour)
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/v1/chat/ws?access_token="+tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	read := make(chan error, 1)
	go func() { _, _, err := ws.Read(ctx); read <- err }()
	time.Sleep(400 * time.Millisecond)
	if err := ws.Ping(ctx); err != nil {
		t.Fatalf("the chat socket did not outlive the request timeout: %v", err)
	}
	select {
	case err := <-read:
		t.Fatalf("socket ended: %v", err)
	default:
	}
}

// TestShutdownClosesWebSockets: http.Server.Shutdown, with CloseSockets registered,
// closes open WebSockets with 1001 (going away) so clients reconnect to another
// instance; Shutdown alone leaves hijacked connections open.
func TestShutdownClosesWebSockets(t *testing.T) {
	srv, _, _ := bareServer(t, Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	hs.RegisterOnShutdown(srv.CloseSockets)
	go hs.Serve(ln)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var reads []chan error
	for _, tc := range []struct {
		path string
		role Role
	}{{"/v1/chat/ws", RoleCustomer}, {"/v1/me/ws", RoleAgent}} {
		tok, _ := srv.auth.Issue("someone", tc.role, time.Hour)
		ws, _, err := websocket.Dial(ctx, "ws://"+ln.Addr().String()+tc.path+"?access_token="+tok, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		read := make(chan error, 1)
		go func() {
			for {
				if _, _, err := ws.Read(ctx); err != nil {
					read <- err
					return
				}
			}
		}()
		reads = append(reads, read)
	}
	if err := hs.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for i, read := range reads {
		select {
		case err := <-read:
			if websocket.CloseStatus(err) != websocket.StatusGoingAway {
				t.Errorf("socket %d ended with %v, want status 1001 going away", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("socket %d stayed open after Shutdown", i)
		}
	}
}
