package tickets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestNotesAndTags: a note is redacted, names the agents it mentions (an unknown one is
// refused), lands in the ticket's detail and never in the conversation; tags are
// normalized, filter the ticket list, and both changes are audited.
func TestNotesAndTags(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	alice, carol := Actor{ID: "alice"}, Actor{ID: "carol"}
	tk, _ := create(t, ts, "c1", "billing") // alice's

	if _, err := ts.AddNote(ctx, alice, tk.ID, "ask @nobody"); !errors.Is(err, ErrInvalid) {
		t.Errorf("mentioning a stranger: %v, want ErrInvalid", err)
	}
	many := "@bob @carol @alice @bob"
	for i := range 8 {
		id := fmt.Sprintf("a%d", i)
		if _, err := ts.store.PutAgent(ctx, Agent{ID: id, Groups: []string{"tech"}, Capacity: 1}); err != nil {
			t.Fatal(err)
		}
		many += " @" + id
	}
	if _, err := ts.AddNote(ctx, alice, tk.ID, many); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "at most 10") {
		t.Errorf("a note with eleven agents mentioned: %v, want ErrInvalid (at most 10)", err)
	}
	if _, err := ts.AddNote(ctx, alice, tk.ID, "  "); !errors.Is(err, ErrInvalid) {
		t.Errorf("an empty note: %v, want ErrInvalid", err)
	}
	if _, err := ts.AddNote(ctx, carol, tk.ID, "mine now"); !errors.Is(err, ErrForbidden) && !errors.Is(err, ErrNotFound) {
		t.Errorf("carol noting on alice's ticket: %v, want refused", err)
	}
	n, err := ts.AddNote(ctx, alice, tk.ID, "@Bob can you check card 6222 0000 1111 2222? cc @bob, mail x@bob.com")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(n.Mentions, []string{"bob"}) || strings.Contains(n.Text, "6222") {
		t.Errorf("note %+v: want one mention of bob and the card redacted", n)
	}
	d, err := ts.Detail(ctx, alice, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Notes) != 1 || d.Notes[0].ID != n.ID || d.Ticket.Version <= tk.Version {
		t.Errorf("detail notes %+v, version %d after %d", d.Notes, d.Ticket.Version, tk.Version)
	}
	for _, m := range d.Messages {
		if strings.Contains(m.Text, "can you check") {
			t.Errorf("the note is a conversation message: %+v", m)
		}
	}

	got, err := ts.SetTags(ctx, alice, tk.ID, []string{" Refund", "#vip", "refund", "退款"})
	if err != nil || !slices.Equal(got.Tags, []string{"refund", "vip", "退款"}) {
		t.Fatalf("tags %v %v", got.Tags, err)
	}
	if _, err := ts.SetTags(ctx, alice, tk.ID, []string{"no spaces please"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a tag with spaces: %v, want ErrInvalid", err)
	}
	if _, err := ts.SetTags(ctx, carol, tk.ID, []string{"x"}); !errors.Is(err, ErrForbidden) && !errors.Is(err, ErrNotFound) {
		t.Errorf("carol tagging alice's ticket: %v, want refused", err)
	}
	if again, err := ts.SetTags(ctx, alice, tk.ID, []string{"refund", "vip", "退款"}); err != nil || again.Version != got.Version {
		t.Errorf("the same tags again: version %d after %d, %v (no change, no new version)", again.Version, got.Version, err)
	}
	other, _ := create(t, ts, "c2", "billing")
	for tag, want := range map[string][]string{"vip": {tk.ID}, "退款": {tk.ID}, "none": nil} {
		if ids := listedIDs(t, ts, TicketFilter{Tag: tag}); !slices.Equal(ids, want) {
			t.Errorf("tickets tagged %q: %v, want %v (not %s)", tag, ids, want, other.ID)
		}
	}
	events, err := ts.store.AuditLog(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		if e.Action == "ticket.note" || e.Action == "ticket.tags" {
			actions = append(actions, e.Actor+" "+e.Action)
		}
	}
	if !slices.Equal(actions, []string{"alice ticket.note", "alice ticket.tags"}) {
		t.Errorf("audited %v", actions)
	}
}

// TestTicketSearch: the list finds tickets by a piece of their subject or redacted
// conversation, Chinese or English, any case, with LIKE's wildcards taken literally.
func TestTicketSearch(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	mk := func(customer, subject, msg string) string {
		tk, _, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: customer}, Subject: subject, Message: msg,
			Skills: []string{"billing"}, Priority: PriorityHigh})
		if err != nil {
			t.Fatal(err)
		}
		return tk.ID
	}
	refund := mk("s1", "退款", "我的退款还没到账")
	card := mk("s2", "Card blocked", "My CARD was blocked, reference snake_case_ref")
	for q, want := range map[string][]string{"退款还没": {refund}, "card": {card}, "snake_case": {card}, "snake%case": nil, "snake_cas_": nil,
		"nothing like it": nil} {
		if ids := listedIDs(t, ts, TicketFilter{Text: q, Priority: PriorityHigh}); !slices.Equal(ids, want) {
			t.Errorf("%q: %v, want %v", q, ids, want)
		}
	}
	if list, _ := ts.store.ListTickets(ctx, TicketFilter{Text: "card", Priority: PriorityLow}); len(list) != 0 {
		t.Errorf("priority low: %v", list)
	}
}

// listedIDs lists the tickets f selects, by id.
func listedIDs(t *testing.T, ts *testService, f TicketFilter) []string {
	t.Helper()
	list, err := ts.store.ListTickets(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range list {
		ids = append(ids, l.ID)
	}
	return ids
}

// TestSetPriority: raising a ticket's priority moves its SLA deadlines to the new
// policy's, from its opening; only its agent or a supervisor may; audited.
func TestSetPriority(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	tk, _ := create(t, ts, "c1", "billing") // alice's, normal
	pols, err := ts.store.SLAPolicies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.SetPriority(ctx, Actor{ID: "carol"}, tk.ID, PriorityUrgent); !errors.Is(err, ErrForbidden) {
		t.Errorf("carol: %v, want ErrForbidden", err)
	}
	if _, _, err := ts.SetPriority(ctx, Actor{ID: "alice"}, tk.ID, "soon"); !errors.Is(err, ErrInvalid) {
		t.Errorf("a made-up priority: %v, want ErrInvalid", err)
	}
	got, _, err := ts.SetPriority(ctx, Actor{ID: "alice"}, tk.ID, PriorityUrgent)
	if err != nil {
		t.Fatal(err)
	}
	fr, res, _ := pols[PriorityUrgent].Deadlines(tk.CreatedAt)
	if got.Priority != PriorityUrgent || !got.FirstResponseDue.Equal(fr) || !got.ResolutionDue.Equal(res) || !fr.Before(*tk.FirstResponseDue) {
		t.Errorf("after: %s due %v / %v, want urgent due %v / %v (before %v)", got.Priority, got.FirstResponseDue, got.ResolutionDue, fr, res, tk.FirstResponseDue)
	}
	if again, _, err := ts.SetPriority(ctx, Actor{ID: "alice"}, tk.ID, PriorityUrgent); err != nil || again.Version != got.Version {
		t.Errorf("the same priority again: %v, version %d after %d", err, again.Version, got.Version)
	}
	// a waiting ticket stays in the queue, by its new deadline
	for _, a := range []string{"alice", "bob"} {
		if _, err := ts.SetAgentStatus(ctx, a, AgentAway, -1); err != nil {
			t.Fatal(err)
		}
	}
	waiting, a := create(t, ts, "c2", "billing")
	if a != nil {
		t.Fatalf("assigned to %s with everyone away", a.AgentID)
	}
	moved, a, err := ts.SetPriority(ctx, Actor{ID: "sam", Supervisor: true}, waiting.ID, PriorityHigh)
	if err != nil || a != nil || moved.Status != StatusOpen {
		t.Fatalf("waiting ticket: %+v %+v %v", moved, a, err)
	}
	q, err := ts.Queues(ctx, 0.2)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range q {
		if g.GroupID == "billing" && g.WaitingTickets != 1 {
			t.Errorf("billing waits %d tickets, want the one", g.WaitingTickets)
		}
	}
	events, _ := ts.store.AuditLog(ctx, 0, 1000)
	n := 0
	for _, e := range events {
		if e.Action == "ticket.priority" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d ticket.priority events, want 2", n)
	}
}
