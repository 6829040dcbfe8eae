package testenv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterAddrsEnv names an existing Redis Cluster ("host:port,host:port,…") to use
// instead of starting a private one.
const ClusterAddrsEnv = "SWITCHBOARD_TEST_REDIS_CLUSTER_ADDRS"

var clusterState struct {
	sync.Mutex
	started bool
	cluster *RedisClusterServers
	err     error
	skip    string
}

// RedisCluster returns a client of a 3-master Redis Cluster started once per test
// process from the local redis-server (or the cluster named by ClusterAddrsEnv); Main
// stops the servers after the tests. Without redis-server the test fails in CI and is
// skipped elsewhere. Use ClusterPrefix for keys that do not collide with other tests.
func RedisCluster(t testing.TB) *redis.ClusterClient {
	t.Helper()
	addrs := clusterAddrs(t)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.ForEachShard(ctx, func(ctx context.Context, s *redis.Client) error { return s.Ping(ctx).Err() }); err != nil {
		t.Fatalf("redis cluster %v: %v", addrs, err)
	}
	return c
}

// ClusterPrefix returns a unique key prefix ("c" and random hex) for a test using
// RedisCluster; when the test ends every key containing it is deleted from every node.
func ClusterPrefix(t testing.TB) string {
	t.Helper()
	addrs := clusterAddrs(t)
	prefix := "c" + randHex(8)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, a := range addrs {
			if err := deleteKeysContaining(ctx, a, prefix); err != nil {
				t.Errorf("testenv: delete cluster keys of prefix %s on %s: %v", prefix, a, err)
			}
		}
	})
	return prefix
}

// stopClusters stops the shared cluster's servers and removes their files; it is
// registered with Main's exit hooks when the cluster starts.
func stopClusters() {
	clusterState.Lock()
	defer clusterState.Unlock()
	if clusterState.cluster != nil {
		clusterState.cluster.Stop()
		clusterState.cluster = nil
	}
	clusterState.started = false
}

func clusterAddrs(t testing.TB) []string {
	t.Helper()
	if env := os.Getenv(ClusterAddrsEnv); env != "" {
		return strings.Split(env, ",")
	}
	clusterState.Lock()
	defer clusterState.Unlock()
	if !clusterState.started {
		clusterState.started = true
		onMainExit(func(context.Context) error { stopClusters(); return nil })
		clusterState.cluster, clusterState.skip, clusterState.err = launchCluster(t, ClusterOptions{})
		if clusterState.cluster != nil {
			fmt.Fprintf(os.Stderr, "testenv: started private redis cluster on %s\n", strings.Join(clusterState.cluster.Addrs(), ","))
		}
	}
	if clusterState.skip != "" {
		missing(t, "redis cluster: "+clusterState.skip)
	}
	if clusterState.err != nil {
		t.Fatalf("testenv: redis cluster: %v", clusterState.err)
	}
	return clusterState.cluster.Addrs()
}
