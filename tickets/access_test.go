package tickets

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestStaffEpochsNeverRepeat: every change of any account draws a new, larger epoch, so
// deleting and re-creating an account never returns to an epoch its old tokens carry.
func TestStaffEpochsNeverRepeat(t *testing.T) {
	s := NewStore(migratedPool(t), nil, testKeyRing(t))
	ctx := context.Background()
	epoch := func(subject string) int64 {
		t.Helper()
		a, err := s.GetStaffAccount(ctx, subject)
		if err != nil {
			t.Fatal(err)
		}
		return a.Epoch
	}
	put := func(subject string) int64 {
		t.Helper()
		if err := s.PutStaffAccount(ctx, StaffAccount{Subject: subject, Role: "agent", PasswordHash: "$2a$12$x"}); err != nil {
			t.Fatal(err)
		}
		return epoch(subject)
	}
	seen := map[int64]bool{}
	var last int64
	for i, step := range []string{"put alice", "put alice", "delete alice", "put alice", "put bob", "delete alice", "put alice"} {
		op, subject := step[:3], step[4:]
		if op == "del" {
			subject = step[7:]
			if err := s.DeleteStaffAccount(ctx, subject); err != nil {
				t.Fatal(err)
			}
			continue
		}
		e := put(subject)
		if seen[e] || e <= last {
			t.Fatalf("step %d (%s): epoch %d repeats or does not grow (last %d)", i, step, e, last)
		}
		seen[e], last = true, e
	}
}

// TestForeignMessageIDConflicts: a channel message id another customer's message holds
// is refused with ErrConflict, with none of that message's data; nothing is stored. The
// first customer's redelivery is still a duplicate.
func TestForeignMessageIDConflicts(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	first, err := s.RecordInbound(ctx, Inbound{Channel: "webhook", ChannelMessageID: "77", CustomerRef: "webhook:crm-1", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordInbound(ctx, Inbound{Channel: "webhook", ChannelMessageID: "78", CustomerRef: "webhook:crm-2", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"webhook:crm-2", "webhook:new"} { // a known customer, and a first contact
		got, err := s.RecordInbound(ctx, Inbound{Channel: "webhook", ChannelMessageID: "77", CustomerRef: ref, Text: "other"})
		if !errors.Is(err, ErrConflict) || got.ConversationID != "" || got.Outcome != nil {
			t.Errorf("%s reusing crm-1's id: %+v, %v; want ErrConflict and nothing of crm-1's", ref, got, err)
		}
	}
	// The race path (a concurrent first delivery won) checks the sender too.
	if _, err := s.seenInbound(ctx, Inbound{Channel: "webhook", ChannelMessageID: "77", CustomerRef: "webhook:crm-2"}); !errors.Is(err, ErrConflict) {
		t.Errorf("seenInbound for another sender: %v, want ErrConflict", err)
	}
	again, err := s.RecordInbound(ctx, Inbound{Channel: "webhook", ChannelMessageID: "77", CustomerRef: "webhook:crm-1", Text: "hi"})
	if err != nil || !again.Duplicate || again.ConversationID != first.ConversationID {
		t.Fatalf("crm-1's redelivery: %+v, %v", again, err)
	}
	var msgs int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM messages`).Scan(&msgs); err != nil || msgs != 2 {
		t.Fatalf("%d messages stored (%v), want 2", msgs, err)
	}
}

// TestUpsertCustomerLeavesTierAndContactsToSupervisors: without the supervisor's flag a
// new customer gets tier 0 and a stored email or phone is only filled, never replaced.
func TestUpsertCustomerLeavesTierAndContactsToSupervisors(t *testing.T) {
	s := NewStore(migratedPool(t), nil, testKeyRing(t))
	ctx := context.Background()
	steps := []struct {
		in        Customer
		setTier   bool
		wantTier  int
		wantEmail string
		wantPhone string
	}{
		{Customer{PseudonymousID: "c1", VIPTier: 2, Email: "a@example.com"}, false, 0, "a@example.com", ""},
		{Customer{PseudonymousID: "c1", Email: "b@example.com", Phone: "+8613800138000"}, false, 0, "a@example.com", "+8613800138000"},
		{Customer{PseudonymousID: "c1", VIPTier: 3, Email: "b@example.com"}, true, 3, "b@example.com", "+8613800138000"},
		{Customer{PseudonymousID: "c2", VIPTier: 2}, true, 2, "", ""},
	}
	for i, st := range steps {
		got, err := s.UpsertCustomer(ctx, st.in, st.setTier)
		if err != nil {
			t.Fatal(err)
		}
		if got.VIPTier != st.wantTier || got.Email != st.wantEmail || got.Phone != st.wantPhone {
			t.Errorf("step %d: %+v, want tier %d, email %q, phone %q", i, got, st.wantTier, st.wantEmail, st.wantPhone)
		}
	}
}

// TestCanSeeConversation: an agent sees a conversation through a ticket they hold, or
// one open in their group; not through someone else's; supervisors see any.
func TestCanSeeConversation(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	held, _ := create(t, ts, "c1", "billing") // alice
	if held.AssigneeID != "alice" {
		t.Fatalf("fixture ticket went to %q", held.AssigneeID)
	}
	var queued Ticket // tech has three slots (bob 2, carol 1): the fourth ticket waits
	for i := 0; queued.Status != StatusOpen; i++ {
		if i == 5 {
			t.Fatal("no tech ticket waits in the queue")
		}
		queued, _ = create(t, ts, "tech-"+string(rune('a'+i)), "tech")
	}
	for _, tc := range []struct {
		name  string
		actor Actor
		conv  string
		want  error
	}{
		{"holder", Actor{ID: "alice"}, held.ConversationID, nil},
		{"agent of another group", Actor{ID: "carol"}, held.ConversationID, ErrForbidden},
		{"supervisor", Actor{ID: "sam", Supervisor: true}, held.ConversationID, nil},
		{"unknown conversation", Actor{ID: "alice"}, "00000000-0000-0000-0000-000000000000", ErrNotFound},
		{"open in the agent's group", Actor{ID: "carol"}, queued.ConversationID, nil},
		{"open in another group", Actor{ID: "alice"}, queued.ConversationID, ErrForbidden},
	} {
		err := ts.CanSeeConversation(ctx, tc.actor, tc.conv)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestRevocationsKeptUntilTheirTokensExpire: a revocation is listed until keep_until,
// then pruned; exactly one of jti and subject is required; each one is audited.
func TestRevocationsKeptUntilTheirTokensExpire(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	soon := time.Now().Add(time.Hour)
	for _, bad := range []Revocation{{By: "cli", KeepUntil: soon}, {JTI: "j", Subject: "s", By: "cli", KeepUntil: soon},
		{JTI: "j", By: "cli", KeepUntil: time.Now().Add(-time.Minute)}} {
		if _, err := s.RevokeTokens(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("RevokeTokens(%+v): %v, want ErrInvalid", bad, err)
		}
	}
	r, err := s.RevokeTokens(ctx, Revocation{JTI: "jti-1", By: "cli", KeepUntil: soon})
	if err != nil || r.RevokedAt.IsZero() {
		t.Fatalf("revoke: %+v, %v", r, err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO token_revocations (subject, keep_until, revoked_by) VALUES ('old', now() - interval '1 second', 'cli')`); err != nil {
		t.Fatal(err)
	}
	list, err := s.Revocations(ctx)
	if err != nil || len(list) != 1 || list[0].JTI != "jti-1" {
		t.Fatalf("revocations in force: %+v, %v; want only jti-1", list, err)
	}
	var rows, audited int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM token_revocations),
		(SELECT count(*) FROM audit_events WHERE action = 'token.revoke' AND target = 'token:jti-1')`).Scan(&rows, &audited); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || audited != 1 {
		t.Fatalf("%d rows left (want the expired one pruned), %d audit rows (want 1)", rows, audited)
	}
}
