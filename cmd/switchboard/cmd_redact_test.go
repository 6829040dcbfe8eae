package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// execCLI runs the CLI with stdin and returns what it wrote (stdout and stderr).
func execCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := rootCmd()
	var out bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func runRedact(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	return execCLI(t, stdin, append([]string{"redact"}, args...)...)
}

func TestRedactCommand(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		args     []string
		want     string
	}{
		{"text line for line", "call 13812345678\n\nmail a.b@example.com\n订单号 202311230001\n", nil,
			"call [PHONE_1]\n\nmail [EMAIL_1]\n订单号 202311230001\n"},
		{"jsonl field", `{"id":7,"text":"我的手机 13812345678","note":"13812345678"}` + "\n", []string{"--format", "jsonl", "--field", "text"},
			`{"id":7,"note":"13812345678","text":"我的手机 [PHONE_1]"}` + "\n"},
		{"csv columns", "q,a\n\"mail me: x@y.org\",\"ok, 13900001111\"\n", []string{"--format", "csv", "--field", "q", "--field", "a"},
			"q,a\nmail me: [EMAIL_1],\"ok, [PHONE_1]\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runRedact(t, tc.in, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("output (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range [][]string{{"--format", "xml"}, {"--format", "jsonl"}, {"--format", "csv", "--field", "nope"}} {
		if _, err := runRedact(t, "a,b\n1,2\n", bad...); err == nil {
			t.Errorf("redact %v: no error", bad)
		}
	}
	if _, err := runRedact(t, "not json\n", "--format", "jsonl", "--field", "x"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad jsonl: %v", err)
	}
}
