package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cs/switchboard/internal/embedded"
)

const envRedisAddr = "SWITCHBOARD_TEST_REDIS_ADDR"

// defaultRedisAddr is the local server tried when SWITCHBOARD_TEST_REDIS_ADDR is unset (a
// variable so tests can force the private-server path).
var defaultRedisAddr = "127.0.0.1:6379"

var sharedRedis struct {
	once sync.Once
	addr string
	err  error
}

// RedisAddr returns the host:port of the Redis shared by the tests of this process. Other
// tests use it at the same time: confine keys to a prefix from Redis, and use PrivateRedis
// for FLUSHALL or restarts.
func RedisAddr(t testing.TB) string {
	t.Helper()
	sharedRedis.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		var stop func(context.Context) error
		sharedRedis.addr, stop, sharedRedis.err = resolveRedis(ctx)
		if stop != nil {
			onMainExit(stop)
		}
	})
	if sharedRedis.err != nil {
		unavailable(t, sharedRedis.err)
	}
	return sharedRedis.addr
}

// Redis returns a client to the shared Redis and a unique key prefix ("t" and random hex)
// for this test. When the test ends every key containing the prefix (hash-tagged keys such
// as "{<prefix>:q}" included) is deleted and the client closed.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	addr := RedisAddr(t)
	client := redis.NewClient(&redis.Options{Addr: addr})
	prefix := "t" + randHex(8)
	t.Cleanup(func() {
		_ = client.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := deleteKeysContaining(ctx, addr, prefix); err != nil {
			t.Errorf("testenv: delete keys of prefix %s: %v", prefix, err)
		}
	})
	return client, prefix
}

// Miniredis returns an in-process Redis and a client to it, both closed when the test ends.
func Miniredis(t testing.TB) (*miniredis.Miniredis, *redis.Client) {
	t.Helper()
	mr := miniredis.RunT(t)
	client := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = client.Close() })
	return mr, client
}

// deleteKeysContaining removes every key whose name contains part, through its own client
// (the test may already have closed the one it was given).
func deleteKeysContaining(ctx context.Context, addr, part string) error {
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	iter := client.Scan(ctx, 0, "*"+part+"*", 1000).Iterator()
	batch := make([]string, 0, 256)
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == cap(batch) {
			if err := client.Unlink(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return client.Unlink(ctx, batch...).Err()
	}
	return nil
}

// resolveRedis finds the shared Redis: SWITCHBOARD_TEST_REDIS_ADDR, else the local default,
// else a private redis-server started from the local binary, which stop (nil otherwise) ends.
func resolveRedis(ctx context.Context) (addr string, stop func(context.Context) error, err error) {
	if addr := os.Getenv(envRedisAddr); addr != "" {
		if err := probeRedis(ctx, addr, explicitProbeTimeout); err != nil {
			return "", nil, fmt.Errorf("%s=%s is set but Redis there is not usable: %w", envRedisAddr, addr, err)
		}
		return addr, nil, nil
	}
	if probeRedis(ctx, defaultRedisAddr, probeTimeout) == nil {
		return defaultRedisAddr, nil, nil
	}
	srv, stop, err := startPrivateRedis(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("no Redis answers at %s (set %s to use another) and no private one could be started: %w",
			defaultRedisAddr, envRedisAddr, err)
	}
	fmt.Fprintf(os.Stderr, "testenv: started private redis-server on %s\n", srv.Addr)
	return srv.Addr, stop, nil
}

// probeRedis reports whether addr answers PING within timeout.
func probeRedis(ctx context.Context, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := dialable(ctx, addr); err != nil {
		return err
	}
	client := redis.NewClient(&redis.Options{
		Addr: addr, DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout,
		MaxRetries: -1, DialerRetries: 1,
	})
	defer client.Close()
	return client.Ping(ctx).Err()
}

// dialable checks that addr accepts TCP connections before go-redis is asked to (go-redis
// logs every failed dial, which would litter the test output while a server starts).
func dialable(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// startPrivateRedis starts a redis-server for the whole process in a new temporary
// directory; stop ends it and removes the directory.
func startPrivateRedis(ctx context.Context) (*RedisServer, func(context.Context) error, error) {
	bin, err := embedded.FindRedisServer()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "switchboard-testredis-")
	if err != nil {
		return nil, nil, err
	}
	srv, err := launchRedis(ctx, bin, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, err
	}
	stop := func(context.Context) error {
		srv.Stop()
		return os.RemoveAll(dir)
	}
	return srv, stop, nil
}
