package tickets

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestPastResolutions: a resolved ticket's resolution is the customer's words before the
// first reply and the agent's last reply before resolving; a ticket the customer rated 1,
// one resolved without a reply, and an open one are no model to learn from.
func TestPastResolutions(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	open := func(customer, text string) Ticket {
		tk, _, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: customer}, Subject: "help",
			Message: text, Skills: []string{"tech"}})
		if err != nil {
			t.Fatal(err)
		}
		if tk.AssigneeID == "" {
			t.Fatalf("%s: not assigned", customer)
		}
		return tk
	}
	// the service's clock follows the wall clock's, which stamps the messages
	reply := func(tk Ticket, text string) {
		ts.clock.t = time.Now()
		if _, _, err := ts.Reply(ctx, Actor{ID: tk.AssigneeID}, tk.ID, text); err != nil {
			t.Fatal(err)
		}
	}
	resolve := func(tk Ticket) {
		ts.clock.t = time.Now()
		if _, err := ts.Resolve(ctx, Actor{ID: tk.AssigneeID}, tk.ID); err != nil {
			t.Fatal(err)
		}
	}
	good := open("p1", "the app crashes at start")
	reply(good, "Which version do you have?")
	if _, err := ts.store.AddMessage(ctx, Message{ConversationID: good.ConversationID, Author: "customer", Text: "the old version"}); err != nil {
		t.Fatal(err)
	}
	reply(good, "Please update the app, the new version fixes it.")
	resolve(good)
	rated := open("p2", "the app is slow")
	reply(rated, "Restart your phone.")
	resolve(rated)
	if r, err := ts.RateCSAT(ctx, rated.CustomerID, "1 useless"); err != nil || !r.Rated {
		t.Fatalf("rating %+v %v", r, err)
	}
	silent := open("p3", "never mind")
	resolve(silent)
	open("p4", "still waiting") // open

	got, err := ts.store.PastResolutions(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i].ResolvedAt = got[i].ResolvedAt.UTC().Truncate(0)
	}
	want := []Resolution{{TicketID: good.ID, Subject: "help", Question: "the app crashes at start", Answer: "Please update the app, the new version fixes it.",
		AgentID: good.AssigneeID}}
	if len(got) == 1 {
		want[0].ResolvedAt = got[0].ResolvedAt
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("past resolutions (-want +got):\n%s", d)
	}
}
