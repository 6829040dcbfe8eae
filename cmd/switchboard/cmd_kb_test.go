package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	root := rootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		t.Fatalf("switchboard %v: %v", args, err)
	}
	return out.String()
}

func TestTrainThenAskReportsIntentAndEscalation(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SWITCHBOARD_DATA_DIR", dir)
	csv := "text,category\n"
	for _, q := range []string{"where is my card", "my card has not arrived", "card still not here", "when will the card come"} {
		csv += q + ",card_arrival\n"
	}
	for _, q := range []string{"refund not received", "where is my refund", "refund is late", "I want my money back"} {
		csv += q + ",refund\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "ex.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := runCLI(t, "kb", "train", filepath.Join(dir, "ex.csv")); !strings.Contains(out, `"labels":2`) {
		t.Fatalf("train output %s", out)
	}
	var got askResult
	for _, tc := range []struct {
		q, intent string
		human     bool
	}{
		{"my card has still not arrived", "card_arrival", false},
		{"我要投诉，转人工", "", true},
	} {
		if err := json.Unmarshal([]byte(runCLI(t, "ask", tc.q)), &got); err != nil {
			t.Fatal(err)
		}
		if (tc.intent != "" && got.Intent != tc.intent) || got.WantsHuman != tc.human || !got.Escalate {
			t.Errorf("ask %q: %+v", tc.q, got)
		}
	}
}

func TestKBEvalOnSharedData(t *testing.T) {
	data := testenv.SharedData(t, "")
	var rep evalReport
	if err := json.Unmarshal([]byte(runCLI(t, "kb", "eval", "--json", "--data", data)), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Banking77Acc < 0.915 || rep.CLINC150InScopeAcc < 0.91 || rep.CLINC150OOSRecall < 0.74 ||
		rep.BQAcc == nil || *rep.BQAcc < 0.74 || *rep.LCQMCAcc < 0.78 || *rep.ATECCCKSAcc < 0.78 {
		t.Fatalf("eval %+v", rep)
	}
}
