package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// TicketCache is a cache-aside copy of ticket details in Redis. Every entry
// carries the ticket version; a write raises a per-ticket version floor and
// drops older entries, and a fill below the floor is refused, so a reader
// that loaded a ticket just before an update cannot put the old copy back.
//
// An invalidation Redis does not take (unreachable, or a cluster that lost a master and
// refuses commands) is kept in memory and written again by RetryInvalidations: a Redis
// Cluster that loses one master keeps the other masters' entries, which would
// otherwise serve a ticket as it was before the write until their TTL. Until then
// this process does not read those tickets from the cache.
type TicketCache struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration

	mu        sync.Mutex
	unwritten map[string]int64 // ticket → the highest version whose invalidation Redis did not take
}

// maxUnwritten bounds the tickets whose invalidations are kept for RetryInvalidations;
// the cached copies of further ones are left to expire with their TTL.
const maxUnwritten = 100_000

// NewTicketCache returns a cache whose keys start with {prefix:t:<id>}.
func NewTicketCache(rdb redis.UniversalClient, prefix string, ttl time.Duration) *TicketCache {
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	return &TicketCache{rdb: rdb, prefix: prefix, ttl: ttl, unwritten: map[string]int64{}}
}

// TTL returns how long an entry lives.
func (c *TicketCache) TTL() time.Duration { return c.ttl }

func (c *TicketCache) keys(id string) []string {
	tag := "{" + c.prefix + ":t:" + id + "}"
	return []string{tag + ":c", tag + ":v"}
}

var cacheFill = redis.NewScript(`
local floor = tonumber(redis.call('GET', KEYS[2]) or '0')
local v = tonumber(ARGV[1])
if v < floor then return 0 end
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if cur >= v then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`)

var cacheInvalidate = redis.NewScript(`
local v = tonumber(ARGV[1])
local floor = tonumber(redis.call('GET', KEYS[2]) or '0')
if v > floor then redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2]) end
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if cur < v then redis.call('DEL', KEYS[1]) end
return 1`)

// Get returns the cached ticket, if any (none while an invalidation of it is unwritten).
func (c *TicketCache) Get(ctx context.Context, id string) (Ticket, bool, error) {
	if c.isUnwritten(id) {
		return Ticket{}, false, nil
	}
	data, err := c.rdb.HGet(ctx, c.keys(id)[0], "d").Bytes()
	if errors.Is(err, redis.Nil) {
		return Ticket{}, false, nil
	}
	if err != nil {
		return Ticket{}, false, fmt.Errorf("ticket cache get: %w", err)
	}
	var t Ticket
	if err := json.Unmarshal(data, &t); err != nil {
		return Ticket{}, false, fmt.Errorf("ticket cache decode: %w", err)
	}
	return t, true, nil
}

// Fill stores t unless the cache already knows a newer version; it reports
// whether it stored.
func (c *TicketCache) Fill(ctx context.Context, t Ticket) (bool, error) {
	data, err := json.Marshal(t)
	if err != nil {
		return false, err
	}
	n, err := cacheFill.Run(ctx, c.rdb, c.keys(t.ID), t.Version, data, c.ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("ticket cache fill: %w", err)
	}
	return n == 1, nil
}

// Invalidate records that version is now current and drops older copies. When Redis
// does not take it, it is kept for RetryInvalidations and the error returned.
func (c *TicketCache) Invalidate(ctx context.Context, id string, version int64) error {
	if err := c.invalidate(ctx, id, version); err != nil {
		c.keepUnwritten(id, version)
		return err
	}
	return nil
}

// RetryInvalidations writes the invalidations Redis did not take, and stops at the
// first it still refuses.
func (c *TicketCache) RetryInvalidations(ctx context.Context) error {
	c.mu.Lock()
	pending := maps.Clone(c.unwritten)
	c.mu.Unlock()
	for id, version := range pending {
		if err := c.invalidate(ctx, id, version); err != nil {
			return err
		}
		c.mu.Lock()
		if c.unwritten[id] == version {
			delete(c.unwritten, id)
		}
		c.mu.Unlock()
	}
	return nil
}

// Unwritten is the number of invalidations waiting for RetryInvalidations.
func (c *TicketCache) Unwritten() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.unwritten)
}

func (c *TicketCache) invalidate(ctx context.Context, id string, version int64) error {
	err := cacheInvalidate.Run(ctx, c.rdb, c.keys(id), strconv.FormatInt(version, 10), c.ttl.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("ticket cache invalidate: %w", err)
	}
	return nil
}

func (c *TicketCache) keepUnwritten(id string, version int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.unwritten[id]; !ok && len(c.unwritten) >= maxUnwritten {
		return
	}
	c.unwritten[id] = max(c.unwritten[id], version)
}

func (c *TicketCache) isUnwritten(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.unwritten[id]
	return ok
}
