package gateway

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-cs/switchboard/tickets"
)

// putAccount creates or changes alice's console sign-in.
func putAccount(t *testing.T, in *instance, subject, password string) {
	t.Helper()
	h, err := HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.store.PutStaffAccount(context.Background(), tickets.StaffAccount{Subject: subject, Role: "agent", PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
}

func signIn(t *testing.T, in *instance, subject, password string) string {
	t.Helper()
	var s SessionToken
	mustCall(t, 200, in.http.URL, "", "POST", "/v1/auth/login", map[string]string{"username": subject, "password": password}, &s)
	return s.Token
}

// TestRecreatedAccountDoesNotReviveOldTokens: an account deleted and created again (even
// with the same password) does not make the tokens of its first life work again.
func TestRecreatedAccountDoesNotReviveOldTokens(t *testing.T) {
	in := newInstanceWith(t, newPool(t), "recreate"+strings.ToLower(t.Name()), nil, func(o *Options) { o.SessionRecheck = time.Nanosecond })
	works := func(tok string) int { return call(t, in.http.URL, tok, "GET", "/v1/skill-groups", nil, nil) }
	putAccount(t, in, "alice", "first-password")
	old := signIn(t, in, "alice", "first-password")
	if err := in.store.DeleteStaffAccount(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	putAccount(t, in, "alice", "first-password")
	if code := works(old); code != 401 {
		t.Fatalf("a token from before the account was deleted and re-created: %d, want 401", code)
	}
	if code := works(signIn(t, in, "alice", "first-password")); code != 200 {
		t.Fatalf("the re-created account's own sign-in: %d, want 200", code)
	}
}

// TestRevokedTokensAreRefused: a token revoked by its id, and every token of a subject
// issued up to a revocation (minted, signed in, customer), is refused; a token issued
// after the revocation works.
func TestRevokedTokensAreRefused(t *testing.T) {
	in := newInstanceWith(t, newPool(t), "revoke"+strings.ToLower(t.Name()), nil, func(o *Options) { o.SessionRecheck = time.Nanosecond })
	ctx := context.Background()
	revoke := func(r tickets.Revocation) {
		t.Helper()
		r.By, r.KeepUntil = "test", time.Now().Add(time.Hour)
		if _, err := in.store.RevokeTokens(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	mint := func(sub string, role Role) (string, string) {
		t.Helper()
		tok, cl, err := in.auth.Mint(sub, role, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok, cl.ID
	}
	status := func(tok, path string) int { return call(t, in.http.URL, tok, "GET", path, nil, nil) }

	one, oneID := mint("alice", RoleAgent)
	other, _ := mint("alice", RoleAgent)
	if status(one, "/v1/skill-groups") != 200 {
		t.Fatal("a fresh minted token is refused")
	}
	revoke(tickets.Revocation{JTI: oneID})
	if code := status(one, "/v1/skill-groups"); code != 401 {
		t.Fatalf("token revoked by its id: %d, want 401", code)
	}
	if code := status(other, "/v1/skill-groups"); code != 200 {
		t.Fatalf("another token of the same subject: %d, want 200", code)
	}

	putAccount(t, in, "bob", "bob-password-1")
	session := signIn(t, in, "bob", "bob-password-1")
	minted, _ := mint("bob", RoleSupervisor)
	customer, _ := mint("web:kim", RoleCustomer)
	revoke(tickets.Revocation{Subject: "bob"})
	revoke(tickets.Revocation{Subject: "web:kim"})
	for name, tok := range map[string]string{"console sign-in": session, "minted": minted} {
		if code := status(tok, "/v1/skill-groups"); code != 401 {
			t.Errorf("%s token of a revoked subject: %d, want 401", name, code)
		}
	}
	if code := status(customer, "/v1/conversations/00000000-0000-0000-0000-000000000000"); code != 401 {
		t.Errorf("customer token of a revoked subject: %d, want 401", code)
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond))) // issue times are in seconds
	if code := status(signIn(t, in, "bob", "bob-password-1"), "/v1/skill-groups"); code != 200 {
		t.Errorf("a sign-in after the subject's revocation: %d, want 200", code)
	}
}

// TestAudienceIsRequiredWhenSet: with an audience, issued tokens carry it, and a token
// of the same issuer and key for another audience, or for none, is refused.
func TestAudienceIsRequiredWhenSet(t *testing.T) {
	newAuth := func(opts ...AuthOption) *Auth {
		a, err := NewAuth([]byte(testSecret), "", "switchboard", opts...)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	ours, otherApp, none := newAuth(WithAudience("switchboard-api")), newAuth(WithAudience("crm")), newAuth()
	own := mustIssue(t, ours, "alice", RoleAgent)
	cl, err := ours.Verify(own)
	if err != nil || !slices.Equal(cl.Audience, jwt.ClaimStrings{"switchboard-api"}) || cl.ID == "" {
		t.Fatalf("own token: %+v, %v; want aud switchboard-api and a jti", cl, err)
	}
	for name, tok := range map[string]string{"another audience": mustIssue(t, otherApp, "alice", RoleAdmin),
		"no audience": mustIssue(t, none, "alice", RoleAdmin)} {
		if _, err := ours.Verify(tok); !errors.Is(err, errUnauthenticated) {
			t.Errorf("%s: %v, want refused", name, err)
		}
	}
	if _, err := none.Verify(own); err != nil {
		t.Errorf("without an audience configured, a token with one: %v", err)
	}
}

// closeOf reads until the server closes the socket and returns the close status and
// reason, failing when it stays open for longer than within.
func closeOf(t *testing.T, conn *websocket.Conn, within time.Duration) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		if _, _, err := conn.Read(ctx); err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("socket not closed by the server within %s: %v", within, err)
			}
			return ce.Code, ce.Reason
		}
	}
}

func dialWS(t *testing.T, base, path, token string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+path+"access_token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// TestWebSocketsCloseWhenTheirTokenLapses: the agent and chat sockets are closed with
// 4401 at the token's expiry, when the sign-in behind it is removed, and when it is
// revoked; an HTTP request with the token is refused at the same moments.
func TestWebSocketsCloseWhenTheirTokenLapses(t *testing.T) {
	in := newInstanceWith(t, newPool(t), "wsguard"+strings.ToLower(t.Name()), nil, func(o *Options) { o.SessionRecheck = 200 * time.Millisecond })
	ctx := context.Background()
	short := func(sub string, role Role) string {
		t.Helper()
		tok, err := in.auth.Issue(sub, role, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, tc := range []struct {
		name, path string
		token      func() string
		lapse      func()
		reason     string
	}{
		{"agent socket at expiry", "/v1/me/ws?", func() string { return short("alice", RoleAgent) }, func() {}, "token expired"},
		{"chat socket at expiry", "/v1/chat/ws?", func() string { return short("web:kim", RoleCustomer) }, func() {}, "token expired"},
		{"agent socket of a removed sign-in", "/v1/me/ws?", func() string {
			putAccount(t, in, "bob", "bob-password-1")
			return signIn(t, in, "bob", "bob-password-1")
		}, func() {
			if err := in.store.DeleteStaffAccount(ctx, "bob"); err != nil {
				t.Fatal(err)
			}
		}, "sign-in changed or removed; sign in again"},
		{"chat socket of a revoked customer", "/v1/chat/ws?", func() string { return in.token(t, "web:lee", RoleCustomer) }, func() {
			if _, err := in.store.RevokeTokens(ctx, tickets.Revocation{Subject: "web:lee", By: "test", KeepUntil: time.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}, "token revoked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.token()
			conn := dialWS(t, in.http.URL, tc.path, tok)
			time.Sleep(300 * time.Millisecond) // the socket is established and served
			tc.lapse()
			code, reason := closeOf(t, conn, 6*time.Second)
			if code != statusSignedOut || reason != tc.reason {
				t.Fatalf("closed with %d %q, want %d %q", code, reason, statusSignedOut, tc.reason)
			}
		})
	}
}

// TestASRSocketClosesAtTokenExpiry: a live speech stream ends with 4401 when its token
// expires, though the client keeps it open.
func TestASRSocketClosesAtTokenExpiry(t *testing.T) {
	svc := speechService(t)
	in := newInstanceWith(t, newPool(t), "asrguard", nil, func(o *Options) { o.Speech = svc; o.SessionRecheck = 200 * time.Millisecond })
	tok, err := in.auth.Issue("web:asr-guard", RoleCustomer, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn := dialWS(t, in.http.URL, "/v1/asr/ws?", tok)
	if code, reason := closeOf(t, conn, 6*time.Second); code != statusSignedOut || reason != "token expired" {
		t.Fatalf("closed with %d %q, want %d %q", code, reason, statusSignedOut, "token expired")
	}
}
