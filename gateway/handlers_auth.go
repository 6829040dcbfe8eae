package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-cs/switchboard/tickets"
)

// errBadCredentials is a failed sign-in; it never says which half was wrong.
var errBadCredentials = fmt.Errorf("%w: wrong user name or password", errUnauthenticated)

// HashPassword is how console passwords are stored (bcrypt, cost 12).
func HashPassword(password string) (string, error) {
	if len(password) < 10 || len(password) > 72 {
		return "", fmt.Errorf("%w: a password needs 10 to 72 bytes", errBadRequest)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), 12)
	return string(h), err
}

// dummyHash is compared against when the user does not exist, so that an unknown user
// takes as long to refuse as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such user, no such password"), 12)

// errDisabled refuses the sign-in of a disabled account (after its password was right).
var errDisabled = fmt.Errorf("%w: this sign-in is disabled; ask an administrator", errForbiddenRole)

// errSignedOut refuses a console token whose account was changed or removed.
var errSignedOut = fmt.Errorf("%w: this sign-in was changed or removed; sign in again", errUnauthenticated)

// sessionChecker checks every token against the revocations, and console tokens
// against their staff accounts, remembering each account's epoch for a short while so
// that a request costs no query.
type sessionChecker struct {
	store   *tickets.Store
	recheck time.Duration
	mu      sync.Mutex
	seen    map[string]seenAccount
	revoked revocationList
}

type seenAccount struct {
	epoch int64 // 0: no such account
	at    time.Time
}

func (sc *sessionChecker) check(ctx context.Context, cl *Claims) error {
	if err := sc.revoked.check(ctx, cl); err != nil {
		return err
	}
	if cl.Epoch == 0 {
		return nil // not from a console sign-in
	}
	sc.mu.Lock()
	e, ok := sc.seen[cl.Subject]
	sc.mu.Unlock()
	if sc.store == nil {
		return errSignedOut
	}
	if !ok || time.Since(e.at) > sc.recheck {
		acct, err := sc.store.GetStaffAccount(ctx, cl.Subject)
		switch {
		case errors.Is(err, tickets.ErrNotFound), err == nil && acct.Disabled:
			acct.Epoch = 0
		case err != nil:
			return err
		}
		e = seenAccount{epoch: acct.Epoch, at: time.Now()}
		sc.mu.Lock()
		if len(sc.seen) > 10_000 {
			clear(sc.seen) // a bound, not an eviction policy: staff are few
		}
		sc.seen[cl.Subject] = e
		sc.mu.Unlock()
	}
	if e.epoch != cl.Epoch {
		return errSignedOut
	}
	return nil
}

// SessionToken is what a sign-in returns.
type SessionToken struct {
	Token     string    `json:"token"`
	Subject   string    `json:"subject"`
	Role      Role      `json:"role"`
	ExpiresAt time.Time `json:"expires_at"`
}

// authRoutes owns sign-in: a staff member's password sign-in to the console (POST
// /v1/auth/login, audited, and held to the sign-in limits), and customer tokens for
// anonymous web-chat visitors (POST /v1/chat/session).
type authRoutes struct {
	errorWriter
	auth      *Auth
	dir       directory
	trail     auditTrail
	limits    *limits       // sign-in attempts, backoff and password-check slots
	tokenTTL  time.Duration // Options.TokenTTL
	anonymous bool          // Options.AnonymousChat
}

// login signs a staff member in with the password of their staff account (switchboard
// users set) and returns a bearer token; every sign-in and refusal is audited.
func (r *authRoutes) login(c *gin.Context) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := bind(c, &in); err != nil {
		r.fail(c, err)
		return
	}
	in.Username = strings.TrimSpace(in.Username)
	if in.Username == "" || in.Password == "" || len(in.Username) > 200 || len(in.Password) > 72 {
		r.fail(c, fmt.Errorf("%w: username and password are required", errBadRequest))
		return
	}
	if err := r.limits.checkLogin(c, in.Username); err != nil {
		r.fail(c, err)
		return
	}
	acct, err := r.dir.GetStaffAccount(c.Request.Context(), in.Username)
	hash := []byte(acct.PasswordHash)
	switch {
	case errors.Is(err, tickets.ErrNotFound):
		hash = dummyHash // an unknown user takes as long to refuse as a wrong password
	case err != nil:
		r.fail(c, err)
		return
	}
	ok, err := r.limits.comparePassword(c.Request.Context(), hash, in.Password)
	if err != nil {
		r.fail(c, err)
		return
	}
	if !ok || acct.PasswordHash == "" {
		r.auditSignIn(c, in.Username, false)
		r.limits.loginFailed(c.Request.Context(), in.Username)
		r.fail(c, errBadCredentials)
		return
	}
	if acct.Disabled {
		r.auditSignIn(c, in.Username, false)
		r.fail(c, errDisabled)
		return
	}
	role := Role(acct.Role)
	if !slices.Contains(Roles, role) || role == RoleCustomer {
		r.auditSignIn(c, in.Username, false)
		r.fail(c, fmt.Errorf("%w: account %s has no staff role", errForbiddenRole, in.Username))
		return
	}
	tok, err := r.auth.issueSession(acct.Subject, role, r.tokenTTL, acct.Epoch)
	if err != nil {
		r.fail(c, err)
		return
	}
	r.limits.loginSucceeded(c.Request.Context(), in.Username)
	r.auditSignIn(c, in.Username, true)
	c.JSON(http.StatusOK, SessionToken{Token: tok, Subject: acct.Subject, Role: role, ExpiresAt: time.Now().Add(r.tokenTTL).UTC()})
}

func (r *authRoutes) auditSignIn(c *gin.Context, subject string, ok bool) {
	action := "auth.sign_in"
	if !ok {
		action = "auth.sign_in_refused"
	}
	if err := r.trail.AppendAudit(c.Request.Context(), nil, subject, action, "staff:"+subject, map[string]string{"ip": c.ClientIP()}); err != nil {
		r.log.Warn("audit sign-in", "err", err)
	}
}

// AnonymousTokenTTL is the lifetime of an anonymous web-chat visitor's customer token.
const AnonymousTokenTTL = 24 * time.Hour

// chatSession gives an anonymous website visitor a customer token for the chat widget:
// a fresh pseudonymous id ("web:…"), valid for a day. Sites that know their customer
// sign a customer token themselves and pass it to the widget instead.
func (r *authRoutes) chatSession(c *gin.Context) {
	if !r.anonymous {
		r.fail(c, fmt.Errorf("%w: anonymous chat is off; the site must pass a customer token to the widget", errNotFound))
		return
	}
	const ttl = AnonymousTokenTTL
	subject := "web:" + uuid.NewString()
	tok, err := r.auth.Issue(subject, RoleCustomer, ttl)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, SessionToken{Token: tok, Subject: subject, Role: RoleCustomer, ExpiresAt: time.Now().Add(ttl).UTC()})
}
