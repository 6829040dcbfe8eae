package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"
	"golang.org/x/crypto/bcrypt"
)

// Sign-in backoff: after loginFreeFailures failed sign-ins in a row, a user name is
// locked for 1 s, then 2 s, 4 s … up to loginMaxBackoff per further failure; a success
// (or an hour without failures) starts over. Unknown user names back off alike, so the
// lock says nothing about which accounts exist.
const (
	loginFreeFailures = 3
	loginMaxBackoff   = 15 * time.Minute
	loginFailureTTL   = time.Hour
	// loginQueueWait is how long a sign-in waits for a password-check slot before 429.
	loginQueueWait = 500 * time.Millisecond
)

// errLoginUnavailable refuses sign-in when its limits cannot be checked (fail closed).
var errLoginUnavailable = fmt.Errorf("%w: sign-in is paused because its rate limiter (Redis) cannot be reached; retry shortly", errBusy)

// loginKeys are the Redis keys of one sign-in attempt; a user name's keys share a hash
// tag, so they sit on one Redis Cluster slot.
type loginKeys struct{ ip, user, failures, lock string }

func (l *limits) loginKeys(ip, user string) loginKeys {
	sum := sha256.Sum256([]byte(strings.ToLower(user)))
	tag := "{" + l.rl.Prefix + ":login:" + hex.EncodeToString(sum[:12]) + "}"
	return loginKeys{ip: l.rl.Prefix + ":login:ip:" + ip, user: tag + ":rate", failures: tag + ":failures", lock: tag + ":lock"}
}

// checkLogin spends one sign-in attempt of the client IP and of the user name, and
// refuses a user name in backoff. Without Redis configured there are no such limits;
// with Redis failing, sign-in is refused.
func (l *limits) checkLogin(c *gin.Context, user string) error {
	rl := l.rl
	if rl.Redis == nil || (rl.LoginPerIPPerMinute <= 0 && rl.LoginPerUserPerMinute <= 0) {
		return nil
	}
	k := l.loginKeys(c.ClientIP(), user)
	for _, chk := range []struct {
		key, limit, what string
		rate             int
	}{{k.ip, "login_ip", "from your address", rl.LoginPerIPPerMinute}, {k.user, "login_user", "for this user name", rl.LoginPerUserPerMinute}} {
		if chk.rate <= 0 {
			continue
		}
		res, err := l.limiter.Allow(c.Request.Context(), chk.key, redis_rate.PerMinute(chk.rate))
		if err != nil {
			l.log.Warn("sign-in refused: rate limiter unavailable", "err", err)
			return l.guards.refuse("login_unavailable", errLoginUnavailable)
		}
		if res.Allowed == 0 {
			retry := max(res.RetryAfter, time.Second).Round(time.Second)
			c.Header("Retry-After", strconv.Itoa(int(retry.Seconds())))
			return l.guards.refuse(chk.limit, fmt.Errorf("%w: at most %d sign-in attempts per minute %s; retry in %s", errRateLimited, chk.rate, chk.what, retry))
		}
	}
	if rl.LoginPerUserPerMinute <= 0 {
		return nil // the backoff goes with the per-user limit
	}
	ttl, err := rl.Redis.PTTL(c.Request.Context(), k.lock).Result()
	if err != nil {
		l.log.Warn("sign-in refused: rate limiter unavailable", "err", err)
		return l.guards.refuse("login_unavailable", errLoginUnavailable)
	}
	if ttl > 0 {
		retry := max(ttl.Round(time.Second), time.Second)
		c.Header("Retry-After", strconv.Itoa(int(retry.Seconds())))
		return l.guards.refuse("login_backoff", fmt.Errorf("%w: too many failed sign-ins for this user name; retry in %s", errRateLimited, retry))
	}
	return nil
}

// loginBackoff is the lock after the n-th failure in a row.
func loginBackoff(n int64) time.Duration {
	if n < loginFreeFailures {
		return 0
	}
	shift := min(n-loginFreeFailures, 20)
	return min(time.Second<<shift, loginMaxBackoff)
}

// loginFailed counts a failed sign-in of user and locks the name for its backoff.
func (l *limits) loginFailed(ctx context.Context, user string) {
	rdb := l.rl.Redis
	if rdb == nil || l.rl.LoginPerUserPerMinute <= 0 {
		return
	}
	k := l.loginKeys("", user)
	n, err := rdb.Incr(ctx, k.failures).Result()
	if err == nil {
		err = rdb.Expire(ctx, k.failures, loginFailureTTL).Err()
	}
	if d := loginBackoff(n); err == nil && d > 0 {
		err = rdb.Set(ctx, k.lock, "1", d).Err()
	}
	if err != nil {
		l.log.Warn("recording a failed sign-in", "err", err)
	}
}

// loginSucceeded clears user's failures.
func (l *limits) loginSucceeded(ctx context.Context, user string) {
	if rdb := l.rl.Redis; rdb != nil && l.rl.LoginPerUserPerMinute > 0 {
		k := l.loginKeys("", user)
		if err := rdb.Del(ctx, k.failures, k.lock).Err(); err != nil {
			l.log.Warn("clearing failed sign-ins", "err", err)
		}
	}
}

// comparePassword runs one bcrypt comparison (about a quarter second of a core) in one of
// the password-check slots; with none free within loginQueueWait it refuses with 429.
func (l *limits) comparePassword(ctx context.Context, hash []byte, password string) (bool, error) {
	wctx, cancel := context.WithTimeout(ctx, loginQueueWait)
	defer cancel()
	if err := l.guards.passwordChecks.Acquire(wctx, 1); err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, l.guards.refuse("login_busy", fmt.Errorf("%w: %d sign-ins are being checked already; retry in a second", errBusy, l.guards.passwordCheckSlots))
	}
	defer l.guards.passwordChecks.Release(1)
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	if err != nil && !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		return false, nil // a malformed stored hash signs no one in
	}
	return err == nil, nil
}
