package tickets

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestTicketListsAndFilters: the console's lists (mine, waiting, open, resolved) with
// their filters (channel, SLA state) and a search by the customer's whole name, as a
// supervisor and as an agent, who lists only what they hold and what waits in their
// groups.
func TestTicketListsAndFilters(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	mk := func(customer, name, channel string, p Priority, skill string) Ticket {
		tk, _, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: customer, DisplayName: name},
			Channel: channel, Subject: "help", Message: "where is my parcel", Skills: []string{skill}, Priority: p})
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	// high: first response in an hour, round the clock; urgent: 15 minutes; low: 8
	// business hours
	status := func(agent string, st AgentStatus) {
		if _, err := ts.SetAgentStatus(ctx, agent, st, -1); err != nil {
			t.Fatal(err)
		}
	}
	status("bob", AgentOffline)
	a := mk("c1", "Wang Fang", "telegram", PriorityHigh, "billing") // alice (capacity 1)
	status("bob", AgentOnline)
	b := mk("c2", "Li Lei", "web", PriorityHigh, "billing") // bob, who resolves it and leaves
	if _, err := ts.Resolve(ctx, Actor{ID: "bob"}, b.ID); err != nil {
		t.Fatal(err)
	}
	status("bob", AgentOffline)
	c := mk("c3", "Zhang Wei", "web", PriorityHigh, "tech")     // carol, who answers
	d := mk("c4", "Chen Jing", "slack", PriorityLow, "billing") // waits: alice is full
	e := mk("c5", "Zhao Min", "web", PriorityUrgent, "tech")    // waits: carol is full
	if _, _, err := ts.Reply(ctx, Actor{ID: "carol"}, c.ID, "on its way"); err != nil {
		t.Fatal(err)
	}
	sup, alice, bob, carol := Actor{ID: "sam", Supervisor: true}, Actor{ID: "alice"}, Actor{ID: "bob"}, Actor{ID: "carol"}
	list := func(actor Actor, f TicketFilter) []string {
		t.Helper()
		got, err := ts.ListTickets(ctx, actor, f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		ids := []string{}
		for _, tk := range got {
			ids = append(ids, tk.ID)
		}
		slices.Sort(ids)
		return ids
	}
	ids := func(ts ...Ticket) []string {
		out := []string{}
		for _, t := range ts {
			out = append(out, t.ID)
		}
		slices.Sort(out)
		return out
	}
	// the SLA states at a moment nine tenths through a's first-response time: a at risk,
	// e (urgent) past due, c answered, d (low) with hours to go
	atRisk := a.FirstResponseDue.Add(-a.FirstResponseDue.Sub(a.CreatedAt) / 10)
	for _, tc := range []struct {
		name  string
		actor Actor
		f     TicketFilter
		want  []string
	}{
		{"supervisor: waiting", sup, TicketFilter{View: ViewWaiting}, ids(d, e)},
		{"supervisor: open", sup, TicketFilter{View: ViewOpen}, ids(a, c, d, e)},
		{"supervisor: resolved", sup, TicketFilter{View: ViewResolved}, ids(b)},
		{"supervisor: mine (holds none)", sup, TicketFilter{View: ViewMine}, ids()},
		{"supervisor: web", sup, TicketFilter{Channel: "web"}, ids(b, c, e)},
		{"supervisor: open on web", sup, TicketFilter{View: ViewOpen, Channel: "web"}, ids(c, e)},
		{"supervisor: a customer's whole name, any case", sup, TicketFilter{Text: "zhang WEI"}, ids(c)},
		{"supervisor: part of a name finds nothing (names are sealed)", sup, TicketFilter{Text: "Zhang"}, ids()},
		{"agent: mine", alice, TicketFilter{View: ViewMine}, ids(a)},
		{"agent: waiting in her groups", alice, TicketFilter{View: ViewWaiting}, ids(d)},
		{"agent: open (hers and waiting)", alice, TicketFilter{View: ViewOpen}, ids(a, d)},
		{"agent: all she may list", alice, TicketFilter{}, ids(a, d)},
		{"agent of another group: what waits in hers", carol, TicketFilter{View: ViewWaiting}, ids(e)},
		{"agent of another group: open", carol, TicketFilter{View: ViewOpen}, ids(c, e)},
		{"agent: what he resolved", bob, TicketFilter{View: ViewResolved}, ids(b)},
		{"agent: waiting in his groups, from Slack", bob, TicketFilter{View: ViewWaiting, Channel: "slack"}, ids(d)},
		{"agent: another customer's name", alice, TicketFilter{Text: "Zhang Wei"}, ids()},
		{"at risk", sup, TicketFilter{View: ViewOpen, SLA: SLAAtRisk, Now: atRisk, AtRiskFraction: 0.2}, ids(a)},
		{"a smaller at-risk fraction", sup, TicketFilter{View: ViewOpen, SLA: SLAAtRisk, Now: atRisk, AtRiskFraction: 0.05}, ids()},
		{"breached: past due, not yet marked", sup, TicketFilter{SLA: SLABreached, Now: a.FirstResponseDue.Add(time.Minute)}, ids(a, e)},
		{"ok", sup, TicketFilter{SLA: SLAOK, Now: atRisk}, ids(b, c, d)},
		{"breached at that moment", sup, TicketFilter{SLA: SLABreached, Now: atRisk}, ids(e)},
	} {
		if got := list(tc.actor, tc.f); !cmp.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v\n(a %s, b %s, c %s, d %s, e %s)", tc.name, got, tc.want, a.ID, b.ID, c.ID, d.ID, e.ID)
		}
	}
	for _, f := range []TicketFilter{{View: "everything"}, {SLA: "late"}} {
		if _, err := ts.ListTickets(ctx, sup, f); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", f, err)
		}
	}
}
