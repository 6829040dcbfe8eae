package tickets

import (
	"context"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

func TestBenchRouting(t *testing.T) {
	cases := []struct {
		name string
		open func(t *testing.T) (redis.UniversalClient, string)
	}{
		{"redis", func(t *testing.T) (redis.UniversalClient, string) { return testenv.Redis(t) }},
		{"cluster", func(t *testing.T) (redis.UniversalClient, string) {
			return testenv.RedisCluster(t), testenv.ClusterPrefix(t)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rdb, prefix := c.open(t)
			opts := BenchOptions{Prefix: prefix, Decisions: 4000, Concurrency: 4, Agents: 30, Groups: 4}
			res, err := BenchRouting(t.Context(), rdb, opts)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := json.Marshal(res)
			t.Logf("%s", out)
			if res.Decisions != opts.Decisions || res.Concurrency != opts.Concurrency || res.OpsPerSec <= 0 ||
				res.P50Ms <= 0 || res.P50Ms > res.P99Ms || res.BaselineP50Ms <= 0 ||
				res.BaselineP50Ms > res.BaselineP99Ms || res.RatioP99 <= 0 {
				t.Errorf("implausible result %s", out)
			}
			var left atomic.Int64 // ForEachMaster scans the nodes concurrently
			scan := func(ctx context.Context, s *redis.Client) error {
				keys, err := s.Keys(ctx, "*"+prefix+"*").Result()
				left.Add(int64(len(keys)))
				return err
			}
			var err2 error
			switch c := rdb.(type) {
			case *redis.Client:
				err2 = scan(t.Context(), c)
			case *redis.ClusterClient:
				err2 = c.ForEachMaster(t.Context(), scan)
			}
			if err2 != nil {
				t.Fatal(err2)
			}
			if n := left.Load(); n != 0 {
				t.Errorf("%d keys of the benchmark's router left behind", n)
			}
		})
	}
}

// BenchmarkRouting runs BenchRouting with b.N decisions against the shared Redis and
// reports its figures (ns/op includes the interleaved baseline calls).
func BenchmarkRouting(b *testing.B) {
	for _, conc := range []int{1, 4, 8, 16} {
		b.Run("conc="+strconv.Itoa(conc), func(b *testing.B) {
			rdb, prefix := testenv.Redis(b)
			res, err := BenchRouting(b.Context(), rdb, BenchOptions{Prefix: prefix, Decisions: max(b.N, benchRounds),
				Concurrency: conc})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.OpsPerSec, "decisions/s")
			b.ReportMetric(res.P50Ms, "p50-ms")
			b.ReportMetric(res.P99Ms, "p99-ms")
			b.ReportMetric(res.BaselineP99Ms, "base-p99-ms")
			b.ReportMetric(res.RatioP99, "ratio-p99")
		})
	}
}
