package main

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/tickets"
)

// TestTokenCommandCapsAuditsAndRevokes: minted tokens are capped by
// auth.max_minted_ttl, carry an id and the configured audience, exist only with their
// token.mint audit row, and `token revoke` records revocations by id and by subject.
func TestTokenCommandCapsAuditsAndRevokes(t *testing.T) {
	dsn := testenv.PG(t)
	t.Setenv("SWITCHBOARD_DATA_DIR", t.TempDir())
	t.Setenv("SWITCHBOARD_PG_DSN", dsn)
	t.Setenv("SWITCHBOARD_AUTH_AUDIENCE", "switchboard-api")
	t.Setenv("SWITCHBOARD_AUTH_MAX_MINTED_TTL", "2h")
	if _, err := execCLI(t, "", "token", "alice", "--role", "agent", "--ttl", "3h"); err == nil || !strings.Contains(err.Error(), "auth.max_minted_ttl") {
		t.Fatalf("--ttl over the cap: %v, want an error naming auth.max_minted_ttl", err)
	}
	out, err := execCLI(t, "", "token", "alice", "--role", "agent", "--ttl", "1h")
	if err != nil {
		t.Fatal(err)
	}
	tok, _, _ := strings.Cut(out, "\n")
	cfg, err := config.Load("", os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	secret, err := jwtSecret(cfg)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := gateway.NewAuth(secret, "", cfg.Auth.Issuer, gateway.WithAudience("switchboard-api"))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := auth.Verify(tok)
	if err != nil || cl.ID == "" || cl.Subject != "alice" || time.Until(cl.ExpiresAt.Time) > time.Hour || time.Until(cl.ExpiresAt.Time) < 59*time.Minute {
		t.Fatalf("minted token %+v, %v: want alice's, with a jti, valid for 1h", cl, err)
	}
	if strings.TrimSpace(out) != tok {
		t.Errorf("mint output %q: want the token alone (scripts capture it)", out)
	}

	for _, args := range [][]string{{"token", "revoke"}, {"token", "revoke", "--jti", "x", "--subject", "alice"}} {
		if _, err := execCLI(t, "", args...); err == nil || !strings.Contains(err.Error(), "exactly one of --jti and --subject") {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	for _, args := range [][]string{{"token", "revoke", "--jti", cl.ID}, {"token", "revoke", "--subject", "bob"}} {
		if out, err := execCLI(t, "", args...); err != nil || !strings.HasPrefix(out, "revoked ") {
			t.Fatalf("%v: %q, %v", args, out, err)
		}
	}

	ctx := context.Background()
	store := tickets.NewStore(testenv.Pool(t, dsn), nil, nil) // audit and revocations only: no key ring needed
	events, err := store.AuditLog(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		if strings.HasPrefix(e.Action, "token.") {
			got = append(got, e.Action+" "+e.Target)
		}
		if e.Action == "token.mint" {
			var d map[string]string
			json.Unmarshal(e.Detail, &d)
			if d["subject"] != "alice" || d["role"] != "agent" || d["ttl"] != "1h0m0s" || d["jti"] != cl.ID {
				t.Errorf("token.mint detail %s: want subject, role, ttl and jti", e.Detail)
			}
		}
	}
	want := []string{"token.mint token:" + cl.ID, "token.revoke token:" + cl.ID, "token.revoke subject:bob"}
	if !slices.Equal(got, want) {
		t.Errorf("audited %q, want %q", got, want)
	}
	revs, err := store.Revocations(ctx)
	if err != nil || len(revs) != 2 || revs[0].JTI != cl.ID || revs[1].Subject != "bob" || time.Until(revs[0].KeepUntil) < 23*time.Hour {
		t.Fatalf("revocations %+v, %v: want the jti and bob, kept at least as long as an anonymous token lives", revs, err)
	}
}
