package gateway

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Role is an RBAC role carried in the token's "role" claim.
type Role string

// The roles of docs/architecture.md ("Privacy and security").
const (
	RoleCustomer   Role = "customer"
	RoleAgent      Role = "agent"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
	RoleMLEngineer Role = "ml-engineer"
	RoleAuditor    Role = "auditor"
)

// Roles lists every role.
var Roles = []Role{RoleCustomer, RoleAgent, RoleSupervisor, RoleAdmin, RoleMLEngineer, RoleAuditor}

// Claims are Switchboard's JWT claims: the subject is the agent or user id.
type Claims struct {
	Role Role `json:"role"`
	// Epoch is set on tokens from a console sign-in: the staff account's epoch then.
	// Such a token is refused once the account is changed or removed.
	Epoch int64 `json:"sep,omitempty"`
	jwt.RegisteredClaims
}

// Auth verifies bearer tokens: HS256 with a shared secret, and RS256/ES256
// against a JWKS file when one is configured.
type Auth struct {
	secret   []byte
	jwks     keyfunc.Keyfunc
	issuer   string
	audience string // "": tokens carry no aud and none is required
	now      func() time.Time
	verified verifiedTokens
}

// verifiedTokens remembers tokens whose signature and claims verified, by their
// exact text. The keys, issuer and audience are fixed for an Auth's lifetime, so
// a token that verified once verifies again while it is within its validity
// period, which is checked on every use; parsing and the signature check (a
// twentieth of a text turn's CPU in `bench turn`) are not repeated. A customer's
// or agent's token is sent with every request.
type verifiedTokens struct {
	mu     sync.Mutex
	claims map[string]*Claims
}

// maxVerifiedTokens bounds verifiedTokens: when full, it starts over.
const maxVerifiedTokens = 8192

func (v *verifiedTokens) get(token string) (*Claims, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.claims[token]
	return c, ok
}

func (v *verifiedTokens) put(token string, c *Claims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.claims == nil || len(v.claims) >= maxVerifiedTokens {
		v.claims = make(map[string]*Claims)
	}
	v.claims[token] = c
}

func (v *verifiedTokens) drop(token string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.claims, token)
}

// AuthOption configures NewAuth.
type AuthOption func(*Auth)

// WithAudience makes issued tokens carry aud and refuses tokens that do not (so a token
// an identity provider issued for another application with the same issuer is refused).
func WithAudience(aud string) AuthOption { return func(a *Auth) { a.audience = aud } }

// NewAuth returns an Auth. jwksFile may be empty.
func NewAuth(secret []byte, jwksFile, issuer string, opts ...AuthOption) (*Auth, error) {
	if len(secret) < 32 && jwksFile == "" {
		return nil, fmt.Errorf("auth: the JWT secret must be at least 32 bytes")
	}
	a := &Auth{secret: secret, issuer: issuer, now: time.Now}
	for _, o := range opts {
		o(a)
	}
	if jwksFile != "" {
		raw, err := os.ReadFile(jwksFile)
		if err != nil {
			return nil, fmt.Errorf("auth: read JWKS file: %w", err)
		}
		if a.jwks, err = keyfunc.NewJWKSetJSON(json.RawMessage(raw)); err != nil {
			return nil, fmt.Errorf("auth: JWKS file %s: %w", jwksFile, err)
		}
	}
	return a, nil
}

// Issue signs an HS256 token for subject with role, valid for ttl.
func (a *Auth) Issue(subject string, role Role, ttl time.Duration) (string, error) {
	tok, _, err := a.issue(subject, role, ttl, 0)
	return tok, err
}

// Mint is Issue that also returns the token's claims: its id (jti) and expiry, which
// `switchboard token` audits and a revocation names.
func (a *Auth) Mint(subject string, role Role, ttl time.Duration) (string, *Claims, error) {
	return a.issue(subject, role, ttl, 0)
}

// issueSession is Issue for a console sign-in of the account at epoch.
func (a *Auth) issueSession(subject string, role Role, ttl time.Duration, epoch int64) (string, error) {
	tok, _, err := a.issue(subject, role, ttl, epoch)
	return tok, err
}

func (a *Auth) issue(subject string, role Role, ttl time.Duration, epoch int64) (string, *Claims, error) {
	if len(a.secret) == 0 {
		return "", nil, fmt.Errorf("auth: no HS256 secret configured")
	}
	now := a.now()
	claims := &Claims{Role: role, Epoch: epoch, RegisteredClaims: jwt.RegisteredClaims{
		ID: uuid.NewString(), Subject: subject, Issuer: a.issuer, IssuedAt: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	if a.audience != "" {
		claims.Audience = jwt.ClaimStrings{a.audience}
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(a.secret)
	return tok, claims, err
}

func (a *Auth) keyFor(t *jwt.Token) (any, error) {
	switch t.Method.Alg() {
	case "HS256":
		if len(a.secret) == 0 {
			return nil, fmt.Errorf("HS256 not accepted")
		}
		return a.secret, nil
	default:
		if a.jwks == nil {
			return nil, fmt.Errorf("%s not accepted without a JWKS file", t.Method.Alg())
		}
		return a.jwks.Keyfunc(t)
	}
}

// Verify parses and checks a token. A token that verified before is only checked
// against its validity period (exp, nbf) again (see verifiedTokens); each call
// returns claims of its own.
func (a *Auth) Verify(token string) (*Claims, error) {
	if c, ok := a.verified.get(token); ok {
		now := a.now()
		if now.Before(c.ExpiresAt.Time) && (c.NotBefore == nil || !now.Before(c.NotBefore.Time)) {
			cp := *c
			return &cp, nil
		}
		a.verified.drop(token) // the full check below says why it is refused
	}
	var c Claims
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{"HS256", "RS256", "ES256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(a.now)}
	if a.issuer != "" {
		opts = append(opts, jwt.WithIssuer(a.issuer))
	}
	if a.audience != "" {
		opts = append(opts, jwt.WithAudience(a.audience))
	}
	if _, err := jwt.ParseWithClaims(token, &c, a.keyFor, opts...); err != nil {
		return nil, fmt.Errorf("%w: %v", errUnauthenticated, err)
	}
	if c.Subject == "" || !slices.Contains(Roles, c.Role) {
		return nil, fmt.Errorf("%w: token needs a subject and a known role", errUnauthenticated)
	}
	kept := c
	a.verified.put(token, &kept)
	return &c, nil
}

const ctxClaims = "switchboard.claims"

func bearer(c *gin.Context) string {
	h := c.GetHeader("Authorization")
	if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(tok)
	}
	// Browsers cannot set headers on a WebSocket handshake.
	if c.IsWebsocket() {
		return c.Query("access_token")
	}
	return ""
}

// require authenticates the request and admits only the given roles.
func (g *sessionGuard) require(roles ...Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		tok := bearer(c)
		if tok == "" {
			g.fail(c, errUnauthenticated)
			return
		}
		claims, err := g.auth.Verify(tok)
		if err != nil {
			g.fail(c, err)
			return
		}
		if err := g.sessions.check(c.Request.Context(), claims); err != nil {
			g.fail(c, err)
			return
		}
		if !slices.Contains(roles, claims.Role) {
			g.fail(c, fmt.Errorf("%w (role %s)", errForbiddenRole, claims.Role))
			return
		}
		c.Set(ctxClaims, claims)
		c.Next()
	}
}

func claimsOf(c *gin.Context) *Claims {
	v, _ := c.Get(ctxClaims)
	cl, _ := v.(*Claims)
	return cl
}
