package turnbench

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/gateway/flow"
)

func TestOpenLoopCountsEveryCallFromItsScheduledStart(t *testing.T) {
	res := OpenLoop(200, 500*time.Millisecond, func(i int) (bool, error) {
		switch {
		case i%10 == 0:
			return false, errors.New("down")
		case i%10 == 1:
			time.Sleep(20 * time.Millisecond)
			return true, nil
		}
		return false, nil
	})
	if res.Turns != 100 || res.Errors != 10 || res.Escalated != 10 || res.OfferedPerSec != 200 {
		t.Fatalf("result %+v", res)
	}
	if res.EscalatedP99Ms < 20 || res.AnsweredP99Ms > res.EscalatedP99Ms || res.MaxMs < res.P99Ms || res.P99Ms < res.P50Ms {
		t.Fatalf("latencies %+v", res)
	}
}

func TestBucketQuantile(t *testing.T) {
	bounds := []float64{0.001, 0.01, 0.1, math.Inf(1)}
	for _, tc := range []struct {
		counts []float64
		q      float64
		want   float64
	}{
		{[]float64{0, 10, 10, 10}, 0.5, 0.0055}, // halfway into the second bucket
		{[]float64{10, 10, 10, 10}, 0.99, 0.00099},
		{[]float64{0, 0, 5, 10}, 0.99, 0.1}, // in +Inf: its lower bound
	} {
		if got := bucketQuantile(bounds, tc.counts, tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("bucketQuantile(%v, %v) = %v, want %v", tc.counts, tc.q, got, tc.want)
		}
	}
}

// TestRunDrivesAServer: Run offers messages with the tokens in turn, counts escalations,
// takes a /healthz baseline and reads the stages from the difference of two scrapes.
func TestRunDrivesAServer(t *testing.T) {
	var messages, scrapes atomic.Int64
	seen := make(chan string, 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.Write([]byte("ok"))
		case "/metrics":
			n := scrapes.Add(1)
			fmt.Fprintf(w, "switchboard_pipeline_stage_seconds_bucket{stage=\"redact\",le=\"0.001\"} %d\n", 10*n)
			fmt.Fprintf(w, "switchboard_pipeline_stage_seconds_bucket{stage=\"redact\",le=\"+Inf\"} %d\n", 10*n)
		case "/v1/messages":
			messages.Add(1)
			select {
			case seen <- r.Header.Get("Authorization"):
			default:
			}
			var in struct{ Text string }
			json.NewDecoder(r.Body).Decode(&in)
			json.NewEncoder(w).Encode(gateway.MessageReply{Outcome: flow.Outcome{Reply: "ok", Escalated: strings.Contains(in.Text, "human")}})
		}
	}))
	defer srv.Close()
	res := Run(Options{Base: srv.URL, Tokens: []string{"a", "b"}, Texts: []string{"hi", "a human please"}, Rate: 100, Duration: time.Second})
	if res.Turns != 100 || res.Errors != 0 || res.Escalated != 50 || messages.Load() != 300 || res.BaselineP99Ms <= 0 {
		t.Fatalf("result %+v after %d messages", res, messages.Load())
	}
	if diff := cmp.Diff(map[string]StageLatency{"redact": {Count: 10, P50Ms: 0.5, P99Ms: 0.99}}, res.Stages); diff != "" {
		t.Errorf("stages (-want +got):\n%s", diff)
	}
	tokens := map[string]bool{}
	for len(seen) > 0 {
		tokens[<-seen] = true
	}
	if !tokens["Bearer a"] || !tokens["Bearer b"] {
		t.Errorf("tokens used: %v", tokens)
	}
}
