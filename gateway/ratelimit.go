package gateway

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// RateLimits caps customer traffic. The per-minute budgets live in Redis (GCRA via
// redis_rate), so every replica enforces the same budget; the caps on what is in flight
// at once (requests, WebSockets, speech streams, password checks) are per process. A
// limit of 0 is off.
type RateLimits struct {
	Redis                redis.UniversalClient
	Prefix               string
	PerIPPerMinute       int
	PerCustomerPerMinute int

	// ConcurrentPerIP caps the customer requests (messages, chat sessions) one client IP
	// has in flight at once.
	ConcurrentPerIP int
	// WebSockets open at once per client IP, per signed-in user (customer or staff) and
	// in all.
	WebSocketsPerIP, WebSocketsPerUser, WebSocketsTotal int
	// SpeechStreamsPerIP caps live speech streams (/v1/asr/ws) per client IP; each user
	// has at most one.
	SpeechStreamsPerIP int
	// Console sign-in: attempts per client IP and per user name per minute (Redis; when
	// Redis cannot be asked, sign-in is refused), and password checks at once (0: the
	// number of CPUs).
	LoginPerIPPerMinute, LoginPerUserPerMinute, LoginConcurrency int
}

var errRateLimited = errors.New("rate limit exceeded")

type limitCheck struct {
	key  string
	rate int
}

// limits owns the routes' rate limits: the per-minute budgets in Redis of client IPs and
// customers (limited, limitedIP, allowCustomer, allow), the caps on WebSockets in flight
// (limitedWS), the webhook routes' budget of refused requests (limitedWebhook), and the
// console sign-in's attempts, backoff and password-check slots (checkLogin …). The
// in-process counts are its guards.
type limits struct {
	errorWriter
	rl      RateLimits
	limiter *redis_rate.Limiter // nil without Redis
	guards  *guards
}

// limited wraps a customer-facing handler with the IP and customer limits.
func (l *limits) limited(h gin.HandlerFunc) gin.HandlerFunc { return l.rateLimit(h, true) }

// limitedIP wraps a customer-facing handler without a signed-in customer (anonymous
// chat sessions) with the per-IP limits.
func (l *limits) limitedIP(h gin.HandlerFunc) gin.HandlerFunc { return l.rateLimit(h, false) }

func (l *limits) rateLimit(h gin.HandlerFunc, perCustomer bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		leave, err := l.guards.enterRequest(c.ClientIP(), l.rl.ConcurrentPerIP)
		if err != nil {
			l.fail(c, err)
			return
		}
		defer leave()
		customer := ""
		if perCustomer {
			customer = claimsOf(c).Subject
		}
		if !l.allowed(c, c.ClientIP(), customer) {
			return
		}
		h(c)
	}
}

// allowed is allow that answers the request itself (429 with Retry-After) when a budget
// is spent.
func (l *limits) allowed(c *gin.Context, ip, customer string) bool {
	retry, err := l.allow(c.Request.Context(), ip, customer)
	if err == nil {
		return true
	}
	if retry > 0 {
		c.Header("Retry-After", strconv.Itoa(int(retry.Seconds())))
	}
	l.fail(c, err)
	return false
}

// allowCustomer spends one unit of a channel customer's budget once a webhook is parsed
// (its IP is the channel's, shared by all its customers); over the budget it answers 429.
func (l *limits) allowCustomer(c *gin.Context, customerRef string) bool {
	return l.allowed(c, "", customerRef)
}

// allow spends one unit of the IP's and the customer's budget (each when not empty).
// Over a limit it returns errRateLimited and when to retry; a Redis outage fails open.
func (l *limits) allow(ctx context.Context, ip, customer string) (time.Duration, error) {
	rl := l.rl
	if rl.Redis == nil {
		return 0, nil
	}
	var checks []limitCheck
	if ip != "" {
		checks = append(checks, limitCheck{rl.Prefix + ":ip:" + ip, rl.PerIPPerMinute})
	}
	if customer != "" {
		checks = append(checks, limitCheck{rl.Prefix + ":customer:" + customer, rl.PerCustomerPerMinute})
	}
	for _, chk := range checks {
		if chk.rate <= 0 {
			continue
		}
		res, err := l.limiter.Allow(ctx, chk.key, redis_rate.PerMinute(chk.rate))
		if err != nil {
			l.log.Warn("rate limiter unavailable; request allowed", "err", err)
			continue
		}
		if res.Allowed == 0 {
			retry := max(res.RetryAfter, time.Second).Round(time.Second)
			return retry, fmt.Errorf("%w: %d per minute; retry in %s", errRateLimited, chk.rate, retry)
		}
	}
	return 0, nil
}
