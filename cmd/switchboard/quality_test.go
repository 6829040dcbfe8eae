package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/tickets"
)

// TestQualityInspectorUsesEachGroupsRules: quality.rules_file's group rules apply to
// that group's tickets and the default rules to the others; personal data typed out is
// reported by kind, without the data; a rules file that cannot be read or parsed stops
// serve from starting.
func TestQualityInspectorUsesEachGroupsRules(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "quality.yaml")
	if err := os.WriteFile(rules, []byte("groups:\n  vip:\n    greeting: {en: [dear], zh: [尊敬的]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	q, err := newQualityInspector(config.QualityConfig{RulesFile: rules}, pii.NewRedactor())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		group, text string
		pos         tickets.ReplyPosition
		want        tickets.ReplyQuality
	}{
		{"vip", "Dear Ms. Lee, your card is on its way.", tickets.PositionFirst, tickets.ReplyQuality{Score: 100, Findings: []tickets.QualityFinding{}}},
		{"vip", "Hello, your card is on its way.", tickets.PositionFirst, tickets.ReplyQuality{Score: 90, Findings: []tickets.QualityFinding{{Check: "missing_greeting"}}}},
		{"billing", "Hello, your card is on its way.", tickets.PositionFirst, tickets.ReplyQuality{Score: 100, Findings: []tickets.QualityFinding{}}},
		{"billing", "I guarantee a refund to anna.lee@example.com.", tickets.PositionMiddle, tickets.ReplyQuality{Score: 50,
			Findings: []tickets.QualityFinding{{Check: "promise", Cue: "guarantee"}, {Check: "pii", Kind: "EMAIL"}}}},
		{"billing", "Your card is on its way.", tickets.PositionLast, tickets.ReplyQuality{Score: 90, Findings: []tickets.QualityFinding{{Check: "missing_closing"}}}},
		{"billing", "Your card is on its way. Have a nice day!", tickets.PositionLast, tickets.ReplyQuality{Score: 100, Findings: []tickets.QualityFinding{}}},
	}
	for _, tc := range tests {
		got, err := q.InspectReply(ctx, tc.group, tc.text, tc.pos)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s %q (-want +got):\n%s", tc.group, tc.text, diff)
		}
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("default: {weights: {politeness: 5}}\n"), 0o600)
	for file, want := range map[string]string{bad: "unknown check", filepath.Join(dir, "missing.yaml"): "no such file"} {
		if _, err := newQualityInspector(config.QualityConfig{RulesFile: file}, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("rules file %s: %v, want an error with %q", filepath.Base(file), err, want)
		}
	}
}

// fakeRules is the rules table as another replica left it.
type fakeRules struct {
	doc   tickets.QualityRules
	found bool
}

func (f *fakeRules) StoredQualityRules(context.Context) (tickets.QualityRules, bool, error) {
	return f.doc, f.found, nil
}

// TestSavedQualityRulesReachEveryReplica: rules saved from the admin page (on any
// replica) take the place of quality.rules_file within rulesRecheck; removed, the
// file's rules are back; rules that do not parse are refused before they are stored.
func TestSavedQualityRulesReachEveryReplica(t *testing.T) {
	q, err := newQualityInspector(config.QualityConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	table := &fakeRules{}
	q.stored = table
	ctx := context.Background()
	greets := func() bool {
		t.Helper()
		q.checkedAt = time.Time{} // as if rulesRecheck had passed
		got, err := q.InspectReply(ctx, "vip", "Dear Ms. Lee, your card is on its way.", tickets.PositionFirst)
		if err != nil {
			t.Fatal(err)
		}
		return !slices.ContainsFunc(got.Findings, func(f tickets.QualityFinding) bool { return f.Check == "missing_greeting" })
	}
	if greets() {
		t.Fatal("the built-in rules take \"Dear\" for a greeting")
	}
	table.doc, table.found = tickets.QualityRules{YAML: "groups:\n  vip:\n    greeting: {en: [dear], zh: [尊敬的]}\n", Version: 1}, true
	if !greets() {
		t.Error("the saved rules are not in force")
	}
	q.checkedAt = time.Now()
	table.found = false
	if got, _ := q.InspectReply(ctx, "vip", "Dear Ms. Lee, your card is on its way.", tickets.PositionFirst); len(got.Findings) != 0 {
		t.Error("the rules were read again before rulesRecheck passed")
	}
	if greets() {
		t.Error("removed, the saved rules stayed in force")
	}
	ed := qualityRulesEditor{insp: q}
	for _, bad := range []string{"", "groups:\n  vip:\n    greting: {en: [dear]}\n", "default: [1, 2"} {
		if _, err := ed.SetQualityRules(ctx, tickets.Actor{ID: "sam"}, bad); !errors.Is(err, tickets.ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", bad, err)
		}
	}
}
