// Package turnbench is the harness of `switchboard bench turn`: an open-loop load
// generator that offers customer messages to a serving gateway at a fixed rate and
// reports latency percentiles, against a /healthz baseline of the same run, with the
// pipeline's stage latencies read from the server's own histograms.
package turnbench

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-cs/switchboard/nlp/intent"
)

// Result is what a run measured (`switchboard bench turn --json` prints it).
type Result struct {
	OfferedPerSec  float64 `json:"offered_per_sec"`
	AchievedPerSec float64 `json:"achieved_per_sec"`
	Turns          int     `json:"turns"`
	P50Ms          float64 `json:"p50_ms"`
	P99Ms          float64 `json:"p99_ms"`
	MaxMs          float64 `json:"max_ms"`
	Errors         int     `json:"errors"`
	Escalated      int     `json:"escalated"`
	AnsweredP99Ms  float64 `json:"answered_p99_ms"`  // turns the bot answered
	EscalatedP99Ms float64 `json:"escalated_p99_ms"` // turns that opened or joined a ticket
	FAQEntries     int     `json:"faq_entries"`
	BaselineP99Ms  float64 `json:"baseline_p99_ms"` // GET /healthz at the same rate: HTTP and load-generator cost alone
	// Stages estimates each pipeline stage's latency during the measured
	// window from the server's own histograms (/metrics), so a slow run
	// says where its time went.
	Stages map[string]StageLatency `json:"stages,omitempty"`
	// Cost is the measured window's cost per turn: CPU of this process and,
	// with Options.Cost, of the database's backends and its commits.
	Cost *PerTurn `json:"cost_per_turn,omitempty"`
}

// StageLatency is one stage's latency over the measured window, estimated
// from histogram buckets (linear within a bucket).
type StageLatency struct {
	Count int     `json:"count"`
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
}

// Options say what Run drives: a serving gateway at Base, with customer Tokens, offering
// Texts (in turn) as customer messages at Rate per second for Duration.
type Options struct {
	Base     string
	Tokens   []string
	Texts    []string
	Rate     int
	Duration time.Duration
	// Cost, when set, reads the database's counters (DatabaseCPU, Commits)
	// before and after the measured window.
	Cost func() (Cost, error)
}

// Run offers o.Rate POST /v1/messages a second for o.Duration (open loop: latency counts
// from each request's scheduled start), after a GET /healthz run at the same rate for
// half as long (the baseline: HTTP and the load generator alone) and 2 s of warm-up;
// the server's own stage histograms say where the measured window's time went.
func Run(o Options) Result {
	client, turn := turnClient(o)
	defer client.CloseIdleConnections()
	health := func(int) (bool, error) {
		resp, err := client.Get(o.Base + "/healthz")
		if err != nil {
			return false, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return false, nil
	}
	baseline := OpenLoop(o.Rate, o.Duration/2, health)
	res := measure(o, client, turn)
	res.BaselineP99Ms = baseline.P99Ms
	return res
}

// Measure is Run without the baseline: 2 s of warm-up, then o.Duration
// measured (one step of FindCapacity).
func Measure(o Options) Result {
	client, turn := turnClient(o)
	defer client.CloseIdleConnections()
	return measure(o, client, turn)
}

func measure(o Options, client *http.Client, turn func(int) (bool, error)) Result {
	OpenLoop(o.Rate, 2*time.Second, turn) // warm-up: caches, connections, JIT of the planner
	before, cost := scrapeStages(client, o.Base), readCost(o.Cost)
	res := OpenLoop(o.Rate, o.Duration, turn)
	res.Cost = perTurn(cost, readCost(o.Cost), res.Turns)
	res.Stages = stageLatencies(before, scrapeStages(client, o.Base))
	return res
}

// OpenLoop starts fn at a fixed rate for dur regardless of how long calls
// take, measuring each from its scheduled start.
func OpenLoop(rate int, dur time.Duration, fn func(i int) (bool, error)) Result {
	n := int(float64(rate) * dur.Seconds())
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	var answered, escalated []time.Duration
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs, esc := 0, 0
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(due))
		wg.Go(func() {
			isEsc, err := fn(i)
			d := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			lat[i] = d
			switch {
			case err != nil:
				errs++
			case isEsc:
				esc++
				escalated = append(escalated, d)
			default:
				answered = append(answered, d)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	return Result{OfferedPerSec: float64(rate), AchievedPerSec: float64(n) / elapsed.Seconds(), Turns: n,
		P50Ms: quantileMs(lat, 0.50), P99Ms: quantileMs(lat, 0.99), MaxMs: quantileMs(lat, 1), Errors: errs, Escalated: esc,
		AnsweredP99Ms: quantileMs(answered, 0.99), EscalatedP99Ms: quantileMs(escalated, 0.99)}
}

// turnClient is an HTTP client and a function that offers o's i-th message
// through it, reporting whether the turn escalated. The load generator shares the
// machine with the server, so it does little per turn: bodies and authorization
// headers are built once, and of the reply it decodes only whether the turn escalated.
func turnClient(o Options) (*http.Client, func(int) (bool, error)) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}, Timeout: 10 * time.Second}
	bodies := make([][]byte, len(o.Texts))
	for i, t := range o.Texts {
		bodies[i], _ = json.Marshal(map[string]string{"text": t})
	}
	auth := make([]string, len(o.Tokens))
	for i, t := range o.Tokens {
		auth[i] = "Bearer " + t
	}
	url := o.Base + "/v1/messages"
	return client, func(i int) (bool, error) {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(bodies[i%len(bodies)]))
		req.Header["Authorization"] = []string{auth[i%len(auth)]}
		req.Header["Content-Type"] = []string{"application/json"}
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		var r struct {
			Escalated bool `json:"escalated"`
		}
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&r) != nil {
			return false, fmt.Errorf("status %d", resp.StatusCode)
		}
		return r.Escalated, nil
	}
}

// quantileMs sorts d and returns its q-quantile in milliseconds (0 when empty).
func quantileMs(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000
}

// WriteFAQ writes ex as an FAQ file (question, answer) under dir and returns its path.
func WriteFAQ(dir string, ex []intent.Example) (string, error) {
	path := filepath.Join(dir, "faq.csv")
	fh, err := os.Create(path)
	if err != nil {
		return "", err
	}
	w := csv.NewWriter(fh)
	w.Write([]string{"question", "answer"})
	for _, e := range ex {
		w.Write([]string{e.Text, "About " + e.Label + ": see our help centre."})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		fh.Close()
		return "", err
	}
	return path, fh.Close()
}

// stageBuckets is one scrape of switchboard_pipeline_stage_seconds:
// cumulative counts by stage and upper bound (seconds).
type stageBuckets map[string]map[float64]float64

const stageMetric = "switchboard_pipeline_stage_seconds_bucket{"

// scrapeStages reads the pipeline stage histograms from base/metrics; it
// returns nil when they cannot be read (the figures are then left out).
func scrapeStages(client *http.Client, base string) stageBuckets {
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	out := stageBuckets{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, stageMetric) {
			continue
		}
		labels, value, ok := strings.Cut(line[len(stageMetric):], "} ")
		if !ok {
			continue
		}
		stage, le := labelValue(labels, "stage"), labelValue(labels, "le")
		n, err1 := strconv.ParseFloat(value, 64)
		bound, err2 := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
		if stage == "" || err1 != nil || err2 != nil {
			continue
		}
		if out[stage] == nil {
			out[stage] = map[float64]float64{}
		}
		out[stage][bound] = n
	}
	return out
}

func labelValue(labels, name string) string {
	for _, kv := range strings.Split(labels, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k == name {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// stageLatencies turns the difference of two scrapes into percentiles.
func stageLatencies(before, after stageBuckets) map[string]StageLatency {
	if after == nil {
		return nil
	}
	out := map[string]StageLatency{}
	for stage, cum := range after {
		bounds := make([]float64, 0, len(cum))
		for b := range cum {
			bounds = append(bounds, b)
		}
		slices.Sort(bounds)
		counts := make([]float64, len(bounds))
		for i, b := range bounds {
			counts[i] = cum[b] - before[stage][b]
		}
		total := counts[len(counts)-1]
		if total <= 0 {
			continue
		}
		out[stage] = StageLatency{Count: int(total), P50Ms: bucketQuantile(bounds, counts, 0.50) * 1000,
			P99Ms: bucketQuantile(bounds, counts, 0.99) * 1000}
	}
	return out
}

// bucketQuantile interpolates the q-quantile from cumulative bucket counts.
func bucketQuantile(bounds, counts []float64, q float64) float64 {
	rank := q * counts[len(counts)-1]
	lower, below := 0.0, 0.0
	for i, b := range bounds {
		if counts[i] >= rank {
			if b > 1e300 { // the +Inf bucket: report its lower bound
				return lower
			}
			if counts[i] == below {
				return b
			}
			return lower + (b-lower)*(rank-below)/(counts[i]-below)
		}
		lower, below = b, counts[i]
	}
	return lower
}
