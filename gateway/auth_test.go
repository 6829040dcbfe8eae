package gateway

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestAuthHS256AndJWKS(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}})
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := NewAuth([]byte(testSecret), path, "switchboard")
	if err != nil {
		t.Fatal(err)
	}
	rs := func(kid string, role Role, iss string, exp time.Duration) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, Claims{Role: role, RegisteredClaims: jwt.RegisteredClaims{
			Subject: "bob", Issuer: iss, ExpiresAt: jwt.NewNumericDate(time.Now().Add(exp))}})
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hs, _ := a.Issue("alice", RoleAgent, time.Hour)
	other, _ := NewAuth([]byte("another-secret-another-secret-1234"), "", "switchboard")
	forged, _ := other.Issue("alice", RoleAdmin, time.Hour)
	noneTok, _ := jwt.NewWithClaims(jwt.SigningMethodNone, Claims{Role: RoleAdmin, RegisteredClaims: jwt.RegisteredClaims{
		Subject: "eve", Issuer: "switchboard", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	for _, tc := range []struct {
		name     string
		token    string
		wantSub  string
		wantRole Role
	}{
		{"HS256", hs, "alice", RoleAgent},
		{"RS256 from the JWKS file", rs("k1", RoleSupervisor, "switchboard", time.Hour), "bob", RoleSupervisor},
		{"RS256 unknown kid", rs("k2", RoleSupervisor, "switchboard", time.Hour), "", ""},
		{"RS256 wrong issuer", rs("k1", RoleSupervisor, "someone", time.Hour), "", ""},
		{"RS256 expired", rs("k1", RoleSupervisor, "switchboard", -time.Hour), "", ""},
		{"HS256 with another secret", forged, "", ""},
		{"alg none", noneTok, "", ""},
		{"unknown role", mustIssue(t, a, "x", "superuser"), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := a.Verify(tc.token)
			if tc.wantSub == "" {
				if !errors.Is(err, errUnauthenticated) {
					t.Fatalf("accepted: %+v, %v", c, err)
				}
				return
			}
			if err != nil || c.Subject != tc.wantSub || c.Role != tc.wantRole {
				t.Fatalf("got %+v, %v", c, err)
			}
		})
	}
	if _, err := NewAuth([]byte("short"), "", "x"); err == nil {
		t.Fatal("a 5-byte secret was accepted")
	}
}

func mustIssue(t *testing.T, a *Auth, sub string, role Role) string {
	t.Helper()
	s, err := a.Issue(sub, role, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestVerifiedTokenStaysWithinItsValidity: a token that verified is remembered, but
// every use checks its validity period again, and each caller gets claims of its own.
func TestVerifiedTokenStaysWithinItsValidity(t *testing.T) {
	a, err := NewAuth([]byte(testSecret), "", "switchboard")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := t0
	a.now = func() time.Time { return clock }
	tok, err := a.Issue("alice", RoleCustomer, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	early, err := jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{Role: RoleCustomer, RegisteredClaims: jwt.RegisteredClaims{
		Subject: "bob", Issuer: "switchboard", NotBefore: jwt.NewNumericDate(t0.Add(10 * time.Minute)),
		ExpiresAt: jwt.NewNumericDate(t0.Add(time.Hour))}}).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		at    time.Duration
		token string
		ok    bool
	}{
		{"first use", 0, tok, true},
		{"again, remembered", 30 * time.Minute, tok, true},
		{"past its expiry, though remembered", time.Hour, tok, false},
		{"still refused", 2 * time.Hour, tok, false},
		{"before nbf", 0, early, false},
		{"at nbf", 10 * time.Minute, early, true},
		{"remembered, but the clock went back before nbf", 5 * time.Minute, early, false},
	}
	for _, s := range steps {
		clock = t0.Add(s.at)
		c, err := a.Verify(s.token)
		if s.ok != (err == nil) {
			t.Fatalf("%s: Verify = %+v, %v; want ok %v", s.name, c, err, s.ok)
		}
		if err != nil && !errors.Is(err, errUnauthenticated) {
			t.Fatalf("%s: %v does not wrap errUnauthenticated", s.name, err)
		}
	}
	clock = t0
	c1, _ := a.Verify(tok)
	c1.Subject = "mallory"
	if c2, err := a.Verify(tok); err != nil || c2.Subject != "alice" {
		t.Fatalf("a caller's change to its claims reached the next caller: %+v, %v", c2, err)
	}
}
