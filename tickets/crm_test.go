package tickets

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeCRM answers lookups by email; down makes every lookup fail.
type fakeCRM struct {
	mu      sync.Mutex
	records map[string]CRMRecord
	asked   []Identity
	down    bool
}

func (f *fakeCRM) LookupCustomer(_ context.Context, id Identity) (CRMRecord, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, id)
	if f.down {
		return CRMRecord{}, false, errors.New("crm: unavailable")
	}
	rec, ok := f.records[id.Email]
	return rec, ok, nil
}

// TestCRMEnricher: each new conversation's customer is looked up once, with their
// decrypted contact details; what the CRM knows fills the customer (tier, name, tags,
// owner) and the next escalation is routed with the tier; a failed lookup is tried again
// once its lease runs out; two replicas never look the same conversation up twice.
func TestCRMEnricher(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	crm := &fakeCRM{records: map[string]CRMRecord{"ann@example.com": {ID: "c-17", Tier: ptr(2), Tags: []string{"enterprise"},
		Account: "Acme", Owner: "Dana", Name: "Ann Lee"}, "vip@example.com": {ID: "c-18"}}}
	e := NewCRMEnricher(ts.store, crm, slog.New(slog.DiscardHandler), nil)
	e.RetryAfter = 50 * time.Millisecond

	// Ann is known to the CRM; Bo is not.
	open := func(ref, email string) string {
		t.Helper()
		c, err := ts.store.UpsertCustomer(ctx, Customer{PseudonymousID: ref, Email: email}, false)
		if err != nil {
			t.Fatal(err)
		}
		conv, err := ts.store.CreateConversation(ctx, c.ID, "webhook")
		if err != nil {
			t.Fatal(err)
		}
		return conv
	}
	open("web:ann", "ann@example.com")
	open("web:bo", "bo@example.com")
	if n, err := e.RunOnce(ctx); err != nil || n != 2 {
		t.Fatalf("first pass claimed %d (%v), want 2", n, err)
	}
	want := []Identity{{Channel: "webhook", ChannelID: "web:ann", Email: "ann@example.com"}, {Channel: "webhook", ChannelID: "web:bo", Email: "bo@example.com"}}
	if diff := cmp.Diff(want, crm.asked, cmpopts.SortSlices(func(a, b Identity) bool { return a.ChannelID < b.ChannelID })); diff != "" {
		t.Errorf("asked (-want +got):\n%s", diff)
	}
	ann, err := ts.store.FindCustomerByContact(ctx, "email", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if ann.VIPTier != 2 || ann.DisplayName != "Ann Lee" || ann.CRM == nil ||
		!cmp.Equal(*ann.CRM, CRMRecord{ID: "c-17", Tier: ptr(2), Tags: []string{"enterprise"}, Account: "Acme", Owner: "Dana"}, cmpopts.IgnoreFields(CRMRecord{}, "SyncedAt")) {
		t.Errorf("Ann after the lookup: %+v crm %+v", ann, ann.CRM)
	}
	if n, _ := e.RunOnce(ctx); n != 0 {
		t.Errorf("a second pass claimed %d, want none: each conversation is looked up once", n)
	}
	// Ann's escalation is routed as the CRM's tier says.
	tk, _, err := ts.CreateTicket(ctx, Actor{ID: "bot"}, NewTicket{Customer: Customer{PseudonymousID: "web:ann"}, Subject: "help", Message: "help", Skills: []string{"billing"}})
	if err != nil || tk.VIPTier != 2 {
		t.Errorf("Ann's ticket: tier %d (%v), want 2", tk.VIPTier, err)
	}

	if n, _ := e.RunOnce(ctx); n != 1 { // the ticket's conversation
		t.Errorf("the ticket's new conversation: claimed %d, want 1", n)
	}

	// The CRM is down: the conversation waits, and is looked up once the CRM is back.
	crm.down = true
	conv := open("web:cy", "ann@example.com")
	if n, _ := e.RunOnce(ctx); n != 1 {
		t.Fatalf("claimed %d, want 1", n)
	}
	if n, _ := e.RunOnce(ctx); n != 0 {
		t.Errorf("a failed lookup was retried at once (%d), before its lease ran out", n)
	}
	crm.down = false
	time.Sleep(100 * time.Millisecond)
	if n, _ := e.RunOnce(ctx); n != 1 {
		t.Errorf("after the lease: claimed %d, want the failed one again", n)
	}
	var checked bool
	if err := ts.store.primary.QueryRow(ctx, `SELECT crm_checked_at IS NOT NULL FROM conversations WHERE id = $1`, conv).Scan(&checked); err != nil || !checked {
		t.Errorf("conversation checked %v (%v)", checked, err)
	}

	// A CRM record without a tier leaves a VIP customer's tier as it was.
	vip, err := ts.store.UpsertCustomer(ctx, Customer{PseudonymousID: "web:vip", Email: "vip@example.com", VIPTier: 3}, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.CreateConversation(ctx, vip.ID, "webhook"); err != nil {
		t.Fatal(err)
	}
	e.RunOnce(ctx)
	if got, _ := ts.store.GetCustomer(ctx, vip.ID); got.VIPTier != 3 || got.CRM == nil || got.CRM.ID != "c-18" {
		t.Errorf("VIP after a lookup without a tier: tier %d, crm %+v", got.VIPTier, got.CRM)
	}

	// Two replicas, ten new conversations: ten lookups.
	crm.asked = nil
	for i := range 10 {
		open("web:many"+string(rune('a'+i)), "")
	}
	other := NewCRMEnricher(ts.store, crm, slog.New(slog.DiscardHandler), nil)
	e.Batch, other.Batch = 3, 3
	var wg sync.WaitGroup
	for _, r := range []*CRMEnricher{e, other} {
		wg.Go(func() {
			for {
				if n, err := r.RunOnce(ctx); err != nil || n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(crm.asked) != 10 {
		t.Errorf("%d lookups for 10 conversations", len(crm.asked))
	}
}
