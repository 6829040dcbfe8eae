package testenv

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

func TestRedisPrefixCleanup(t *testing.T) {
	ctx := context.Background()
	other := redis.NewClient(&redis.Options{Addr: RedisAddr(t)})
	defer other.Close()
	var prefix string
	t.Run("use", func(t *testing.T) {
		var client *redis.Client
		client, prefix = Redis(t)
		if !strings.HasPrefix(prefix, "t") || len(prefix) < 9 {
			t.Fatalf("prefix = %q", prefix)
		}
		for _, k := range []string{prefix + ":a", "{" + prefix + ":grp}:q", "x:" + prefix} {
			if err := client.Set(ctx, k, "v", time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := other.Set(ctx, "keep:"+prefix[:5], "v", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		client.Close() // cleanup must still work after the test closed its client
	})
	defer other.Del(ctx, "keep:"+prefix[:5])
	left, err := other.Keys(ctx, "*"+prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{}, left); diff != "" {
		t.Errorf("keys left after cleanup (-want +got):\n%s", diff)
	}
	if n := other.Exists(ctx, "keep:"+prefix[:5]).Val(); n != 1 {
		t.Errorf("cleanup deleted a key outside the prefix")
	}
}

func TestRedisPrefixesDiffer(t *testing.T) {
	_, a := Redis(t)
	_, b := Redis(t)
	if a == b {
		t.Errorf("two calls returned prefix %s", a)
	}
}

func TestMiniredis(t *testing.T) {
	mr, client := Miniredis(t)
	if err := client.Set(context.Background(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := mr.Get("k"); err != nil || got != "v" {
		t.Errorf("miniredis Get = %q, %v", got, err)
	}
}

func TestPrivateRedisRestartLosesData(t *testing.T) {
	ctx := context.Background()
	srv := PrivateRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer client.Close()
	if err := client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := client.FlushAll(ctx).Err(); err != nil { // private: FLUSHALL is safe here
		t.Fatal(err)
	}
	if err := client.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr
	srv.Restart(t)
	if srv.Addr != addr {
		t.Errorf("address changed on restart: %s -> %s", addr, srv.Addr)
	}
	_, err := client.Get(ctx, "k").Result()
	if !errors.Is(err, redis.Nil) {
		t.Errorf("Get after restart = %v, want redis.Nil (no persistence)", err)
	}
	srv.Stop()
	srv.Stop()
	if probeRedis(ctx, srv.Addr, time.Second) == nil {
		t.Errorf("private redis still answers after Stop")
	}
}

func TestResolveRedisRejectsUnreachableExplicitAddr(t *testing.T) {
	t.Setenv(envRedisAddr, "127.0.0.1:1")
	_, _, err := resolveRedis(context.Background())
	if err == nil || !strings.Contains(err.Error(), envRedisAddr) {
		t.Fatalf("resolveRedis = %v, want an error naming %s", err, envRedisAddr)
	}
}

// TestResolveRedisStartsPrivateServer forces the path taken when no Redis answers: a
// private redis-server started from the local binary, ended (files removed) by stop.
func TestResolveRedisStartsPrivateServer(t *testing.T) {
	t.Setenv(envRedisAddr, "")
	saved := defaultRedisAddr
	defaultRedisAddr = "127.0.0.1:1"
	t.Cleanup(func() { defaultRedisAddr = saved })
	ctx := context.Background()
	addr, stop, err := resolveRedis(ctx)
	if err != nil {
		unavailable(t, err)
	}
	if stop == nil || addr == saved {
		t.Fatalf("resolveRedis did not start a private server (addr %s)", addr)
	}
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	var dir string
	for _, line := range strings.Split(client.ConfigGet(ctx, "dir").Val()["dir"], "\n") {
		dir = strings.TrimSpace(line)
	}
	if save := client.ConfigGet(ctx, "save").Val()["save"]; save != "" {
		t.Errorf("private redis has save %q, want persistence off", save)
	}
	if err := stop(ctx); err != nil {
		t.Fatal(err)
	}
	if probeRedis(ctx, addr, time.Second) == nil {
		t.Errorf("private redis still answers after stop")
	}
	if _, err := os.Stat(dir); dir == "" || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory %q not removed: %v", dir, err)
	}
}
