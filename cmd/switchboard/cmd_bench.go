package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/internal/embedded"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/tickets"
)

func benchCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Benchmarks that report ratios against a baseline measured in the same run"}
	cmd.AddCommand(benchRoutingCmd(f), benchRetrievalCmd())
	return cmd
}

func benchRoutingCmd(f *rootFlags) *cobra.Command {
	var asJSON bool
	var addr string
	opts := tickets.BenchOptions{}
	cmd := &cobra.Command{
		Use:   "routing",
		Short: "Routing decisions per second and latency against a raw EVALSHA round trip to the same Redis",
		Long: `Routes tickets through the Lua router on a real Redis and compares the p99 latency
with a raw EVALSHA round trip measured in the same run. Redis is --redis, else redis.addr,
else 127.0.0.1:6379; when none answers, a private redis-server is started for the run.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.load()
			if err != nil {
				return err
			}
			if addr == "" {
				addr = cfg.Redis.Addr
			}
			rdb, stop, err := benchRedis(cmd.Context(), addr)
			if err != nil {
				return err
			}
			defer stop()
			opts.Prefix = fmt.Sprintf("bench%d", time.Now().UnixNano())
			res, err := tickets.BenchRouting(cmd.Context(), rdb, opts)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "routing: %.0f decisions/s, p50 %.3f ms, p99 %.3f ms; raw EVALSHA p99 %.3f ms; ratio p99 %.2f\n",
				res.OpsPerSec, res.P50Ms, res.P99Ms, res.BaselineP99Ms, res.RatioP99)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringVar(&addr, "redis", "", "Redis address (default redis.addr, then 127.0.0.1:6379)")
	cmd.Flags().IntVar(&opts.Decisions, "decisions", 20000, "routing decisions to time")
	cmd.Flags().IntVar(&opts.Concurrency, "concurrency", 4, "concurrent clients")
	cmd.Flags().IntVar(&opts.Agents, "agents", 50, "agents")
	cmd.Flags().IntVar(&opts.Groups, "groups", 5, "skill groups")
	return cmd
}

// benchRedis connects to addr (or the local default), or starts a private
// redis-server when nothing answers there.
func benchRedis(ctx context.Context, addr string) (*redis.Client, func(), error) {
	explicit := addr != ""
	if !explicit {
		addr = "127.0.0.1:6379"
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	err := rdb.Ping(pctx).Err()
	cancel()
	if err == nil {
		return rdb, func() { rdb.Close() }, nil
	}
	rdb.Close()
	if explicit {
		return nil, nil, fmt.Errorf("redis at %s: %w", addr, err)
	}
	bin, ferr := embedded.FindRedisServer()
	if ferr != nil {
		return nil, nil, fmt.Errorf("no Redis at %s and %w", addr, ferr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	srv := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return nil, nil, err
	}
	rdb = redis.NewClient(&redis.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))})
	stop := func() { rdb.Close(); _ = srv.Process.Kill(); _ = srv.Wait() }
	for i := 0; ; i++ {
		if rdb.Ping(ctx).Err() == nil {
			return rdb, stop, nil
		}
		if i == 50 {
			stop()
			return nil, nil, fmt.Errorf("private redis-server did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func benchRetrievalCmd() *cobra.Command {
	var data string
	var chunks, queries int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "retrieval",
		Short: "Knowledge-base search latency on N chunks, against an exhaustive scan measured in the same run",
		Long: `Builds an in-memory embedded index of --chunks chunks from the public question sets
(banking77, clinc150, lcqmc, bq_corpus under --data, default shared/data beside the
checkout; generated text when absent) and times --queries searches.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" {
				data, _ = findSharedData()
			}
			res, err := kb.BenchRetrieval(cmd.Context(), data, chunks, queries)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "retrieval on %d chunks (%s): p50 %.3f ms, p99 %.3f ms, %.0f queries/s; exhaustive scan p50 %.3f ms (%.0f× slower)\n",
				res.Chunks, res.Corpus, res.P50MS, res.P99MS, res.QPS, res.ScanP50MS, res.SpeedupVsScan)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "folder with the public question sets")
	cmd.Flags().IntVar(&chunks, "chunks", 100_000, "chunks in the index")
	cmd.Flags().IntVar(&queries, "queries", 5_000, "queries to time")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
