package tickets

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// lease takes the router's lease called name for ttl and reports whether this caller
// got it; nobody else gets it until it expires. Sweeps that one replica should run per
// interval (presence, reconciliation) take it at each tick and let it expire.
func (r *RedisRouter) lease(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	token := strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatUint(lockSeq.Add(1), 36)
	ok, err := r.rdb.SetNX(ctx, r.tag+"lease:"+name, token, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("router lease %s: %w", name, err)
	}
	return ok, nil
}

// runLeased runs fn at once and then every interval until ctx ends, each time only if
// this process holds the lease name for that interval. Errors are logged.
func runLeased(ctx context.Context, r *RedisRouter, log *slog.Logger, name string, every time.Duration, fn func(context.Context) error) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		// Held a little less than the interval, so the next tick (here or elsewhere) finds it free.
		ok, err := r.lease(ctx, name, max(every*9/10, time.Millisecond))
		if err == nil && ok {
			err = fn(ctx)
		}
		if err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "routing "+name+" sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
