package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var kindLine = regexp.MustCompile(`(?m)^kind: (\S+)$`)

// required are the values the chart refuses to render without.
var required = []string{"--set-string", "secrets.postgres.dsn=postgres://a@db/sb", "--set-string", "secrets.auth.jwt_secret=render-chart-test-0123456789abcdef",
	"--set", "config.redis.addr=redis:6379", "--set", "keyRing.existingSecret=sb-keyring"}

// runOK runs the command from deploy/ (where `go run ./cmd/render-chart` runs) with the
// required values and returns the kinds it printed, in order.
func runOK(t *testing.T, args ...string) (string, []string) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(append([]string{"--chart", "../../helm/switchboard"}, required...), args...)
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("render-chart %v: %v\n%s", args, err, errOut.String())
	}
	var kinds []string
	for _, m := range kindLine.FindAllStringSubmatch(out.String(), -1) {
		kinds = append(kinds, m[1])
	}
	return out.String(), kinds
}

func TestRenderChart(t *testing.T) {
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte("migration: {enabled: false}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"one kind", []string{"--kind", "Deployment"}, []string{"Deployment"}},
		{"kinds repeated and comma-separated", []string{"--kind", "Deployment,ConfigMap", "--kind", "Secret"}, []string{"Secret", "ConfigMap", "Deployment", "Secret", "ConfigMap"}}, // the migration's hook copies last
		{"migration hook", []string{"--kind", "Job"}, []string{"Job"}},
		{"values file turns it off", []string{"-f", values, "--kind", "Job,Deployment"}, []string{"Deployment"}},
		{"set turns autoscaling off", []string{"--set", "autoscaling.enabled=false", "--kind", "HorizontalPodAutoscaler,Deployment"}, []string{"Deployment"}},
		{"no Prometheus Operator", []string{"--no-monitoring-api", "--kind", "Service,ServiceMonitor,PrometheusRule"}, []string{"Service"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, kinds := runOK(t, tt.args...)
			if diff := cmp.Diff(tt.want, kinds); diff != "" {
				t.Errorf("kinds (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(out, "---\n# Source: switchboard/templates/") {
				t.Errorf("output does not start with a document and its source:\n%.200s", out)
			}
		})
	}
	_, all := runOK(t)
	for _, want := range []string{"Deployment", "Service", "ConfigMap", "Secret", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor", "PrometheusRule"} {
		if !strings.Contains(strings.Join(all, " "), want) {
			t.Errorf("the full rendering lacks a %s: %v", want, all)
		}
	}
}

func TestRenderChartErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"no such kind":   {"--kind", "StatefulSet"},
		"unknown key":    {"--set", "config.nope=1"},
		"stray argument": {"extra"},
		"missing file":   {"-f", "/nonexistent/values.yaml"},
		"no PostgreSQL":  {"--set-string", "secrets.auth.jwt_secret=render-chart-test-0123456789abcdef"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := run(context.Background(), append([]string{"--chart", "../../helm/switchboard"}, args...), &out, &errOut); err == nil {
				t.Errorf("render-chart %v succeeded:\n%.300s", args, out.String())
			}
		})
	}
}
