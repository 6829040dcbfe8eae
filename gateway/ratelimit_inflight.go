package gateway

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"
)

// guards are the server's in-process limits on what runs at once: customer requests per
// client IP, WebSockets per IP, per user and in all, live speech streams per IP and per
// user, and concurrent password checks. Refusals are counted by limit.
type guards struct {
	requestsByIP       gate
	socketsByIP        gate
	socketsByUser      gate
	sockets            gate
	streamsByIP        gate
	streamsByUser      gate
	passwordChecks     *semaphore.Weighted
	passwordCheckSlots int
	refused            *prometheus.CounterVec
}

func newGuards(rl RateLimits, reg prometheus.Registerer) *guards {
	slots := rl.LoginConcurrency
	if slots <= 0 {
		slots = runtime.NumCPU()
	}
	g := &guards{passwordChecks: semaphore.NewWeighted(int64(slots)), passwordCheckSlots: slots,
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_limit_refusals_total",
			Help: "Requests refused by a limit: requests_per_ip, websockets_per_ip, websockets_per_user, websockets_total, " +
				"speech_streams_per_ip, speech_streams_per_user, login_ip, login_user, login_backoff, login_busy, " +
				"login_unavailable, webhook_failures."}, []string{"limit"})}
	reg.MustRegister(g.refused)
	return g
}

// gate counts what is in flight per key.
type gate struct {
	mu sync.Mutex
	n  map[string]int
}

// enter takes a place for key when fewer than limit are in flight (limit ≤ 0: always);
// leave gives it back (once, however often it is called).
func (g *gate) enter(key string, limit int) (leave func(), ok bool) {
	if limit <= 0 {
		return func() {}, true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n[key] >= limit {
		return nil, false
	}
	if g.n == nil {
		g.n = map[string]int{}
	}
	g.n[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			if g.n[key]--; g.n[key] <= 0 {
				delete(g.n, key)
			}
		})
	}, true
}

// refuse counts a refusal by limit and returns err.
func (g *guards) refuse(limit string, err error) error {
	g.refused.WithLabelValues(limit).Inc()
	return err
}

// enterRequest takes one of the client IP's places for a customer request.
func (g *guards) enterRequest(ip string, limit int) (func(), error) {
	leave, ok := g.requestsByIP.enter(ip, limit)
	if !ok {
		return nil, g.refuse("requests_per_ip", fmt.Errorf("%w: %d requests from your address are already in progress; wait for them to finish", errRateLimited, limit))
	}
	return leave, nil
}

// enterSocket takes a WebSocket place for the client IP, the user and the server.
func (g *guards) enterSocket(ip, user string, rl RateLimits) (func(), error) {
	byIP, ok := g.socketsByIP.enter(ip, rl.WebSocketsPerIP)
	if !ok {
		return nil, g.refuse("websockets_per_ip", fmt.Errorf("%w: %d WebSockets are already open from your address", errRateLimited, rl.WebSocketsPerIP))
	}
	byUser, ok := g.socketsByUser.enter(user, rl.WebSocketsPerUser)
	if !ok {
		byIP()
		return nil, g.refuse("websockets_per_user", fmt.Errorf("%w: you already have %d WebSockets open; close one first", errRateLimited, rl.WebSocketsPerUser))
	}
	all, ok := g.sockets.enter("", rl.WebSocketsTotal)
	if !ok {
		byIP()
		byUser()
		return nil, g.refuse("websockets_total", fmt.Errorf("%w: the server has its limit of %d WebSockets open; retry in a minute", errBusy, rl.WebSocketsTotal))
	}
	return func() { all(); byUser(); byIP() }, nil
}

// enterStream takes a live speech stream place: one per user, a few per IP.
func (g *guards) enterStream(ip, user string, perIP int) (func(), error) {
	byUser, ok := g.streamsByUser.enter(user, 1)
	if !ok {
		return nil, g.refuse("speech_streams_per_user", fmt.Errorf("%w: you already have a live speech stream open; one at a time", errRateLimited))
	}
	byIP, ok := g.streamsByIP.enter(ip, perIP)
	if !ok {
		byUser()
		return nil, g.refuse("speech_streams_per_ip", fmt.Errorf("%w: %d live speech streams are already open from your address", errRateLimited, perIP))
	}
	return func() { byIP(); byUser() }, nil
}

// limitedWS wraps a WebSocket route (the handler returns when its socket closes) with
// the WebSocket caps; over one, the upgrade is refused with 429 as plain HTTP.
func (l *limits) limitedWS(h gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		leave, err := l.guards.enterSocket(c.ClientIP(), userOf(c), l.rl)
		if err != nil {
			l.fail(c, err)
			return
		}
		defer leave()
		h(c)
	}
}

// userOf is the signed-in user's subject ("" on a public route).
func userOf(c *gin.Context) string {
	if cl := claimsOf(c); cl != nil {
		return cl.Subject
	}
	return ""
}
