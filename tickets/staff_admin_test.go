package tickets

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStaffAccountChanges: an administrator creates a sign-in (not over an existing
// one), changes its role, password and whether it is disabled, one thing at a time; each
// change moves the epoch on and is audited with the administrator's name and without
// the hash; a disabled account reads as disabled until enabled, and `users set`
// (PutStaffAccount) enables a sign-in it replaces.
func TestStaffAccountChanges(t *testing.T) {
	s := NewStore(migratedPool(t), nil, testKeyRing(t))
	ctx := context.Background()
	yes, no := true, false
	created, err := s.CreateStaffAccount(ctx, "ada", StaffAccount{Subject: "carol", Role: "agent", PasswordHash: "$2a$12$first"})
	if err != nil || created.PasswordHash != "" || created.Epoch == 0 {
		t.Fatalf("create: %+v, %v", created, err)
	}
	epoch := created.Epoch
	for _, tc := range []struct {
		name    string
		subject string
		change  StaffChange
		want    error
		role    string
		off     bool
		hash    string
	}{
		{"role", "carol", StaffChange{Role: "supervisor"}, nil, "supervisor", false, "$2a$12$first"},
		{"password", "carol", StaffChange{PasswordHash: "$2a$12$second"}, nil, "supervisor", false, "$2a$12$second"},
		{"disable", "carol", StaffChange{Disabled: &yes}, nil, "supervisor", true, "$2a$12$second"},
		{"disable again", "carol", StaffChange{Disabled: &yes}, nil, "supervisor", true, "$2a$12$second"},
		{"enable", "carol", StaffChange{Disabled: &no}, nil, "supervisor", false, "$2a$12$second"},
		{"two things at once", "carol", StaffChange{Role: "agent", Disabled: &yes}, ErrInvalid, "supervisor", false, "$2a$12$second"},
		{"nothing", "carol", StaffChange{}, ErrInvalid, "supervisor", false, "$2a$12$second"},
		{"nobody", "nobody", StaffChange{Role: "agent"}, ErrNotFound, "supervisor", false, "$2a$12$second"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.ChangeStaffAccount(ctx, "ada", tc.subject, tc.change)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			a, err := s.GetStaffAccount(ctx, "carol")
			if err != nil {
				t.Fatal(err)
			}
			if a.Role != tc.role || a.Disabled != tc.off || a.PasswordHash != tc.hash {
				t.Fatalf("account %+v, want role %s, disabled %v, hash %s", a, tc.role, tc.off, tc.hash)
			}
			if moved := a.Epoch != epoch; moved != (tc.want == nil) {
				t.Fatalf("epoch %d → %d after %v", epoch, a.Epoch, err)
			}
			epoch = a.Epoch
		})
	}
	for _, bad := range []StaffAccount{
		{Subject: "carol", Role: "agent", PasswordHash: "$2a$12$x"}, // exists
		{Subject: "has space", Role: "agent", PasswordHash: "$2a$12$x"},
		{Subject: "", Role: "agent", PasswordHash: "$2a$12$x"},
		{Subject: "dave", Role: "", PasswordHash: "$2a$12$x"},
		{Subject: "dave", Role: "agent"},
	} {
		if _, err := s.CreateStaffAccount(ctx, "ada", bad); !errors.Is(err, ErrConflict) && !errors.Is(err, ErrInvalid) {
			t.Errorf("create %+v: %v, want a conflict or invalid", bad, err)
		}
	}
	if _, err := s.ChangeStaffAccount(ctx, "ada", "carol", StaffChange{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutStaffAccount(ctx, StaffAccount{Subject: "carol", Role: "agent", PasswordHash: "$2a$12$cli"}); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.GetStaffAccount(ctx, "carol"); a.Disabled {
		t.Errorf("users set left the sign-in disabled: %+v", a)
	}
	list, err := s.ListStaffAccounts(ctx)
	if err != nil || len(list) != 1 || list[0].PasswordHash != "" || list[0].UpdatedAt.IsZero() {
		t.Fatalf("list %+v, %v", list, err)
	}
	events, err := s.AuditLog(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, e.Actor+" "+e.Action+" "+e.Target+" "+string(e.Detail))
	}
	want := []string{
		`ada staff.create staff:carol {"role":"agent"}`,
		`ada staff.role staff:carol {"role":"supervisor"}`,
		`ada staff.password staff:carol null`,
		`ada staff.disable staff:carol null`,
		`ada staff.disable staff:carol null`,
		`ada staff.enable staff:carol null`,
		`ada staff.disable staff:carol null`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit events (-want +got):\n%s", diff)
	}
}
