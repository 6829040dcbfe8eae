package gateway

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/tickets"
)

func TestHashPasswordBounds(t *testing.T) {
	for _, tc := range []struct {
		password string
		ok       bool
	}{
		{"short", false},
		{"ten-bytes!", true},
		{strings.Repeat("x", 72), true},
		{strings.Repeat("x", 73), false},
	} {
		h, err := HashPassword(tc.password)
		if (err == nil) != tc.ok {
			t.Errorf("HashPassword(%d bytes): err %v, want ok=%v", len(tc.password), err, tc.ok)
		}
		if err == nil && (h == tc.password || !strings.HasPrefix(h, "$2a$12$")) {
			t.Errorf("HashPassword(%d bytes) = %q, want a bcrypt cost-12 hash", len(tc.password), h)
		}
	}
}

// TestConsoleSignIn: a staff account signs in with its password and gets a token of its
// role; wrong passwords, unknown users and customer accounts are refused, and every
// attempt lands in the audit log without the password.
func TestConsoleSignIn(t *testing.T) {
	in := newInstance(t, newPool(t), "login"+strings.ToLower(t.Name()))
	ctx := context.Background()
	for _, a := range []struct{ subject, role, password string }{
		{"alice", "agent", "alice-password-1"},
		{"kim", "customer", "kim-password-12"},
	} {
		h, err := HashPassword(a.password)
		if err != nil {
			t.Fatal(err)
		}
		if err := in.store.PutStaffAccount(ctx, tickets.StaffAccount{Subject: a.subject, Role: a.role, PasswordHash: h}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, user, password string
		want                 int
	}{
		{"right password", "alice", "alice-password-1", 200},
		{"padded user name", "  alice ", "alice-password-1", 200},
		{"wrong password", "alice", "alice-password-2", 401},
		{"unknown user", "mallory", "alice-password-1", 401},
		{"no password", "alice", "", 400},
		{"customer account", "kim", "kim-password-12", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				SessionToken
				Error string `json:"error"`
			}
			status := call(t, in.http.URL, "", "POST", "/v1/auth/login", map[string]string{"username": tc.user, "password": tc.password}, &got)
			if status != tc.want {
				t.Fatalf("status %d, want %d (%+v)", status, tc.want, got)
			}
			if status != 200 {
				if got.Error == "" || got.Token != "" {
					t.Fatalf("refusal %+v: want an error message and no token", got)
				}
				return
			}
			if got.Subject != "alice" || got.Role != RoleAgent || time.Until(got.ExpiresAt) < 11*time.Hour {
				t.Fatalf("session %+v", got.SessionToken)
			}
			mustCall(t, 200, in.http.URL, got.Token, "GET", "/v1/skill-groups", nil, nil)
			if code := call(t, in.http.URL, got.Token, "GET", "/v1/queues", nil, nil); code != 403 {
				t.Fatalf("agent token on a supervisor route: %d, want 403", code)
			}
		})
	}
	events, err := in.store.AuditLog(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		if !strings.HasPrefix(e.Action, "auth.") {
			continue
		}
		got = append(got, e.Action+" "+e.Target)
		if strings.Contains(string(e.Detail), "password") {
			t.Errorf("audit detail mentions the password: %s", e.Detail)
		}
	}
	want := []string{"auth.sign_in staff:alice", "auth.sign_in staff:alice", "auth.sign_in_refused staff:alice", "auth.sign_in_refused staff:mallory", "auth.sign_in_refused staff:kim"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audited sign-ins (-want +got):\n%s", diff)
	}
}

// TestChatSession: with anonymous chat on, a visitor gets a fresh customer token that
// can post messages; with it off the endpoint is not there.
func TestChatSession(t *testing.T) {
	pool := newPool(t)
	on := newInstanceWith(t, pool, "chatsession"+strings.ToLower(t.Name()), scriptedBrain{}, func(o *Options) { o.AnonymousChat = true })
	var a, b SessionToken
	mustCall(t, 201, on.http.URL, "", "POST", "/v1/chat/session", nil, &a)
	mustCall(t, 201, on.http.URL, "", "POST", "/v1/chat/session", nil, &b)
	if a.Role != RoleCustomer || !strings.HasPrefix(a.Subject, "web:") || a.Subject == b.Subject {
		t.Fatalf("sessions %+v and %+v: want two distinct web customers", a, b)
	}
	var reply MessageReply
	mustCall(t, 200, on.http.URL, a.Token, "POST", "/v1/messages", map[string]any{"text": "refund please"}, &reply)
	if reply.Reply == "" {
		t.Fatalf("anonymous customer got no answer: %+v", reply)
	}
	if code := call(t, on.http.URL, a.Token, "GET", "/v1/me/queue", nil, nil); code != 403 {
		t.Fatalf("customer token on the agent queue: %d, want 403", code)
	}

	off := newInstance(t, pool, "chatsessionoff"+strings.ToLower(t.Name()))
	if code := call(t, off.http.URL, "", "POST", "/v1/chat/session", nil, nil); code != 404 {
		t.Fatalf("anonymous chat off: %d, want 404", code)
	}
}

// TestSuggestionsFromRecentCustomerMessages: the console's suggested passages answer
// what the customer asked before asking for a human.
func TestSuggestionsFromRecentCustomerMessages(t *testing.T) {
	pool := newPool(t)
	prefix := "suggest" + strings.ToLower(t.Name())
	in := newInstanceWith(t, pool, prefix, scriptedBrain{}, func(o *Options) { o.Suggest = scriptedBrain{} })
	cust := in.token(t, "web:9", RoleCustomer)
	agent := in.token(t, "sam", RoleSupervisor) // nobody is online: the ticket waits unassigned
	var first, human MessageReply
	mustCall(t, 200, in.http.URL, cust, "POST", "/v1/messages", map[string]any{"text": "my refund, mail me at kim@example.com"}, &first)
	mustCall(t, 200, in.http.URL, cust, "POST", "/v1/messages", map[string]any{"conversation_id": first.ConversationID, "text": "I want a human"}, &human)
	if human.TicketID == "" {
		t.Fatalf("no ticket: %+v", human)
	}
	var got struct {
		Query    string `json:"query"`
		Answer   string `json:"answer"`
		Passages []struct {
			ChunkID string `json:"chunk_id"`
		} `json:"passages"`
	}
	mustCall(t, 200, in.http.URL, agent, "GET", "/v1/tickets/"+human.TicketID+"/suggestions", nil, &got)
	if !strings.Contains(got.Query, "refund") || strings.Contains(got.Query, "kim@example.com") {
		t.Fatalf("query %q: want the redacted earlier message", got.Query)
	}
	if got.Answer != "Refunds arrive within 5 working days." || len(got.Passages) != 1 || got.Passages[0].ChunkID != "faq#1" {
		t.Fatalf("suggestions %+v", got)
	}
	if code := call(t, in.http.URL, agent, "GET", "/v1/tickets/00000000-0000-0000-0000-000000000000/suggestions", nil, nil); code != 404 {
		t.Fatalf("unknown ticket: %d, want 404", code)
	}

	plain := newInstance(t, pool, prefix)
	var none struct {
		Passages []any `json:"passages"`
	}
	mustCall(t, 200, plain.http.URL, agent, "GET", "/v1/tickets/"+human.TicketID+"/suggestions", nil, &none)
	if none.Passages == nil || len(none.Passages) != 0 {
		t.Fatalf("without a knowledge base: %+v, want an empty list", none)
	}
}

// TestAllowedOrigins: a site on the allow-list may call the API and open the chat
// WebSocket from the browser; another site may not.
func TestAllowedOrigins(t *testing.T) {
	in := newInstanceWith(t, newPool(t), "origins"+strings.ToLower(t.Name()), scriptedBrain{},
		func(o *Options) { o.AllowedOrigins = []string{"https://shop.example"} })
	preflight := func(origin string) (int, string) {
		req, _ := http.NewRequest("OPTIONS", in.http.URL+"/v1/messages", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin")
	}
	if code, allow := preflight("https://shop.example"); code != 204 || allow != "https://shop.example" {
		t.Errorf("allowed origin preflight: %d %q", code, allow)
	}
	if code, allow := preflight("https://evil.example"); code < 400 || allow != "" {
		t.Errorf("other origin preflight: %d %q, want a refusal", code, allow)
	}

	cust := in.token(t, "web:5", RoleCustomer)
	dial := func(origin string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		u := strings.Replace(in.http.URL, "http", "ws", 1) + "/v1/chat/ws?access_token=" + cust
		c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
		if err == nil {
			c.CloseNow()
		}
		return err
	}
	if err := dial("https://shop.example"); err != nil {
		t.Errorf("chat WebSocket from the allowed origin: %v", err)
	}
	if err := dial("https://evil.example"); err == nil {
		t.Errorf("chat WebSocket from another origin was accepted")
	}
	if err := dial(in.http.URL); err != nil {
		t.Errorf("chat WebSocket from the server's own pages: %v", err)
	}
}

// TestChangedOrRemovedAccountLocksItsTokensOut: a console token stops working once its
// account gets a new password or is deleted; tokens not from a sign-in are unaffected.
func TestChangedOrRemovedAccountLocksItsTokensOut(t *testing.T) {
	in := newInstanceWith(t, newPool(t), "epoch"+strings.ToLower(t.Name()), nil, func(o *Options) { o.SessionRecheck = time.Nanosecond })
	ctx := context.Background()
	put := func(password string) {
		t.Helper()
		h, err := HashPassword(password)
		if err != nil {
			t.Fatal(err)
		}
		if err := in.store.PutStaffAccount(ctx, tickets.StaffAccount{Subject: "alice", Role: "agent", PasswordHash: h}); err != nil {
			t.Fatal(err)
		}
	}
	login := func(password string) string {
		t.Helper()
		var s SessionToken
		mustCall(t, 200, in.http.URL, "", "POST", "/v1/auth/login", map[string]string{"username": "alice", "password": password}, &s)
		return s.Token
	}
	works := func(tok string) int { return call(t, in.http.URL, tok, "GET", "/v1/skill-groups", nil, nil) }
	put("first-password")
	old := login("first-password")
	minted := in.token(t, "alice", RoleAgent) // as `switchboard token` makes them
	if works(old) != 200 {
		t.Fatal("a fresh sign-in's token is refused")
	}
	put("second-password")
	if code := works(old); code != 401 {
		t.Fatalf("token from before the password change: %d, want 401", code)
	}
	fresh := login("second-password")
	if works(fresh) != 200 {
		t.Fatal("the new sign-in's token is refused")
	}
	if err := in.store.DeleteStaffAccount(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if code := works(fresh); code != 401 {
		t.Fatalf("token of a deleted account: %d, want 401", code)
	}
	if works(minted) != 200 {
		t.Fatal("a minted token (no sign-in) was locked out with the account")
	}
}
