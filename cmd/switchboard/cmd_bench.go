package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/internal/embedded"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/tickets"
)

func benchCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Benchmarks that report ratios against a baseline measured in the same run"}
	cmd.AddCommand(benchRoutingCmd(f), benchRetrievalCmd(), benchTurnCmd(f), benchPIICmd(f), benchVisionCmd(f), benchASRCmd(f))
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

func benchPIICmd(f *rootFlags) *cobra.Command {
	var data string
	var seconds float64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "pii",
		Short: "Redaction throughput (MB/s per core) on real mixed Chinese/English text with seeded PII, with the name and address tagger and without",
		Long: `Times redaction on one core, round-robin over 3 000 real Chinese questions (LCQMC
test) each with a phone number, ID card number, email address or order number put before
it, and 2 000 English messages (two, alternating: a name, phone number, email address
and order number; a card number and an IBAN): the redactor serve builds, with the name
and address tagger trained here the way pii train trains it (unless pii.tagger_model is
off), against the baseline of the same run, the cue-based detectors alone.

Then the same two over the texts of presidio-research's synthetic set (1 500 records,
every one with names, addresses or other personal data in it: the tagger's worst case),
reported as presidio_mb_per_sec_per_core and its baseline.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.loadWithData(&data)
			if err != nil {
				return err
			}
			texts, err := piiBenchTexts(data)
			if err != nil {
				return err
			}
			dur := time.Duration(seconds * float64(time.Second))
			served, tagger, err := measuredRedactor(cmd.Context(), cfg, data)
			if err != nil {
				return err
			}
			base, err := pii.Bench(cmd.Context(), pii.NewRedactor(pii.WithPhoneRegions(cfg.PII.PhoneRegions...)), texts, dur)
			if err != nil {
				return err
			}
			res, err := pii.Bench(cmd.Context(), served, texts, dur)
			if err != nil {
				return err
			}
			ratio := res.MBPerSecPerCore / base.MBPerSecPerCore
			out := map[string]any{"bytes": res.Bytes, "seconds": res.Seconds,
				"mb_per_sec_per_core": res.MBPerSecPerCore, "texts": len(texts), "tagger": tagger != "",
				"baseline_cues_only_mb_per_sec_per_core": base.MBPerSecPerCore, "ratio": ratio}
			var dense, denseBase pii.BenchResult
			exs, err := pii.PresidioExamples(filepath.Join(data, "pii_presidio_synth"), pii.SplitAll)
			if err == nil {
				dtexts := make([]string, len(exs))
				for i, ex := range exs {
					dtexts[i] = ex.Text
				}
				if denseBase, err = pii.Bench(cmd.Context(), pii.NewRedactor(pii.WithPhoneRegions(cfg.PII.PhoneRegions...)), dtexts, dur); err != nil {
					return err
				}
				if dense, err = pii.Bench(cmd.Context(), served, dtexts, dur); err != nil {
					return err
				}
				out["presidio_texts"], out["presidio_mb_per_sec_per_core"] = len(dtexts), dense.MBPerSecPerCore
				out["presidio_baseline_cues_only_mb_per_sec_per_core"] = denseBase.MBPerSecPerCore
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pii: %.2f MB/s per core over %d texts (cues alone: %.2f MB/s, ratio %.2f)\n",
				res.MBPerSecPerCore, len(texts), base.MBPerSecPerCore, ratio)
			if dense.Bytes > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "pii: %.2f MB/s per core over presidio-research's texts (cues alone: %.2f MB/s)\n",
					dense.MBPerSecPerCore, denseBase.MBPerSecPerCore)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "shared data folder (default: beside the checkout)")
	cmd.Flags().Float64Var(&seconds, "seconds", 3, "seconds to run each redactor")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// piiBenchTexts mixes Chinese customer text (LCQMC test questions, each after a seeded
// phone number, ID card number, email address or order number) and two English messages
// full of personal data.
func piiBenchTexts(data string) ([]string, error) {
	var texts []string
	zh := []string{"我的手机号是13812345678，", "身份证11010519491231002X，", "邮箱 zhang.san@example.com ", "订单号202311230001，"}
	if raw, err := os.ReadFile(filepath.Join(data, "lcqmc", "test.txt")); err == nil {
		for i, line := range strings.Split(string(raw), "\n") {
			if i >= 3000 {
				break
			}
			if q, _, ok := strings.Cut(line, "\t"); ok && q != "" {
				texts = append(texts, zh[i%len(zh)]+q)
			}
		}
	}
	en := []string{"Hi, I'm John Smith, call me on +1 415-555-0100 or mail john@example.com about order 55512.",
		"My card 4111 1111 1111 1111 was charged twice; IBAN GB82 WEST 1234 5698 7654 32. Refund please!"}
	for i := range 2000 {
		texts = append(texts, en[i%len(en)])
	}
	return texts, nil
}
