package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/internal/safe"
)

// statusSignedOut closes a WebSocket whose token is no longer valid: expired, revoked,
// or from a sign-in that was changed or removed (4401 mirrors HTTP 401; codes 4000–4999
// are the application's).
const statusSignedOut websocket.StatusCode = 4401

// minSocketRecheck bounds how often one socket's token is checked again.
const minSocketRecheck = 100 * time.Millisecond

// sessionGuard checks bearer tokens: a request's on its way in (require: authentication
// and the route's roles), and an open WebSocket's again while it lasts (guardSocket).
type sessionGuard struct {
	errorWriter
	auth     *Auth
	sessions *sessionChecker // revocations and console sign-ins
	recheck  time.Duration   // Options.SessionRecheck
	panics   *safe.Guard     // recovers the socket watchers
}

// guardSocket checks a WebSocket session's token again every SessionRecheck and at its
// expiry, as every HTTP request is checked, and closes the socket with statusSignedOut
// and the reason once the token is no longer valid. A check that cannot be made (the
// database is unreachable) leaves the socket open and is tried again. Call the returned
// stop when the session ends:
//
//	defer guard.guardSocket(c, conn)()
func (g *sessionGuard) guardSocket(c *gin.Context, conn *websocket.Conn) (stop func()) {
	cl := claimsOf(c)
	if cl == nil {
		return func() {}
	}
	route := c.FullPath()
	ctx, cancel := context.WithCancel(c.Request.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		var reason string
		if err := g.panics.Run("socket.token_guard", func() { reason = g.watchToken(ctx, cl) }); err != nil {
			reason = "token check failed"
		}
		if reason != "" {
			g.log.Info("closing a WebSocket whose token is no longer valid", "route", route, "reason", reason)
			_ = conn.Close(statusSignedOut, reason)
		}
	}()
	return func() { cancel(); <-done }
}

// watchToken returns why cl stopped being valid, or "" when ctx ends first.
func (g *sessionGuard) watchToken(ctx context.Context, cl *Claims) string {
	timer := time.NewTimer(g.nextTokenCheck(cl))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ""
		case <-timer.C:
		}
		if cl.ExpiresAt != nil && !time.Now().Before(cl.ExpiresAt.Time) {
			return "token expired"
		}
		err := g.sessions.check(ctx, cl)
		switch {
		case errors.Is(err, errRevoked):
			return "token revoked"
		case errors.Is(err, errSignedOut):
			return "sign-in changed or removed; sign in again"
		case errors.Is(err, errUnauthenticated):
			return "token no longer valid"
		case err != nil && ctx.Err() == nil:
			g.log.Warn("cannot check a WebSocket session's token again; will retry", "err", err)
		}
		timer.Reset(g.nextTokenCheck(cl))
	}
}

// nextTokenCheck is how long until cl is checked again: the recheck interval, or less
// when the token expires sooner.
func (g *sessionGuard) nextTokenCheck(cl *Claims) time.Duration {
	d := max(g.recheck, minSocketRecheck)
	if cl.ExpiresAt != nil {
		d = min(d, time.Until(cl.ExpiresAt.Time))
	}
	return max(d, 0)
}
