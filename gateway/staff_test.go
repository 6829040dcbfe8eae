package gateway

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/tickets"
)

// TestStaffSignInsAPI: an admin creates a sign-in and changes its role, password and
// whether it is disabled through /v1/staff; bad input is a 4xx that says what is wrong,
// and an admin may not take their own admin role away or disable themselves. Each change
// locks the tokens the sign-in gave out; a disabled account's right password is refused
// with 403 until it is enabled; the list never shows a password hash; every change is
// audited with the admin's name.
func TestStaffSignInsAPI(t *testing.T) {
	in := newInstanceWith(t, newPool(t), "staff"+strings.ToLower(t.Name()), nil,
		func(o *Options) { o.SessionRecheck = time.Millisecond })
	base, ctx := in.http.URL, context.Background()
	hash, err := HashPassword("ada-password-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := in.store.PutStaffAccount(ctx, tickets.StaffAccount{Subject: "ada", Role: "admin", PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	login := func(user, password string) (string, int) {
		var tok SessionToken
		code := call(t, base, "", "POST", "/v1/auth/login", map[string]string{"username": user, "password": password}, &tok)
		return tok.Token, code
	}
	ada, code := login("ada", "ada-password-1")
	if code != 200 {
		t.Fatalf("ada signs in: %d", code)
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
		want               int
		says               string
	}{
		{"create", "POST", "/v1/staff", map[string]string{"subject": "carol", "role": "agent", "password": "carol-password-1"}, 201, ""},
		{"create again", "POST", "/v1/staff", map[string]string{"subject": "carol", "role": "agent", "password": "carol-password-1"}, 409, "already exists"},
		{"customer role", "POST", "/v1/staff", map[string]string{"subject": "dave", "role": "customer", "password": "dave-password-1"}, 400, "want agent, supervisor"},
		{"short password", "POST", "/v1/staff", map[string]string{"subject": "dave", "role": "agent", "password": "short"}, 400, "10 to 72 bytes"},
		{"bad user name", "POST", "/v1/staff", map[string]string{"subject": "dave smith", "role": "agent", "password": "dave-password-1"}, 400, "user name"},
		{"unknown field", "POST", "/v1/staff", map[string]string{"subject": "dave", "role": "agent", "password": "dave-password-1", "hash": "x"}, 400, "unknown field"},
		{"no such sign-in", "PUT", "/v1/staff/nobody/role", map[string]string{"role": "agent"}, 404, "not found"},
		{"unknown role", "PUT", "/v1/staff/carol/role", map[string]string{"role": "boss"}, 400, "role \"boss\""},
		{"own admin role", "PUT", "/v1/staff/ada/role", map[string]string{"role": "supervisor"}, 409, "your own sign-in"},
		{"disable oneself", "PUT", "/v1/staff/ada/disabled", map[string]bool{"disabled": true}, 409, "your own sign-in"},
		{"disabled missing", "PUT", "/v1/staff/carol/disabled", map[string]any{}, 400, "disabled (true or false) is required"},
		{"short new password", "PUT", "/v1/staff/carol/password", map[string]string{"password": "short"}, 400, "10 to 72 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e ErrorBody
			if code := call(t, base, ada, tc.method, tc.path, tc.body, &e); code != tc.want || !strings.Contains(e.Error, tc.says) {
				t.Fatalf("%d %q, want %d saying %q", code, e.Error, tc.want, tc.says)
			}
		})
	}

	carol, code := login("carol", "carol-password-1")
	if code != 200 {
		t.Fatalf("carol signs in: %d", code)
	}
	mustCall(t, 200, base, carol, "GET", "/v1/skill-groups", nil, nil)
	// each change locks carol's tokens out; she signs in again as the change says
	for _, step := range []struct {
		name, path string
		body       any
		password   string // carol's password afterwards
		signIn     int    // her sign-in afterwards
		role       Role
	}{
		{"role", "/v1/staff/carol/role", map[string]string{"role": "supervisor"}, "carol-password-1", 200, RoleSupervisor},
		{"disable", "/v1/staff/carol/disabled", map[string]bool{"disabled": true}, "carol-password-1", 403, ""},
		{"enable", "/v1/staff/carol/disabled", map[string]bool{"disabled": false}, "carol-password-1", 200, RoleSupervisor},
		{"password", "/v1/staff/carol/password", map[string]string{"password": "carol-password-2"}, "carol-password-2", 200, RoleSupervisor},
	} {
		t.Run(step.name, func(t *testing.T) {
			mustCall(t, 200, base, ada, "PUT", step.path, step.body, nil)
			if code := call(t, base, carol, "GET", "/v1/skill-groups", nil, nil); code != 401 {
				t.Fatalf("carol's token after the change: %d, want 401", code)
			}
			var tok SessionToken
			if code := call(t, base, "", "POST", "/v1/auth/login", map[string]string{"username": "carol", "password": step.password}, &tok); code != step.signIn {
				t.Fatalf("carol signs in: %d, want %d", code, step.signIn)
			}
			if step.signIn == 200 {
				if tok.Role != step.role {
					t.Fatalf("carol signs in as %s, want %s", tok.Role, step.role)
				}
				carol = tok.Token
			}
		})
	}
	if _, code := login("carol", "carol-password-1"); code != 401 {
		t.Errorf("the old password after the change: %d, want 401", code)
	}

	req, _ := http.NewRequest("GET", base+"/v1/staff", nil)
	req.Header.Set("Authorization", "Bearer "+ada)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(string(raw), "$2a$") || strings.Contains(string(raw), "password") || strings.Contains(string(raw), "epoch") {
		t.Fatalf("list: %d %s", resp.StatusCode, raw)
	}
	var list struct {
		Accounts []staffView `json:"accounts"`
	}
	mustCall(t, 200, base, ada, "GET", "/v1/staff", nil, &list)
	var got []string
	for _, a := range list.Accounts {
		got = append(got, a.Subject+" "+a.Role)
		if a.Disabled || a.UpdatedAt.IsZero() {
			t.Errorf("account %+v", a)
		}
	}
	if diff := cmp.Diff([]string{"ada admin", "carol supervisor"}, got); diff != "" {
		t.Errorf("accounts (-want +got):\n%s", diff)
	}
	mustCall(t, 403, base, carol, "GET", "/v1/staff", nil, nil) // a supervisor may not

	var log struct {
		Events []tickets.AuditEvent `json:"events"`
	}
	mustCall(t, 200, base, in.token(t, "audrey", RoleAuditor), "GET", "/v1/audit", nil, &log)
	got = nil
	for _, e := range log.Events {
		if strings.HasPrefix(e.Action, "staff.") {
			got = append(got, e.Actor+" "+e.Action+" "+e.Target)
		}
		if strings.Contains(string(e.Detail), "$2a$") || strings.Contains(string(e.Detail), "carol-password") {
			t.Errorf("audit event %s %s holds a password or hash: %s", e.Action, e.Target, e.Detail)
		}
	}
	want := []string{"ada staff.create staff:carol", "ada staff.role staff:carol", "ada staff.disable staff:carol",
		"ada staff.enable staff:carol", "ada staff.password staff:carol"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit events (-want +got):\n%s", diff)
	}
}
