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
func (l *limits) limitedWebhook(h gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		ip := c.ClientIP()
		if retry, refused := l.webhookRefused(c, ip); refused {
			c.Header("Retry-After", strconv.Itoa(int(retry.Seconds())))
			l.fail(c, l.guards.refuse("webhook_failures", fmt.Errorf("%w: too many refused webhook requests from your address; retry in %s", errRateLimited, retry)))
			return
		}
		h(c)
		if st := c.Writer.Status(); st >= 400 && st < 500 && st != http.StatusTooManyRequests {
			l.chargeWebhookFailure(c, ip)
		}
	}
}

func (l *limits) webhookFailureKey(ip string) string {
	return l.rl.Prefix + ":webhook-refused:" + ip
}

// webhookRefused reports whether ip has spent its budget of refused webhook requests,
// without spending any (a Redis outage lets the request through: signatures still
// protect the route).
func (l *limits) webhookRefused(c *gin.Context, ip string) (time.Duration, bool) {
	rl := l.rl
	if rl.Redis == nil || rl.PerIPPerMinute <= 0 {
		return 0, false
	}
	res, err := l.limiter.AllowN(c.Request.Context(), l.webhookFailureKey(ip), redis_rate.PerMinute(rl.PerIPPerMinute), 0)
	if err != nil {
		l.log.Warn("rate limiter unavailable; webhook request allowed", "err", err)
		return 0, false
	}
	if res.Remaining >= 1 {
		return 0, false
	}
	return max(time.Minute/time.Duration(rl.PerIPPerMinute), time.Second).Round(time.Second), true
}

// chargeWebhookFailure spends one unit of ip's budget of refused webhook requests.
func (l *limits) chargeWebhookFailure(c *gin.Context, ip string) {
	rl := l.rl
	if rl.Redis == nil || rl.PerIPPerMinute <= 0 {
		return
	}
	if _, err := l.limiter.Allow(c.Request.Context(), l.webhookFailureKey(ip), redis_rate.PerMinute(rl.PerIPPerMinute)); err != nil {
		l.log.Warn("rate limiter unavailable; a refused webhook request was not counted", "err", err)
	}
}
