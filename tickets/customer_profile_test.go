package tickets

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCustomerProfile: the same person on Telegram and the web (one email) is one
// profile: both identities, both channels, both tickets, their rating, with the email
// masked; a stranger with another email is not in it. An agent sees the profile of a
// customer whose ticket they hold, not another's.
func TestCustomerProfile(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	open := func(c Customer, channel, skill string) Ticket {
		tk, _, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: c, Channel: channel, Subject: "help",
			Message: "my parcel is late", Skills: []string{skill}})
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	first := open(Customer{PseudonymousID: "telegram:42", DisplayName: "Wang Fang", Email: "wang.fang@example.com"}, "telegram", "billing") // alice
	if _, err := ts.Resolve(ctx, Actor{ID: first.AssigneeID}, first.ID); err != nil {
		t.Fatal(err)
	}
	if r, err := ts.RateCSAT(ctx, first.CustomerID, "4 quick, thanks"); err != nil || !r.Rated {
		t.Fatalf("rating: %+v %v", r, err)
	}
	second := open(Customer{PseudonymousID: "web:9f2", DisplayName: "Fang", Email: "wang.fang@example.com"}, "web", "tech") // carol
	stranger := open(Customer{PseudonymousID: "web:777", DisplayName: "Li Lei", Email: "li.lei@example.com"}, "web", "tech")

	if second.AssigneeID == "" {
		t.Fatal("the second ticket was not assigned")
	}
	p, err := ts.CustomerProfile(ctx, Actor{ID: second.AssigneeID}, second.CustomerID) // bob or carol

	if err != nil {
		t.Fatal(err)
	}
	var idents, channels, tks []string
	for _, c := range p.Identities {
		idents = append(idents, c.PseudonymousID+" "+c.Email)
	}
	for _, c := range p.Channels {
		channels = append(channels, c.Channel)
	}
	for _, tk := range p.Tickets {
		tks = append(tks, tk.ID)
	}
	slices.Sort(channels)
	slices.Sort(tks)
	wantTickets := []string{first.ID, second.ID}
	slices.Sort(wantTickets)
	got := map[string]any{"customer": p.Customer.DisplayName + " " + p.Customer.Email, "identities": idents, "channels": channels,
		"tickets": tks, "conversations": len(p.Conversations), "csat": len(p.CSAT), "average": p.CSATAverage, "rated": p.CSATCount}
	want := map[string]any{"customer": "Fang w•••@example.com", "identities": []string{"web:9f2 w•••@example.com", "telegram:42 w•••@example.com"},
		"channels": []string{"telegram", "web"}, "tickets": wantTickets, "conversations": 2, "csat": 1, "average": 4.0, "rated": 1}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("profile (-want +got):\n%s", d)
	}
	if len(p.CSAT) == 1 && (p.CSAT[0].TicketID != first.ID || p.CSAT[0].Comment != "quick, thanks" || p.CSAT[0].AgentID != first.AssigneeID) {
		t.Errorf("rating %+v", p.CSAT[0])
	}
	if _, err := ts.CustomerProfile(ctx, Actor{ID: "alice"}, stranger.CustomerID); !errors.Is(err, ErrForbidden) { // tech: not hers
		t.Errorf("alice reading a customer she never served: %v, want ErrForbidden", err)
	}
	if _, err := ts.CustomerProfile(ctx, Actor{ID: "sam", Supervisor: true}, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown customer: %v, want ErrNotFound", err)
	}
	if p, err := ts.CustomerProfile(ctx, Actor{ID: "sam", Supervisor: true}, stranger.CustomerID); err != nil || len(p.Identities) != 1 || len(p.Tickets) != 1 {
		t.Errorf("the stranger's own profile: %+v %v", p, err)
	}
	for _, tc := range []struct {
		mask     func(string) string
		in, want string
	}{
		{maskEmail, "", ""}, {maskEmail, "wang@example.com", "w•••@example.com"}, {maskEmail, "王芳@例子.中国", "王•••@例子.中国"},
		{maskPhone, "+8613812345678", "•••5678"}, {maskPhone, "123", "•••"}, {maskPhone, "", ""},
	} {
		if got := tc.mask(tc.in); got != tc.want {
			t.Errorf("mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
