package gateway

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"
)

// limitedWebhook guards a webhook route. Telegram, Slack and WeCom deliver from a few
// shared addresses, so the per-IP budget (limits.per_ip_per_minute) counts only the
// requests a webhook refuses (bad signature, malformed body, channel off): an address
// that has spent it is refused before its body is read, while a channel's verified
// deliveries are never throttled by address. Each customer's own budget is spent once
// the delivery is parsed (Server.ingest).
func (s *Server) limitedWebhook(h gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		ip := c.ClientIP()
		if retry, refused := s.webhookRefused(c, ip); refused {
			c.Header("Retry-After", strconv.Itoa(int(retry.Seconds())))
			s.fail(c, s.guards.refuse("webhook_failures", fmt.Errorf("%w: too many refused webhook requests from your address; retry in %s", errRateLimited, retry)))
			return
		}
		h(c)
		if st := c.Writer.Status(); st >= 400 && st < 500 && st != http.StatusTooManyRequests {
			s.chargeWebhookFailure(c, ip)
		}
	}
}

func (s *Server) webhookFailureKey(ip string) string {
	return s.opts.Limits.Prefix + ":webhook-refused:" + ip
}

// webhookRefused reports whether ip has spent its budget of refused webhook requests,
// without spending any (a Redis outage lets the request through: signatures still
// protect the route).
func (s *Server) webhookRefused(c *gin.Context, ip string) (time.Duration, bool) {
	rl := s.opts.Limits
	if rl.Redis == nil || rl.PerIPPerMinute <= 0 {
		return 0, false
	}
	res, err := s.limiter.AllowN(c.Request.Context(), s.webhookFailureKey(ip), redis_rate.PerMinute(rl.PerIPPerMinute), 0)
	if err != nil {
		s.log.Warn("rate limiter unavailable; webhook request allowed", "err", err)
		return 0, false
	}
	if res.Remaining >= 1 {
		return 0, false
	}
	return max(time.Minute/time.Duration(rl.PerIPPerMinute), time.Second).Round(time.Second), true
}

// chargeWebhookFailure spends one unit of ip's budget of refused webhook requests.
func (s *Server) chargeWebhookFailure(c *gin.Context, ip string) {
	rl := s.opts.Limits
	if rl.Redis == nil || rl.PerIPPerMinute <= 0 {
		return
	}
	if _, err := s.limiter.Allow(c.Request.Context(), s.webhookFailureKey(ip), redis_rate.PerMinute(rl.PerIPPerMinute)); err != nil {
		s.log.Warn("rate limiter unavailable; a refused webhook request was not counted", "err", err)
	}
}
