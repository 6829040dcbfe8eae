//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// soakRun builds n samples of one replica whose RSS, goroutines, open files and PG
// connections at sample i are given by f, at rate turns/s and p99 ms.
func soakRun(n int, rate float64, f func(i int) (rss, gor, fds, pg, p99 float64)) []soakSample {
	out := make([]soakSample, n)
	for i := range out {
		rss, gor, fds, pg, p99 := f(i)
		out[i] = soakSample{At: time.Duration(i+1) * 5 * time.Second, RSS: []float64{rss}, Goroutines: []float64{gor},
			FDs: []float64{fds}, CPU: []float64{50}, PGConns: pg, Turns: int(rate * 5), Rate: rate, P50: p99 / 2, P99: p99, Load1: 2}
	}
	return out
}

func TestJudgeSoak(t *testing.T) {
	flat := func(i int) (float64, float64, float64, float64, float64) {
		wobble := float64(i%3) - 1 // ±1 around the level
		return 100 + wobble, 300 + 5*wobble, 40 + wobble, 10, 200 + 10*wobble
	}
	tests := []struct {
		name string
		run  []soakSample
		rate float64
		want []string // failures, by their first words
	}{
		{"flat with noise", soakRun(50, 300, flat), 300, nil},
		{"a warm-up rise is not judged", soakRun(50, 300, func(i int) (float64, float64, float64, float64, float64) {
			rss, gor, fds, pg, p99 := flat(i)
			if i < 10 {
				return rss / 2, gor / 2, fds / 2, pg / 2, p99 * 3
			}
			return rss, gor, fds, pg, p99
		}), 300, nil},
		{"bursts move no median", soakRun(50, 300, func(i int) (float64, float64, float64, float64, float64) {
			rss, gor, fds, pg, p99 := flat(i)
			if i%7 == 0 {
				return rss * 2, gor * 3, fds * 2, pg + 5, p99 * 10
			}
			return rss, gor, fds, pg, p99
		}), 300, nil},
		{"one connection more is the resolution", soakRun(50, 300, func(i int) (float64, float64, float64, float64, float64) {
			rss, gor, fds, pg, p99 := flat(i)
			if i >= 25 {
				pg++
			}
			return rss, gor, fds, pg, p99
		}), 300, nil},
		{"leaks", soakRun(50, 300, func(i int) (float64, float64, float64, float64, float64) {
			rss, gor, fds, pg, p99 := flat(i)
			return rss + float64(i), gor + float64(i), fds + float64(i)/4, pg + float64(i)/10, p99 + 4*float64(i)
		}), 300, []string{"replica 0 RSS MiB grew", "goroutines, all replicas grew", "open files, all replicas grew", "PostgreSQL connections grew", "p99 rose"}},
		{"the offered rate not achieved", soakRun(50, 270, flat), 300, []string{"270.0 turns/s achieved"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := judgeSoak(tt.run, 1, tt.rate)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range v.Failures {
				prefix := f
				for _, w := range tt.want {
					if strings.HasPrefix(f, w) {
						prefix = w
					}
				}
				got = append(got, prefix)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("failures (-want +got):\n%s\nlines: %q", diff, v.Lines)
			}
		})
	}
	if _, err := judgeSoak(soakRun(4, 300, flat), 1, 300); err == nil {
		t.Error("4 samples judged; want an error")
	}
}

func TestSoakLevels(t *testing.T) {
	tests := []struct {
		xs   []float64
		want soakLevel
	}{
		{[]float64{9, 1, 2, 3, 4, 5, 6, 7, 8, 10}, soakLevel{Early: 2.5, End: 9}},
		{[]float64{0, 0, 0, 0, 0}, soakLevel{}},
		{[]float64{50, 10, 10, 10, 10, 11, 10, 10, 10, 11, 11}, soakLevel{Early: 10, End: 11}},
	}
	for _, tt := range tests {
		got, err := soakLevels(tt.xs)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("soakLevels(%v) (-want +got):\n%s", tt.xs, diff)
		}
	}
}

func TestSoakConfigFrom(t *testing.T) {
	def := soakConfig{Duration: 10 * time.Minute, Sample: 5 * time.Second, LLMDelay: 100 * time.Millisecond, Rate: 300, Customers: 200, Agents: 6, MediaEvery: 50}
	tests := []struct {
		name    string
		env     map[string]string
		want    soakConfig
		wantErr string
	}{
		{"defaults", nil, def, ""},
		{"hours", map[string]string{"SWITCHBOARD_SOAK_DURATION": "3h", "SWITCHBOARD_SOAK_RATE": "150.5", "SWITCHBOARD_SOAK_PLOT": "docs/soak.svg",
			"SWITCHBOARD_SOAK_MEDIA_EVERY": "1"},
			soakConfig{Duration: 3 * time.Hour, Sample: 5 * time.Second, LLMDelay: 100 * time.Millisecond, Rate: 150.5, Customers: 200, Agents: 6, MediaEvery: 1,
				Plot: "docs/soak.svg"}, ""},
		{"too short to judge", map[string]string{"SWITCHBOARD_SOAK_DURATION": "30s"}, soakConfig{}, "at least 10 samples"},
		{"not a duration", map[string]string{"SWITCHBOARD_SOAK_DURATION": "10"}, soakConfig{}, "SWITCHBOARD_SOAK_DURATION=\"10\""},
		{"no customers", map[string]string{"SWITCHBOARD_SOAK_CUSTOMERS": "0"}, soakConfig{}, "SWITCHBOARD_SOAK_CUSTOMERS"},
		{"a negative rate", map[string]string{"SWITCHBOARD_SOAK_RATE": "-3"}, soakConfig{}, "SWITCHBOARD_SOAK_RATE"},
		{"a plot format gonum cannot write", map[string]string{"SWITCHBOARD_SOAK_PLOT": "soak.gif"}, soakConfig{}, "SWITCHBOARD_SOAK_PLOT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := soakConfigFrom(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v; want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlotSoak draws a run: the files exist and the SVG holds the panels' titles.
func TestPlotSoak(t *testing.T) {
	dir := t.TempDir()
	run := soakRun(30, 300, func(i int) (float64, float64, float64, float64, float64) { return 100, 300, 40, 10, 200 })
	svg := filepath.Join(dir, "soak.svg")
	if err := plotSoak(svg, "test soak", run, 1, 300); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "RSS (MiB)", "goroutines", "open files", "PostgreSQL connections", "turn latency (ms)", "test soak"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the SVG has no %q", want)
		}
	}
	if err := writeSoakCSV(filepath.Join(dir, "soak.csv"), run, 1); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "soak.csv"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 31 || lines[0] != "seconds,turns_per_s,p50_ms,p99_ms,pg_connections,load1,load_generator_cpu_pct,rss_mib_0,goroutines_0,open_files_0,cpu_pct_0" {
		t.Errorf("CSV: %d lines, header %q", len(lines), lines[0])
	}
}
