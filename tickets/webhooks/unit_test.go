package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// TestSignIsTheInboundChannelsScheme: the golden value is what
// gateway/channel/webhook.Sign returns for the same input (tickets may not import it).
func TestSignIsTheInboundChannelsScheme(t *testing.T) {
	body := []byte(`{"id":"audit:1","type":"ticket.created"}`)
	const want = "sha256=353fabeefe26e45dd2f6ca830281231db682d6f6d3cc62af8949c3f2a721d398"
	if got := Sign("s3cret", 1700000000, body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	for _, tc := range []struct {
		name   string
		secret string
		ts     int64
		body   []byte
		want   bool
	}{
		{"same", "s3cret", 1700000000, body, true},
		{"other secret", "other", 1700000000, body, false},
		{"other time", "s3cret", 1700000001, body, false},
		{"other body", "s3cret", 1700000000, append(bytes.Clone(body), ' '), false},
	} {
		if got := Verify(tc.secret, tc.ts, tc.body, want); got != tc.want {
			t.Errorf("%s: Verify = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Setenv("WEBHOOK_TEST_SECRET", "from-env")
	ok := Endpoint{Name: "crm", URL: "https://crm.example/hooks", Secret: "s"}
	with := func(f func(*Endpoint)) Config {
		e := ok
		f(&e)
		return Config{Endpoints: []Endpoint{e}}
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // a part of the error; "" for valid
	}{
		{"empty", Config{}, ""},
		{"defaults", Default(), ""},
		{"one endpoint", with(func(*Endpoint) {}), ""},
		{"secret from env", with(func(e *Endpoint) { e.Secret, e.SecretEnv = "", "WEBHOOK_TEST_SECRET" }), ""},
		{"events", with(func(e *Endpoint) { e.Events = []string{TicketCreated, QAScored} }), ""},
		{"all events", with(func(e *Endpoint) { e.Events = []string{"*"} }), ""},
		{"no name", with(func(e *Endpoint) { e.Name = "" }), "has no name"},
		{"relative url", with(func(e *Endpoint) { e.URL = "/hooks" }), "absolute http"},
		{"ftp url", with(func(e *Endpoint) { e.URL = "ftp://x/y" }), "absolute http"},
		{"no secret", with(func(e *Endpoint) { e.Secret = "" }), "no secret"},
		{"unset env", with(func(e *Endpoint) { e.Secret, e.SecretEnv = "", "WEBHOOK_TEST_UNSET" }), "no secret"},
		{"both secrets", with(func(e *Endpoint) { e.SecretEnv = "WEBHOOK_TEST_SECRET" }), "not both"},
		{"unknown event", with(func(e *Endpoint) { e.Events = []string{"ticket.exploded"} }), "unknown event type"},
		{"negative timeout", with(func(e *Endpoint) { e.Timeout = -time.Second }), "timeout"},
		{"twice", Config{Endpoints: []Endpoint{ok, ok}}, "used twice"},
		{"attempts", Config{MaxAttempts: -1}, "max_attempts"},
		{"backoff", Config{Backoff: []time.Duration{time.Second, 0}}, "backoff[1]"},
	} {
		err := tc.cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want valid", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalidConfig)):
			t.Errorf("%s: %v, want ErrInvalidConfig with %q", tc.name, err, tc.want)
		}
	}
}

func TestBackoffGrowsCapsAndJitters(t *testing.T) {
	c := Config{Backoff: []time.Duration{10 * time.Second, 30 * time.Second, 2 * time.Minute}}
	for _, tc := range []struct {
		attempt int
		r       float64
		want    time.Duration
	}{
		{1, 0.5, 10 * time.Second},
		{2, 0.5, 30 * time.Second},
		{3, 0.5, 2 * time.Minute},
		{9, 0.5, 2 * time.Minute}, // the last one repeats
		{1, 0, 8 * time.Second},   // -20%
		{1, 1, 12 * time.Second},  // +20%
	} {
		if got := c.backoff(tc.attempt, tc.r); got != tc.want {
			t.Errorf("backoff(%d, %v) = %s, want %s", tc.attempt, tc.r, got, tc.want)
		}
	}
}

func TestFromAuditMapsTicketActionsOnly(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	row := func(action, detail string) auditRow {
		return auditRow{ID: 7, At: at, Actor: "alice", Action: action, Target: "t-1", Detail: []byte(detail)}
	}
	for _, tc := range []struct {
		row  auditRow
		want *Event
	}{
		{row("ticket.create", `{"priority":"high"}`), &Event{ID: "audit:7", Type: TicketCreated, OccurredAt: at,
			Data: EventData{TicketID: "t-1", Status: "open", ActorID: "alice", Priority: "high"}}},
		{row("ticket.assign", `{"agent":"bob","reason":"route","note":"Jane's card"}`), &Event{ID: "audit:7", Type: TicketAssigned,
			OccurredAt: at, Data: EventData{TicketID: "t-1", Status: "assigned", ActorID: "alice", AgentID: "bob", Reason: "route"}}},
		{row("ticket.resolve", `{}`), &Event{ID: "audit:7", Type: TicketResolved, OccurredAt: at,
			Data: EventData{TicketID: "t-1", Status: "resolved", ActorID: "alice"}}},
		{row("ticket.close", `null`), &Event{ID: "audit:7", Type: TicketClosed, OccurredAt: at,
			Data: EventData{TicketID: "t-1", Status: "closed", ActorID: "alice"}}},
		{row("ticket.quality", `{"agent":"bob","group":"billing","score":62,"flagged":true,"reasons":["rude"]}`), &Event{ID: "audit:7",
			Type: QAConversationScored, OccurredAt: at, Data: EventData{TicketID: "t-1", Status: "resolved", ActorID: "alice", AgentID: "bob",
				GroupID: "billing", Score: ptrTo(62), Flagged: true}}},
		{row("ticket.reply", `{}`), nil},
		{row("pii.reveal", `{"reason":"x"}`), nil},
	} {
		got, ok := fromAudit(tc.row)
		if (tc.want != nil) != ok {
			t.Errorf("%s: mapped %v", tc.row.Action, ok)
			continue
		}
		if tc.want != nil {
			if diff := cmp.Diff(*tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.row.Action, diff)
			}
		}
	}
}

func TestFromQADropsCues(t *testing.T) {
	ev := fromQA(qaRow{MessageID: 9, TicketID: "t-1", AgentID: "alice", GroupID: "billing", Position: "first", Score: 70,
		Findings: []byte(`[{"check":"pii","kind":"PHONE","cue":"call me on"}]`)})
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "call me on") || !strings.Contains(string(b), `"findings":[{"check":"pii","kind":"PHONE"}]`) {
		t.Errorf("qa event %s", b)
	}
	if !strings.Contains(string(b), `"score":70`) {
		t.Errorf("qa event %s has no score", b)
	}
}

func TestEndpointLogsNoSecret(t *testing.T) {
	var buf bytes.Buffer
	ep := Endpoint{Name: "crm", URL: "https://crm.example/hooks?token=tok123", Secret: "s3cret"}
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "endpoint", ep)
	if s := buf.String(); strings.Contains(s, "s3cret") || strings.Contains(s, "tok123") || !strings.Contains(s, "crm.example") {
		t.Errorf("logged %q", s)
	}
}

func TestErrorTextLeavesOutTheURL(t *testing.T) {
	got := errorText(attempt{code: 503})
	if got != "HTTP 503 Service Unavailable" {
		t.Errorf("errorText(503) = %q", got)
	}
	ctx := context.Background()
	err := describe(ctx, ctx, time.Second, &url.Error{Op: "Post", URL: "https://crm.example/h?token=tok123", Err: errors.New("connection refused")})
	if got := errorText(attempt{err: err}); got != "connection refused" {
		t.Errorf("errorText(url error) = %q", got)
	}
	long := errorText(attempt{err: errors.New(strings.Repeat("x", 1000))})
	if len(long) != maxErrorText {
		t.Errorf("error text of %d bytes, want %d", len(long), maxErrorText)
	}
}

func TestConfigDecodesFromYAML(t *testing.T) {
	const doc = `
endpoints:
  - name: crm
    url: https://crm.example/hooks
    secret_env: CRM_WEBHOOK_SECRET
    events: [ticket.created, csat.submitted]
    timeout: 5s
max_attempts: 5
backoff: [10s, 1m]
poll_interval: 2s
`
	var got Config
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := Config{Endpoints: []Endpoint{{Name: "crm", URL: "https://crm.example/hooks", SecretEnv: "CRM_WEBHOOK_SECRET",
		Events: []string{TicketCreated, CSATSubmitted}, Timeout: 5 * time.Second}},
		MaxAttempts: 5, Backoff: []time.Duration{10 * time.Second, time.Minute}, PollInterval: 2 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
}

func ptrTo[T any](v T) *T { return &v }
