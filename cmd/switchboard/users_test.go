package main

import (
	"strings"
	"testing"
)

// TestUsersCommand creates, lists and removes console sign-ins on the embedded
// database, refusing customer roles and short passwords.
func TestUsersCommand(t *testing.T) {
	needPostgres(t)
	t.Setenv("SWITCHBOARD_DATA_DIR", t.TempDir())
	for _, tc := range []struct {
		stdin   string
		args    []string
		wantOut string // "" with wantErr
		wantErr string
	}{
		{"a long passphrase\n", []string{"users", "set", "alice", "--role", "agent"}, "alice can sign in as agent\n", ""},
		{"another passphrase\n", []string{"users", "set", "sam", "--role", "supervisor"}, "sam can sign in as supervisor\n", ""},
		{"a long passphrase\n", []string{"users", "set", "kim", "--role", "customer"}, "", "unknown staff role"},
		{"short\n", []string{"users", "set", "kim", "--role", "agent"}, "", "10 to 72 bytes"},
		{"", []string{"users", "list"}, "alice\tagent\nsam\tsupervisor\n", ""},
		{"", []string{"users", "delete", "alice"}, "alice can no longer sign in\n", ""},
		{"", []string{"users", "delete", "alice"}, "", "not found"},
		{"", []string{"users", "list"}, "sam\tsupervisor\n", ""},
	} {
		out, err := execCLI(t, tc.stdin, tc.args...)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: err %v, want one saying %q", tc.args, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.wantErr == "" && out != tc.wantOut:
			t.Errorf("%v printed %q, want %q", tc.args, out, tc.wantOut)
		}
	}
}
