package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

// TestMergeDuplicateTickets: alice holds two tickets of one customer and merges the
// second into the first: the duplicate is closed as merged, its conversation's messages
// are listed with the survivor (the stored transcript untouched), its tags join the
// survivor's and its notes are copied there, her freed slot pulls the ticket that waited,
// and the merge is audited once (merging again changes nothing). A ticket waiting in her
// group merges too and leaves the queue; a supervisor merges across customers; chains,
// merging into itself, into a resolved or merged ticket, and agents who do not hold the
// tickets are refused.
func TestMergeDuplicateTickets(t *testing.T) {
	ts := newTestService(t)
	ctx := context.Background()
	seedAdmin(t, ts)
	if _, err := ts.store.PutAgent(ctx, Agent{ID: "bob", Name: "bob", Groups: []string{"support"}, Capacity: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.SetAgentStatus(ctx, "alice", AgentOnline, 2); err != nil {
		t.Fatal(err)
	}
	alice, bob, sup := Actor{ID: "alice"}, Actor{ID: "bob"}, Actor{ID: "sam", Supervisor: true}
	open := func(pid, subject, message string) Ticket {
		t.Helper()
		tk, _, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: pid}, Channel: "api", Subject: subject, Message: message})
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	first := open("tg:1", "refund", "where is my refund")
	dup := open("tg:1", "refund again", "refund for order 12345 please")
	other := open("tg:2", "other", "a different customer")
	if first.AssigneeID != "alice" || dup.AssigneeID != "alice" || other.AssigneeID != "" {
		t.Fatalf("fixture: %s %s %s, want alice alice and waiting", first.AssigneeID, dup.AssigneeID, other.AssigneeID)
	}
	if _, err := ts.AddNote(ctx, alice, dup.ID, "checked order 12345"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.SetTags(ctx, alice, first.ID, []string{"refund"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.SetTags(ctx, alice, dup.ID, []string{"card", "refund"}); err != nil {
		t.Fatal(err)
	}

	merged, survivor, err := ts.Merge(ctx, alice, dup.ID, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if merged.Status != StatusClosed || merged.MergedInto != first.ID || merged.ClosedAt == nil {
		t.Errorf("duplicate after the merge: %+v", merged)
	}
	if diff := cmp.Diff([]string{"refund", "card"}, survivor.Tags); diff != "" {
		t.Errorf("survivor's tags (-want +got):\n%s", diff)
	}
	// her freed slot pulled the waiting ticket
	if got, err := ts.GetTicket(ctx, other.ID); err != nil || got.AssigneeID != "alice" {
		t.Errorf("the waiting ticket after the merge: %+v, %v; want it pulled to alice", got, err)
	}
	if load, _, err := ts.Router.AgentLoad(ctx, "alice"); err != nil || load != 2 {
		t.Errorf("alice's load %d, %v; want 2 (the survivor and the pulled ticket)", load, err)
	}
	d, err := ts.Detail(ctx, alice, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Merged) != 1 || d.Merged[0].Ticket.ID != dup.ID || len(d.Merged[0].Messages) != 1 ||
		d.Merged[0].Messages[0].Text != "refund for order [NUM] please" {
		t.Errorf("survivor's merged tickets: %+v", d.Merged)
	}
	if len(d.Notes) != 1 || d.Notes[0].MergedFrom != dup.ID || d.Notes[0].Text != "checked order [NUM]" || d.Notes[0].Author != "alice" {
		t.Errorf("survivor's notes: %+v", d.Notes)
	}
	// the duplicate keeps its own transcript and notes
	dd, err := ts.Detail(ctx, alice, dup.ID)
	if err != nil || len(dd.Messages) != 1 || len(dd.Notes) != 1 || dd.Ticket.MergedInto != first.ID {
		t.Errorf("duplicate's detail %+v, %v", dd, err)
	}
	if _, _, err := ts.Merge(ctx, alice, dup.ID, first.ID); err != nil {
		t.Errorf("merging again into the same ticket: %v, want no change", err)
	}
	if got := mergeEvents(t, ts); !slices.Equal(got, []string{"alice " + dup.ID + " → " + first.ID}) {
		t.Errorf("ticket.merge events %v", got)
	}

	// A ticket of the same customer waiting in alice's group (she is full).
	waiting := open("tg:1", "third time", "still no refund")
	if waiting.AssigneeID != "" {
		t.Fatalf("fixture: %+v should wait", waiting)
	}
	if _, _, err := ts.Merge(ctx, bob, waiting.ID, first.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("bob merges into alice's ticket: %v, want ErrForbidden", err)
	}
	if _, _, err := ts.Merge(ctx, alice, waiting.ID, first.ID); err != nil {
		t.Fatalf("alice merges a ticket waiting in her group: %v", err)
	}
	if n, err := ts.Router.QueueDepth(ctx, "support"); err != nil || n != 0 {
		t.Errorf("support's queue holds %d tickets (%v) after the merge, want 0", n, err)
	}

	resolved := open("tg:1", "resolved", "thanks")
	if _, _, err := ts.Merge(ctx, sup, resolved.ID, first.ID); err != nil { // frees a slot for the next case
		t.Fatal(err)
	}
	late := open("tg:1", "late", "one more")
	if _, err := ts.Resolve(ctx, sup, late.ID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		actor     Actor
		dup, into string
		want      error
		says      string
	}{
		{"into itself", alice, first.ID, first.ID, ErrInvalid, "itself"},
		{"into nothing", alice, other.ID, "", ErrInvalid, "into"},
		{"into an unknown ticket", alice, other.ID, uuid.NewString(), ErrInvalid, "into"},
		{"an unknown ticket", alice, uuid.NewString(), first.ID, ErrNotFound, ""},
		{"another customer's, as an agent", alice, other.ID, first.ID, ErrForbidden, "supervisor"},
		{"a merged ticket elsewhere", sup, dup.ID, other.ID, ErrConflict, "already merged"},
		{"into a merged ticket", sup, other.ID, dup.ID, ErrConflict, "merged into"},
		{"a survivor (a chain)", sup, first.ID, other.ID, ErrConflict, "no chains"},
		{"into a resolved ticket", sup, other.ID, late.ID, ErrConflict, "resolved"},
	} {
		_, _, err := ts.Merge(ctx, c.actor, c.dup, c.into)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want %v saying %q", c.name, err, c.want, c.says)
		}
	}
	// a supervisor merges across customers (the same person on another channel)
	if got, _, err := ts.Merge(ctx, sup, other.ID, first.ID); err != nil || got.MergedInto != first.ID {
		t.Errorf("supervisor's merge across customers: %+v, %v", got, err)
	}
	if load, _, err := ts.Router.AgentLoad(ctx, "alice"); err != nil || load != 1 {
		t.Errorf("alice's load %d, %v; want 1 (the survivor)", load, err)
	}
	if _, err := ts.store.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}

// mergeEvents lists the ticket.merge audit events as "actor duplicate → survivor".
func mergeEvents(t *testing.T, ts *testService) []string {
	t.Helper()
	events, err := ts.store.AuditLog(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		if e.Action != "ticket.merge" {
			continue
		}
		var d struct {
			Into string `json:"into"`
		}
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Actor+" "+e.Target+" → "+d.Into)
	}
	return out
}

// TestMergedTicketIsSeenThroughItsSurvivor: an agent who may see the survivor may read
// the duplicate merged into it (its conversation is part of the survivor's story), and
// one who may not, may not.
func TestMergedTicketIsSeenThroughItsSurvivor(t *testing.T) {
	ts := newTestService(t)
	ctx := context.Background()
	seedAdmin(t, ts)
	for _, a := range []Agent{{ID: "carol", Name: "carol", Groups: []string{"support"}, Capacity: 2}, {ID: "bob", Name: "bob", Capacity: 2}} {
		if _, err := ts.store.PutAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	sup := Actor{ID: "sam", Supervisor: true}
	var ids []string
	for _, subject := range []string{"first", "second"} {
		tk, _, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: "tg:9"}, Channel: "api", Subject: subject, Message: subject})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
	}
	if _, _, err := ts.Merge(ctx, sup, ids[1], ids[0]); err != nil {
		t.Fatal(err)
	}
	// the survivor waits in support: carol (support) sees it and its duplicate, bob neither
	if _, err := ts.Detail(ctx, Actor{ID: "carol"}, ids[1]); err != nil {
		t.Errorf("carol reads the duplicate: %v", err)
	}
	for _, id := range ids {
		if _, err := ts.Detail(ctx, Actor{ID: "bob"}, id); !errors.Is(err, ErrForbidden) {
			t.Errorf("bob reads %s: %v, want ErrForbidden", id, err)
		}
	}
}
