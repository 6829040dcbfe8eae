package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cs/switchboard/internal/embedded"
)

// ClusterAddrsEnv names an existing Redis Cluster ("host:port,host:port,…") to use
// instead of starting a private one.
const ClusterAddrsEnv = "SWITCHBOARD_TEST_REDIS_CLUSTER_ADDRS"

// clusterNodes is the number of masters of the private cluster (no replicas).
const clusterNodes = 3

var clusterState struct {
	sync.Mutex
	started bool
	addrs   []string
	err     error
	skip    string
	procs   []*exec.Cmd
	dir     string
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

// stopClusters stops the cluster servers this process started and removes their
// files; it is registered with Main's exit hooks when the cluster starts.
func stopClusters() {
	clusterState.Lock()
	defer clusterState.Unlock()
	stopClusterLocked()
	clusterState.started = false
}

// stopClusterLocked stops the started cluster servers and removes their files; the
// caller holds clusterState's lock.
func stopClusterLocked() {
	for _, p := range clusterState.procs {
		if p.Process != nil {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, p := range clusterState.procs {
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
	clusterState.procs = nil
	if clusterState.dir != "" {
		_ = os.RemoveAll(clusterState.dir)
		clusterState.dir = ""
	}
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
		// A start can fail on a port another test process took between FreePort and the
		// server's bind (packages test in parallel), or on a node that never learns of
		// all the others: start anew on fresh ports, three times at most.
		for attempt := 1; attempt <= 3; attempt++ {
			clusterState.addrs, clusterState.skip, clusterState.err = startCluster(t)
			if clusterState.err == nil || clusterState.skip != "" {
				break
			}
			clusterState.err = fmt.Errorf("attempt %d of 3: %w%s", attempt, clusterState.err, nodeLogTails(clusterState.dir))
			fmt.Fprintf(os.Stderr, "testenv: redis cluster: %v\n", clusterState.err)
			stopClusterLocked()
		}
		if clusterState.err == nil && clusterState.skip == "" {
			fmt.Fprintf(os.Stderr, "testenv: started private redis cluster on %s\n", strings.Join(clusterState.addrs, ","))
		}
	}
	if clusterState.skip != "" {
		missing(t, "redis cluster: "+clusterState.skip)
	}
	if clusterState.err != nil {
		t.Fatalf("testenv: redis cluster: %v", clusterState.err)
	}
	return clusterState.addrs
}

// startCluster runs under clusterState's lock; it records the processes it starts so
// stopClusters can stop them even when a later step fails.
func startCluster(t testing.TB) (addrs []string, skip string, err error) {
	server, err := embedded.FindRedisServer()
	if err != nil {
		return nil, err.Error(), nil
	}
	cli := filepath.Join(filepath.Dir(server), "redis-cli")
	if _, err := os.Stat(cli); err != nil {
		if cli, err = exec.LookPath("redis-cli"); err != nil {
			return nil, "redis-cli (needed to create a cluster) was not found beside " + server + " or on PATH", nil
		}
	}
	dir, err := os.MkdirTemp("", "switchboard-redis-cluster-")
	if err != nil {
		return nil, "", err
	}
	clusterState.dir = dir
	for i := 0; i < clusterNodes; i++ {
		port, bus := FreePort(t), FreePort(t)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if err := startClusterNode(server, dir, port, bus); err != nil {
			return nil, "", err
		}
		addrs = append(addrs, addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, a := range addrs {
		if err := waitNode(ctx, a, func(c *redis.Client) error { return c.Ping(ctx).Err() }); err != nil {
			return nil, "", fmt.Errorf("node %s did not start (logs in %s): %w", a, dir, err)
		}
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("redis-cli --cluster create: %v: %s", err, out)
	}
	for _, a := range addrs {
		if err := waitNode(ctx, a, clusterReady); err != nil {
			return nil, "", fmt.Errorf("node %s: cluster not ready: %w", a, err)
		}
	}
	return addrs, "", nil
}

func startClusterNode(server, dir string, port, bus int) error {
	p := strconv.Itoa(port)
	cmd := exec.Command(server,
		"--port", p, "--bind", "127.0.0.1", "--dir", dir,
		"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus),
		"--cluster-config-file", filepath.Join(dir, "nodes-"+p+".conf"),
		"--save", "", "--appendonly", "no",
		"--logfile", filepath.Join(dir, "redis-"+p+".log"))
	// The kernel kills the node if this test process dies without running stopClusters.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(cmd.SysProcAttr, syscall.SIGKILL)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server on %s: %w", p, err)
	}
	clusterState.procs = append(clusterState.procs, cmd)
	return nil
}

// clusterReady succeeds once the node reports state ok with all slots covered by all nodes.
func clusterReady(c *redis.Client) error {
	info, err := c.ClusterInfo(context.Background()).Result()
	if err != nil {
		return err
	}
	for _, want := range []string{"cluster_state:ok", "cluster_slots_ok:16384",
		"cluster_known_nodes:" + strconv.Itoa(clusterNodes)} {
		if !strings.Contains(info, want) {
			return fmt.Errorf("cluster info lacks %s", want)
		}
	}
	return nil
}

func waitNode(ctx context.Context, addr string, ready func(*redis.Client) error) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	for {
		err := ready(c)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// nodeLogTails is the last lines of each node's log in dir, for an error message.
func nodeLogTails(dir string) string {
	logs, _ := filepath.Glob(filepath.Join(dir, "redis-*.log"))
	var b strings.Builder
	for _, l := range logs {
		data, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		fmt.Fprintf(&b, "\n%s:\n  %s", filepath.Base(l), strings.Join(lines[max(0, len(lines)-5):], "\n  "))
	}
	return b.String()
}
