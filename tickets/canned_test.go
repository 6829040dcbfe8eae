package tickets

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCannedResponses: shared responses are a supervisor's, personal ones their owner's;
// an agent sees the shared and their own; rendering picks the agent's own, then the
// customer's language, and fills in the variables; every change is audited.
func TestCannedResponses(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	sup, alice, carol := Actor{ID: "sam", Supervisor: true}, Actor{ID: "alice"}, Actor{ID: "carol"}

	if _, err := ts.PutCanned(ctx, alice, CannedResponse{Shortcut: "refund", Body: "x"}, true); !errors.Is(err, ErrForbidden) {
		t.Fatalf("an agent's shared response: %v, want ErrForbidden", err)
	}
	en, err := ts.PutCanned(ctx, sup, CannedResponse{Shortcut: "/Refund", Lang: "en",
		Body: "Hi {{customer.name}}, {{agent.name}} here: ticket {{ ticket.id }} is refunded."}, true)
	if err != nil {
		t.Fatal(err)
	}
	if en.Shortcut != "refund" || en.Owner != "" || en.Title != "/refund" || en.ID == 0 {
		t.Errorf("stored %+v", en)
	}
	zh, err := ts.PutCanned(ctx, sup, CannedResponse{Shortcut: "refund", Lang: "zh", Body: "{{customer.name}}您好，工单 {{ticket.id}} 已退款。"}, true)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := ts.PutCanned(ctx, alice, CannedResponse{Shortcut: "bye", Body: "Bye from {{agent.name}}"}, false)
	if err != nil || mine.Owner != "alice" {
		t.Fatalf("alice's own: %+v %v", mine, err)
	}
	if _, err := ts.PutCanned(ctx, carol, CannedResponse{Shortcut: "bye", Body: "Carol's"}, false); err != nil {
		t.Fatal(err) // another owner may use the same shortcut
	}
	for _, bad := range []CannedResponse{
		{Shortcut: "", Body: "x"}, {Shortcut: "a b", Body: "x"}, {Shortcut: "ok", Body: ""},
		{Shortcut: "ok", Lang: "fr", Body: "x"}, {Shortcut: "ok", Body: "{{customer.phone}}"},
	} {
		if _, err := ts.PutCanned(ctx, sup, bad, true); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := ts.PutCanned(ctx, sup, CannedResponse{Shortcut: "refund", Lang: "en", Body: "again"}, true); !errors.Is(err, ErrConflict) {
		t.Errorf("a second shared /refund in English: %v, want ErrConflict", err)
	}

	list, err := ts.CannedResponses(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range list {
		got = append(got, c.Owner+"/"+c.Shortcut+":"+c.Lang)
	}
	if diff := cmp.Diff([]string{"alice/bye:", "/refund:en", "/refund:zh"}, got); diff != "" {
		t.Errorf("alice's list (-want +got):\n%s", diff)
	}

	// carol may neither change alice's response nor the shared one; alice may change hers
	if _, err := ts.PutCanned(ctx, carol, CannedResponse{ID: mine.ID, Shortcut: "bye", Body: "mine now"}, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("carol editing alice's: %v, want ErrNotFound", err)
	}
	if err := ts.DeleteCanned(ctx, alice, en.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("alice deleting a shared one: %v, want ErrForbidden", err)
	}
	if _, err := ts.PutCanned(ctx, alice, CannedResponse{ID: mine.ID, Shortcut: "bye", Body: "Goodbye from {{agent.name}}"}, true); err != nil {
		t.Errorf("alice editing hers (asking for shared changes nothing): %v", err)
	}

	tk, _ := create(t, ts, "Li Lei", "billing") // alice's
	for _, c := range []struct {
		actor                Actor
		shortcut, lang, want string
	}{
		{alice, "/refund", "en", "Hi Li Lei, alice here: ticket " + tk.ID + " is refunded."},
		{alice, "refund", "zh", "Li Lei您好，工单 " + tk.ID + " 已退款。"},
		{alice, "refund", "", "Hi Li Lei, alice here: ticket " + tk.ID + " is refunded."}, // en sorts first among equals
		{alice, "bye", "zh", "Goodbye from alice"},
	} {
		r, err := ts.RenderCanned(ctx, c.actor, tk.ID, c.shortcut, c.lang)
		if err != nil || r.Text != c.want {
			t.Errorf("%s %s: %q %v, want %q", c.shortcut, c.lang, r.Text, err, c.want)
		}
	}
	anon, _, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: "web:1"}, Subject: "hi", Skills: []string{"billing"}})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := ts.RenderCanned(ctx, sup, anon.ID, "refund", "en"); err != nil || r.Text != "Hi, sam here: ticket "+anon.ID+" is refunded." {
		t.Errorf("for a visitor without a name: %q %v", r.Text, err)
	}
	if _, err := ts.RenderCanned(ctx, carol, tk.ID, "refund", "en"); !errors.Is(err, ErrForbidden) && !errors.Is(err, ErrNotFound) {
		t.Errorf("carol rendering for alice's ticket: %v, want refused", err)
	}
	if _, err := ts.RenderCanned(ctx, alice, tk.ID, "nothing", "en"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown shortcut: %v, want ErrNotFound", err)
	}

	if err := ts.DeleteCanned(ctx, sup, zh.ID); err != nil {
		t.Fatal(err)
	}
	if err := ts.DeleteCanned(ctx, sup, zh.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted twice: %v, want ErrNotFound", err)
	}
	events, err := ts.store.AuditLog(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, e := range events {
		counts[e.Action]++
	}
	if counts["canned.put"] != 5 || counts["canned.delete"] != 1 {
		t.Errorf("audited %v, want 5 canned.put and 1 canned.delete", counts)
	}
}
