package testenv

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// TestPrivateRedisClusterKillRestart: a killed master takes its slots down, then (its
// failure detected, with no replica to promote) the whole cluster; restarted, it
// rejoins under its node id and port owning the same slots, empty, while the other
// masters kept their keys.
func TestPrivateRedisClusterKillRestart(t *testing.T) {
	ctx := context.Background()
	c := PrivateRedisCluster(t, ClusterOptions{NodeTimeout: time.Second})
	addrs := c.Addrs()
	if len(addrs) != clusterNodes {
		t.Fatalf("Addrs() = %v, want %d nodes", addrs, clusterNodes)
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, MaxRedirects: 1})
	defer rdb.Close()
	// one key on each node
	keys := map[int]string{}
	for k := 0; len(keys) < clusterNodes && k < 1000; k++ {
		key := fmt.Sprintf("{k%d}", k)
		if i := c.NodeOf(t, key); keys[i] == "" {
			keys[i] = key
			if err := rdb.Set(ctx, key, "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(keys) != clusterNodes {
		t.Fatalf("keys %v do not cover every node", keys)
	}
	const victim = 1
	id := nodeID(t, addrs[victim])

	c.Kill(victim)
	if err := rdb.Get(ctx, keys[victim]).Err(); err == nil {
		t.Errorf("GET of a key on the killed node succeeded")
	}
	c.WaitFailed(t, 20*time.Second)
	if err := rdb.Get(ctx, keys[0]).Err(); err == nil {
		t.Errorf("GET on a live master succeeded while the cluster is failed; want CLUSTERDOWN")
	}

	c.Restart(t, victim)
	c.WaitOK(t, 30*time.Second)
	if got := c.Addrs(); !cmp.Equal(got, addrs) {
		t.Errorf("addresses after restart %v, want %v", got, addrs)
	}
	if got := nodeID(t, addrs[victim]); got != id {
		t.Errorf("restarted node is %s, want %s (its nodes-*.conf)", got, id)
	}
	if got := c.NodeOf(t, keys[victim]); got != victim {
		t.Errorf("key %s is served by node %d after the restart, want %d", keys[victim], got, victim)
	}
	got := map[string]string{}
	for _, key := range keys {
		v, err := rdb.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			v = "(none)"
		} else if err != nil {
			t.Fatalf("GET %s after the restart: %v", key, err)
		}
		got[key] = v
	}
	want := map[string]string{keys[0]: "v", keys[victim]: "(none)", keys[2]: "v"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("keys after the restart (-want +got):\n%s", diff)
	}

	c.Stop()
	c.Stop()
	for _, a := range addrs {
		if probeRedis(ctx, a, time.Second) == nil {
			t.Errorf("cluster node %s still answers after Stop", a)
		}
	}
}

func nodeID(t *testing.T, addr string) string {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	id, err := rdb.Do(context.Background(), "CLUSTER", "MYID").Text()
	if err != nil {
		t.Fatal(err)
	}
	return id
}
