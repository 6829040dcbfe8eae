package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
