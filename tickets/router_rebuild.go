package tickets

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// rebuildLockTTL bounds how long a crashed rebuilder can block the others.
const rebuildLockTTL = 30 * time.Second

// Rebuild replaces the router's state with snap: it deletes the router's keys, writes
// the agents (load = their Assigned tickets), the assignments and the wait sets, and
// sets the epoch key last. It holds the rebuild lock, waiting for a concurrent rebuild.
func (r *RedisRouter) Rebuild(ctx context.Context, snap RouterSnapshot) error {
	for {
		token, ok, err := r.tryLock(ctx)
		if err != nil {
			return err
		}
		if ok {
			defer r.unlock(token)
			return r.rebuildLocked(ctx, snap)
		}
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			return fmt.Errorf("router rebuild: %w", err)
		}
	}
}

// restoreFrom rebuilds a missing routing state from source, read under the rebuild
// lock once the state is known to be missing: no routing decision runs between the
// read and the rebuild (scripts answer NOSTATE without the epoch, and wait for it), so
// what is written is PostgreSQL as of the rebuild — a ticket resolved and released a
// moment before cannot come back into its agent's slot. A state another process
// rebuilt first is kept (rebuilt false). It returns the snapshot it rebuilt from.
func (r *RedisRouter) restoreFrom(ctx context.Context, source func(context.Context) (RouterSnapshot, error)) (snap RouterSnapshot, rebuilt bool, err error) {
	for {
		token, ok, err := r.tryLock(ctx)
		if err != nil {
			return snap, false, err
		}
		if !ok {
			if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
				return snap, false, fmt.Errorf("router restore: %w", err)
			}
			continue
		}
		defer r.unlock(token)
		n, err := r.rdb.Exists(ctx, r.epoch).Result()
		if err != nil || n == 1 {
			return snap, false, err
		}
		if snap, err = source(ctx); err != nil {
			return snap, false, fmt.Errorf("router snapshot: %w", err)
		}
		return snap, true, r.rebuildLocked(ctx, snap)
	}
}

// recoverState restores a lost state from opts.Snapshot. Of several processes that
// see NOSTATE together, the lock holder rebuilds and the others wait for the epoch.
func (r *RedisRouter) recoverState(ctx context.Context) error {
	for {
		token, ok, err := r.tryLock(ctx)
		if err != nil {
			return err
		}
		if ok {
			defer r.unlock(token)
			return r.rebuildIfMissing(ctx)
		}
		built, err := r.waitEpoch(ctx)
		if err != nil || built {
			return err
		}
	}
}

func (r *RedisRouter) rebuildIfMissing(ctx context.Context) error {
	n, err := r.rdb.Exists(ctx, r.epoch).Result()
	if err != nil || n == 1 {
		return err // someone else rebuilt between our NOSTATE and taking the lock
	}
	snap, err := r.opts.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("router snapshot: %w", err)
	}
	return r.rebuildLocked(ctx, snap)
}

// waitEpoch polls until the epoch exists (true) or the rebuild lock is gone (false).
func (r *RedisRouter) waitEpoch(ctx context.Context) (bool, error) {
	for {
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			return false, fmt.Errorf("waiting for rebuild: %w", err)
		}
		n, err := r.rdb.Exists(ctx, r.epoch).Result()
		if err != nil || n == 1 {
			return n == 1, err
		}
		if l, err := r.rdb.Exists(ctx, r.lock).Result(); err != nil || l == 0 {
			return false, err
		}
	}
}

func (r *RedisRouter) tryLock(ctx context.Context) (string, bool, error) {
	token := strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatUint(lockSeq.Add(1), 36)
	ok, err := r.rdb.SetNX(ctx, r.lock, token, rebuildLockTTL).Result()
	if err != nil {
		return "", false, fmt.Errorf("router rebuild lock: %w", err)
	}
	return token, ok, nil
}

var lockSeq atomic.Uint64

func (r *RedisRouter) unlock(token string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := scriptUnlock.Run(ctx, r.rdb, []string{r.lock}, token).Err(); err != nil {
		r.opts.Logger.Warn("router rebuild unlock failed", "err", err)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (r *RedisRouter) rebuildLocked(ctx context.Context, snap RouterSnapshot) error {
	if err := validateSnapshot(snap); err != nil {
		return err
	}
	if _, err := r.evalOnce(ctx, scriptWipe, nil); err != nil {
		return fmt.Errorf("router rebuild wipe: %w", err)
	}
	b := &rebuildBatch{ctx: ctx, pipe: r.rdb.Pipeline()}
	r.writeAgents(b, snap)
	for _, a := range snap.Assigned {
		b.add(b.pipe.HSet(ctx, r.tag+"asg", a.TicketID, a.AgentID))
	}
	r.writeWaiting(b, snap.Waiting)
	if err := b.flush(); err != nil {
		return fmt.Errorf("router rebuild: %w", err)
	}
	if err := r.rdb.Set(ctx, r.epoch, r.opts.Now().UnixMilli(), 0).Err(); err != nil {
		return fmt.Errorf("router rebuild epoch: %w", err)
	}
	if err := r.rdb.Del(ctx, r.staleKey()).Err(); err != nil {
		return fmt.Errorf("router rebuild: %w", err)
	}
	r.opts.Logger.InfoContext(ctx, "routing state rebuilt", "prefix", r.opts.Prefix,
		"agents", len(snap.Agents), "waiting", len(snap.Waiting), "assigned", len(snap.Assigned))
	return nil
}

// dropState deletes every key of the router (tests and the benchmark clean up with it).
func (r *RedisRouter) dropState(ctx context.Context) error {
	if _, err := r.evalOnce(ctx, scriptWipe, nil); err != nil {
		return err
	}
	return r.rdb.Del(ctx, r.epoch, r.tag+"seq", r.lock, r.staleKey(), r.presenceKey(), r.presenceSinceKey(), r.tag+"lease:presence", r.tag+"lease:reconcile").Err()
}

// EnsureState builds the routing state from the Snapshot source when Redis
// has none (first start, flush, restart) and leaves existing state alone, so
// a starting instance never wipes the decisions of running ones.
func (r *RedisRouter) EnsureState(ctx context.Context) error {
	n, err := r.rdb.Exists(ctx, r.epoch).Result()
	if err != nil || n == 1 {
		return err
	}
	if r.opts.Snapshot == nil {
		return fmt.Errorf("router has no state and no snapshot source: %w", ErrNoState)
	}
	return r.recoverState(ctx)
}

// Invalidate marks the routing state stale: the next call rebuilds it from
// the Snapshot source (PostgreSQL). Callers use it when Redis and
// PostgreSQL may disagree, e.g. after a failed write that followed a routing
// decision.
func (r *RedisRouter) Invalidate(ctx context.Context) error {
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, r.staleKey(), r.opts.Now().UnixMilli(), 0)
		p.Del(ctx, r.epoch)
		return nil
	})
	return err
}

// staleKey marks a state removed on purpose by Invalidate (rebuilding it is routine),
// as opposed to one Redis lost (a flush or a restart without persistence).
func (r *RedisRouter) staleKey() string { return r.tag + "stale" }

// logRebuild says why the state is rebuilt: at info level after an Invalidate or when
// there never was one, as a warning when Redis lost it.
func (r *RedisRouter) logRebuild(ctx context.Context, op string) {
	n, err := r.rdb.Exists(ctx, r.staleKey()).Result()
	if err == nil && n == 1 {
		r.opts.Logger.InfoContext(ctx, "routing state invalidated by a change; rebuilding it from PostgreSQL", "prefix", r.opts.Prefix, "op", op)
		return
	}
	r.opts.Logger.WarnContext(ctx, "routing state missing; rebuilding", "prefix", r.opts.Prefix, "op", op)
}
