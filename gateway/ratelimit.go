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

// RateLimits caps customer traffic per client IP and per customer. The
// counters live in Redis (GCRA via redis_rate), so every replica enforces
// the same budget. A limit of 0 is off.
type RateLimits struct {
	Redis                redis.UniversalClient
	Prefix               string
	PerIPPerMinute       int
	PerCustomerPerMinute int
}

var errRateLimited = errors.New("rate limit exceeded")

type limitCheck struct {
	key  string
	rate int
}

// limited wraps a customer-facing handler with the IP and customer limits.
func (s *Server) limited(h gin.HandlerFunc) gin.HandlerFunc { return s.rateLimit(h, true) }

// limitedIP wraps a webhook with the per-IP limit (customers are only known
// after the signature check and parsing, and are limited by the channel).
func (s *Server) limitedIP(h gin.HandlerFunc) gin.HandlerFunc { return s.rateLimit(h, false) }

func (s *Server) rateLimit(h gin.HandlerFunc, perCustomer bool) gin.HandlerFunc {
	rl := s.opts.Limits
	if rl.Redis == nil || (rl.PerIPPerMinute <= 0 && rl.PerCustomerPerMinute <= 0) {
		return h
	}
	return func(c *gin.Context) {
		customer := ""
		if perCustomer {
			customer = claimsOf(c).Subject
		}
		if retry, err := s.allow(c, c.ClientIP(), customer); err != nil {
			if retry > 0 {
				c.Header("Retry-After", strconv.Itoa(int(retry.Seconds())))
			}
			s.fail(c, err)
			return
		}
		h(c)
	}
}

// allow spends one unit of the IP's and (when not empty) the customer's
// budget. Over a limit it returns errRateLimited and when to retry; a Redis
// outage fails open.
func (s *Server) allow(ctx context.Context, ip, customer string) (time.Duration, error) {
	rl := s.opts.Limits
	if rl.Redis == nil {
		return 0, nil
	}
	checks := []limitCheck{{rl.Prefix + ":ip:" + ip, rl.PerIPPerMinute}}
	if customer != "" {
		checks = append(checks, limitCheck{rl.Prefix + ":customer:" + customer, rl.PerCustomerPerMinute})
	}
	for _, chk := range checks {
		if chk.rate <= 0 {
			continue
		}
		res, err := s.limiter.Allow(ctx, chk.key, redis_rate.PerMinute(chk.rate))
		if err != nil {
			s.log.Warn("rate limiter unavailable; request allowed", "err", err)
			continue
		}
		if res.Allowed == 0 {
			retry := max(res.RetryAfter, time.Second).Round(time.Second)
			return retry, fmt.Errorf("%w: %d per minute; retry in %s", errRateLimited, chk.rate, retry)
		}
	}
	return 0, nil
}
