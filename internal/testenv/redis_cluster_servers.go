package testenv

import (
	"context"
	"errors"
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

// clusterNodes is the number of masters of a cluster started here (no replicas).
const clusterNodes = 3

// clusterStartAttempts bounds the starts of a cluster: one can fail on a port another
// process took between FreePort and the server's bind (packages test in parallel), or
// on a node that never learns of all the others.
const clusterStartAttempts = 3

// RedisClusterServers is a Redis Cluster of masters without replicas, each a
// redis-server process started from the local binary, without persistence, listening
// on 127.0.0.1. A node keeps its port and its nodes-<port>.conf across Restart.
type RedisClusterServers struct {
	server, cli, dir string
	opts             ClusterOptions
	nodes            []*clusterNode
}

// ClusterOptions shape a private cluster; the zero value is Redis's defaults.
type ClusterOptions struct {
	// NodeTimeout is cluster-node-timeout: how long a master may not answer before the
	// others mark it failed — and, without a replica to promote, hold the whole cluster
	// down (CLUSTERDOWN) until it is back. 0: Redis's default, 15 s.
	NodeTimeout time.Duration
}

// clusterNode is one redis-server of a cluster; cmd is nil while it is killed.
type clusterNode struct {
	addr      string
	port, bus int
	mu        sync.Mutex
	cmd       *exec.Cmd
	done      chan struct{}
}

// PrivateRedisCluster starts a 3-master Redis Cluster for this test alone (safe to
// kill a node of) and stops it when the test ends; the kernel kills its servers if
// the test process dies first. The test skips (fails in CI) when redis-server or
// redis-cli is not installed.
func PrivateRedisCluster(t testing.TB, opts ClusterOptions) *RedisClusterServers {
	t.Helper()
	c, skip, err := launchCluster(t, opts)
	if skip != "" {
		missing(t, "redis cluster: "+skip)
		return nil
	}
	if err != nil {
		t.Fatalf("testenv: private redis cluster: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

// Addrs are the nodes' host:port, in the order Kill and Restart number them.
func (c *RedisClusterServers) Addrs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.addr
	}
	return out
}

// Kill ends node i with SIGKILL, as a crash would, and waits until it is gone.
func (c *RedisClusterServers) Kill(i int) {
	cmd, done := c.nodes[i].take()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Restart kills node i if it runs and starts it again on the same port with the same
// nodes-<port>.conf, and waits until it answers: it rejoins the cluster owning the
// slots it had, without their keys (no persistence). The other nodes take it back as
// a master only when they see it again — WaitOK waits for that.
func (c *RedisClusterServers) Restart(t testing.TB, i int) {
	t.Helper()
	c.Kill(i)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.startNode(ctx, c.nodes[i]); err != nil {
		t.Fatalf("testenv: restart cluster node %s: %v", c.nodes[i].addr, err)
	}
}

// Stop terminates every node and removes their files; calling it again is harmless.
func (c *RedisClusterServers) Stop() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Go(n.stop)
	}
	wg.Wait()
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}

// NodeOf is the index of the node serving key's hash slot (its hash tag's, if any).
func (c *RedisClusterServers) NodeOf(t testing.TB, key string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, n := range c.nodes {
		if !n.running() {
			continue
		}
		rdb := redis.NewClient(&redis.Options{Addr: n.addr})
		defer rdb.Close()
		slot, err := rdb.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatalf("testenv: CLUSTER KEYSLOT %s: %v", key, err)
		}
		ranges, err := rdb.ClusterSlots(ctx).Result()
		if err != nil {
			t.Fatalf("testenv: CLUSTER SLOTS: %v", err)
		}
		for _, r := range ranges {
			if int64(r.Start) <= slot && slot <= int64(r.End) && len(r.Nodes) > 0 {
				for i, m := range c.nodes {
					if strings.HasSuffix(r.Nodes[0].Addr, ":"+strconv.Itoa(m.port)) {
						return i
					}
				}
			}
		}
		t.Fatalf("testenv: no node of %v serves slot %d of %s", c.Addrs(), slot, key)
	}
	t.Fatal("testenv: no cluster node runs")
	return -1
}

// WaitOK waits until every node reports cluster_state:ok with all 16384 slots served
// and knows every other node, and returns how long that took.
func (c *RedisClusterServers) WaitOK(t testing.TB, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for _, n := range c.nodes {
		if err := waitNode(ctx, n.addr, c.clusterReady); err != nil {
			t.Fatalf("testenv: cluster node %s not ok within %v: %v%s", n.addr, within, err, nodeLogTails(c.dir))
		}
	}
	return time.Since(start)
}

// WaitFailed waits until every running node reports cluster_state:fail — they have
// marked a killed master failed and, with no replica to take its slots, refuse every
// command (CLUSTERDOWN) — and returns how long that took.
func (c *RedisClusterServers) WaitFailed(t testing.TB, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for _, n := range c.nodes {
		if !n.running() {
			continue
		}
		err := waitNode(ctx, n.addr, func(rdb *redis.Client) error {
			return clusterInfoHas(rdb, "cluster_state:fail")
		})
		if err != nil {
			t.Fatalf("testenv: cluster node %s did not report the cluster failed within %v: %v", n.addr, within, err)
		}
	}
	return time.Since(start)
}

// launchCluster finds the binaries and starts a cluster, anew on fresh ports after a
// failed start (clusterStartAttempts in all). skip says why it cannot run here.
func launchCluster(t testing.TB, opts ClusterOptions) (c *RedisClusterServers, skip string, err error) {
	server, cli, skip := clusterBinaries()
	if skip != "" {
		return nil, skip, nil
	}
	for attempt := 1; attempt <= clusterStartAttempts; attempt++ {
		c = &RedisClusterServers{server: server, cli: cli, opts: opts}
		if err = c.start(t); err == nil {
			return c, "", nil
		}
		err = fmt.Errorf("attempt %d of %d: %w%s", attempt, clusterStartAttempts, err, nodeLogTails(c.dir))
		fmt.Fprintf(os.Stderr, "testenv: redis cluster: %v\n", err)
		c.Stop()
	}
	return nil, "", err
}

// clusterBinaries finds redis-server, and redis-cli beside it or on PATH; skip says
// what is missing.
func clusterBinaries() (server, cli, skip string) {
	server, err := embedded.FindRedisServer()
	if err != nil {
		return "", "", err.Error()
	}
	cli = filepath.Join(filepath.Dir(server), "redis-cli")
	if _, err := os.Stat(cli); err != nil {
		if cli, err = exec.LookPath("redis-cli"); err != nil {
			return "", "", "redis-cli (needed to create a cluster) was not found beside " + server + " or on PATH"
		}
	}
	return server, cli, ""
}

// start starts the nodes in a new temporary directory, joins them into a cluster and
// waits until every node reports it ok. The caller stops c when it fails.
func (c *RedisClusterServers) start(t testing.TB) error {
	dir, err := os.MkdirTemp("", "switchboard-redis-cluster-")
	if err != nil {
		return err
	}
	c.dir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range clusterNodes {
		port := FreePort(t)
		n := &clusterNode{addr: "127.0.0.1:" + strconv.Itoa(port), port: port, bus: FreePort(t)}
		c.nodes = append(c.nodes, n)
		if err := c.startNode(ctx, n); err != nil {
			return err
		}
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, c.cli, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("redis-cli --cluster create: %v: %s", err, out)
	}
	for _, n := range c.nodes {
		if err := waitNode(ctx, n.addr, c.clusterReady); err != nil {
			return fmt.Errorf("node %s: cluster not ready: %w", n.addr, err)
		}
	}
	return nil
}

// startNode runs n's redis-server and waits until it answers PING.
func (c *RedisClusterServers) startNode(ctx context.Context, n *clusterNode) error {
	p := strconv.Itoa(n.port)
	args := []string{"--port", p, "--bind", "127.0.0.1", "--dir", c.dir,
		"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(n.bus),
		"--cluster-config-file", filepath.Join(c.dir, "nodes-"+p+".conf"),
		"--save", "", "--appendonly", "no",
		"--logfile", filepath.Join(c.dir, "redis-"+p+".log")}
	if c.opts.NodeTimeout > 0 {
		args = append(args, "--cluster-node-timeout", strconv.FormatInt(c.opts.NodeTimeout.Milliseconds(), 10))
	}
	cmd := exec.Command(c.server, args...)
	// The kernel kills the node if this test process dies without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(cmd.SysProcAttr, syscall.SIGKILL)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server on %s: %w", p, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	if err := waitRedisReady(ctx, n.addr, cmd.Process.Pid, done); err != nil {
		if errors.Is(err, errRedisExited) {
			n.mu.Lock()
			n.cmd, n.done = nil, nil
			n.mu.Unlock()
		}
		return fmt.Errorf("node %s did not start (logs in %s): %w", n.addr, c.dir, err)
	}
	return nil
}

// clusterReady succeeds once the node reports state ok with all slots covered by all nodes.
func (c *RedisClusterServers) clusterReady(rdb *redis.Client) error {
	return clusterInfoHas(rdb, "cluster_state:ok", "cluster_slots_ok:16384",
		"cluster_known_nodes:"+strconv.Itoa(len(c.nodes)))
}

// clusterInfoHas succeeds when the node's CLUSTER INFO holds every line of want.
func clusterInfoHas(rdb *redis.Client, want ...string) error {
	info, err := rdb.ClusterInfo(context.Background()).Result()
	if err != nil {
		return err
	}
	for _, w := range want {
		if !strings.Contains(info, w+"\r\n") {
			return fmt.Errorf("cluster info lacks %s", w)
		}
	}
	return nil
}

func (n *clusterNode) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cmd != nil
}

// take hands over the node's process and its exit channel (nil when it is not running),
// so that only one caller ends it.
func (n *clusterNode) take() (*exec.Cmd, chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	cmd, done := n.cmd, n.done
	n.cmd, n.done = nil, nil
	return cmd, done
}

// stop ends the node with SIGTERM, or SIGKILL when it has not exited after 5 s.
func (n *clusterNode) stop() {
	cmd, done := n.take()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// waitNode polls the server at addr until ready succeeds or ctx ends.
func waitNode(ctx context.Context, addr string, ready func(*redis.Client) error) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	for {
		err := ready(rdb)
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
	if dir == "" {
		return ""
	}
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
