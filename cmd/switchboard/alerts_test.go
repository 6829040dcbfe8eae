package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// TestAlertRules checks deploy/prometheus/alerts.yml with promtool (Debian's prometheus
// package): the rules parse (`promtool check rules`), and each alert fires on the
// synthetic series of alerts_test.yml with its labels and runbook, and stays quiet on
// healthy ones (`promtool test rules`). That every metric the rules name is one a running
// server exposes is TestEveryMetricNamedIsExposed (dashboards_test.go).
//
//	go test ./cmd/switchboard -run TestAlertRules -v
func TestAlertRules(t *testing.T) {
	promtool := needPromtool(t)
	dir := filepath.Join("..", "..", "deploy", "prometheus")
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, r := range alertRules(t) {
		if r.Alert == "" || r.Annotations["runbook"] == "" || r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
			t.Errorf("rule %q (%s): every rule is an alert with a severity, a summary and a runbook", r.Alert, r.Expr)
		}
	}
}

// needPromtool returns promtool's path, or skips (fails in CI) without it.
func needPromtool(t *testing.T) string {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		testenv.Missing(t, "promtool is not installed (Debian package prometheus; make deps installs it)")
	}
	return promtool
}

// alertRule is one rule of deploy/prometheus/alerts.yml.
type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// alertRules reads the rules of deploy/prometheus/alerts.yml.
func alertRules(t *testing.T) []alertRule {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	var out []alertRule
	for _, g := range file.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) < 10 {
		t.Fatalf("alerts.yml holds %d rules", len(out))
	}
	return out
}
