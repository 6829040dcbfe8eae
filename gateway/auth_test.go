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
