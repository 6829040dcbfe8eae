package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// TestAlertRules checks deploy/prometheus/alerts.yml with promtool (Debian's prometheus
// package): the rules parse (`promtool check rules`), each alert fires on the synthetic
// series of alerts_test.yml with its labels and runbook (`promtool test rules`), and every
// metric the rules name is one the code registers (a metric the server never exposes would
// leave its alert silent forever).
//
//	go test ./cmd/switchboard -run TestAlertRules -v
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		testenv.Missing(t, "promtool is not installed (Debian package prometheus; make deps installs it)")
		return
	}
	dir := filepath.Join("..", "..", "deploy", "prometheus")
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	rules, err := os.ReadFile(filepath.Join(dir, "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile(`\b(?:switchboard|customer_service)_[a-z0-9_]+`).FindAllString(string(rules), -1) {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			m = strings.TrimSuffix(m, suffix)
		}
		named[m] = true
	}
	registered := registeredMetrics(t)
	var unknown []string
	for m := range named {
		if !registered[m] {
			unknown = append(unknown, m)
		}
	}
	slices.Sort(unknown)
	if len(named) < 5 || len(unknown) > 0 {
		t.Errorf("the rules name %d metrics; these are registered nowhere in the code: %v", len(named), unknown)
	}
}

// registeredMetrics are the metric names the module's code registers (Name: "…" in its
// collectors' options).
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	name := regexp.MustCompile(`Name:\s*"([a-z0-9_]+)"`)
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "web") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range name.FindAllSubmatch(src, -1) {
			out[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
