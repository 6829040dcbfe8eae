package tickets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// setupTeam creates two skill groups and three online agents:
// alice (billing, capacity 1), bob (billing+tech, 2), carol (tech, 1).
func setupTeam(t *testing.T, ts *testService) {
	t.Helper()
	ctx := context.Background()
	for _, g := range []SkillGroup{{ID: "billing", Skills: []string{"billing", "refunds"}}, {ID: "tech", Skills: []string{"tech"}}} {
		if _, err := ts.PutSkillGroup(ctx, "admin", g); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []Agent{
		{ID: "alice", Groups: []string{"billing"}, Capacity: 1},
		{ID: "bob", Groups: []string{"billing", "tech"}, Capacity: 2},
		{ID: "carol", Groups: []string{"tech"}, Capacity: 1},
	} {
		if _, err := ts.PutAgent(ctx, "admin", a); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.SetAgentStatus(ctx, a.ID, AgentOnline, -1); err != nil {
			t.Fatal(err)
		}
	}
}

func create(t *testing.T, ts *testService, customer string, skills ...string) (Ticket, *Assignment) {
	t.Helper()
	tk, a, err := ts.CreateTicket(context.Background(), botActor, NewTicket{Customer: Customer{PseudonymousID: customer, DisplayName: customer},
		Subject: "help", Message: "card 6222 0000 1111 2222 was charged twice", Skills: skills})
	if err != nil {
		t.Fatal(err)
	}
	return tk, a
}

// createFor is create for a ticket that must go to agent at once.
func createFor(t *testing.T, ts *testService, customer, agent string, skills ...string) Ticket {
	t.Helper()
	tk, a := create(t, ts, customer, skills...)
	if agentOf(a) != agent {
		t.Fatalf("%s's ticket went to %s, want %s", customer, agentOf(a), agent)
	}
	return tk
}

func agentOf(a *Assignment) string {
	if a == nil {
		return "(queued)"
	}
	return a.AgentID
}

func TestTicketLifecycleRoutesClaimsRepliesResolvesAndPulls(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	alice, bob := Actor{ID: "alice"}, Actor{ID: "bob"}

	t1, a1 := create(t, ts, "c1", "billing")
	if agentOf(a1) != "alice" || t1.Status != StatusAssigned || t1.AssigneeID != "alice" {
		t.Fatalf("t1 went to %s (%s), want alice", agentOf(a1), t1.Status)
	}
	if a1.Score.Weights != DefaultWeights() || a1.Score.Total <= 0 || a1.Score.SkillMatch <= 0 {
		t.Fatalf("t1 score breakdown %+v", a1.Score)
	}
	// bob has 1 of 2 slots used after t2, alice is full: t3 goes to bob too, t4 waits.
	_, a2 := create(t, ts, "c2", "billing")
	t3, a3 := create(t, ts, "c3", "refunds")
	t4, a4 := create(t, ts, "c4", "billing")
	if got := []string{agentOf(a2), agentOf(a3), agentOf(a4)}; !cmp.Equal(got, []string{"bob", "bob", "(queued)"}) {
		t.Fatalf("t2..t4 went to %v", got)
	}
	if t4.Status != StatusOpen || t4.GroupID != "billing" {
		t.Fatalf("t4 %s in %q, want open in billing", t4.Status, t4.GroupID)
	}

	// The transcript holds only redacted text.
	d, err := ts.Detail(ctx, alice, t1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Messages) != 1 || d.Messages[0].Text != "card [NUM] [NUM] [NUM] [NUM] was charged twice" {
		t.Fatalf("stored messages %+v", d.Messages)
	}
	if len(d.Assignments) != 1 || d.Assignments[0].Score != a1.Score || d.Assignments[0].Reason != "route" {
		t.Fatalf("assignments %+v, want the routing decision with its breakdown", d.Assignments)
	}
	if _, err := ts.Detail(ctx, Actor{ID: "carol"}, t1.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("carol reading alice's ticket: %v, want ErrForbidden", err)
	}

	if _, err := ts.Claim(ctx, alice, t1.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.Reply(ctx, bob, t1.ID, "not mine"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("bob replying on alice's ticket: %v, want ErrForbidden", err)
	}
	replied, msg, err := ts.Reply(ctx, alice, t1.ID, "refund sent to card 6222000011112222")
	if err != nil {
		t.Fatal(err)
	}
	if replied.Status != StatusPending || replied.FirstResponseAt == nil || msg.Text != "refund sent to card [NUM]" {
		t.Fatalf("after reply: status %s, first response %v, stored %q", replied.Status, replied.FirstResponseAt, msg.Text)
	}

	// Resolving frees alice's slot, which pulls the waiting t4 at once.
	if _, err := ts.Resolve(ctx, alice, t1.ID); err != nil {
		t.Fatal(err)
	}
	got4, err := ts.GetTicket(ctx, t4.ID)
	if err != nil || got4.AssigneeID != "alice" || got4.Status != StatusAssigned {
		t.Fatalf("t4 after alice freed up: %s/%s, %v", got4.AssigneeID, got4.Status, err)
	}
	as, _ := ts.store.Assignments(ctx, t4.ID)
	if len(as) != 1 || as[0].Reason != "pull" {
		t.Fatalf("t4 assignments %+v, want one pull", as)
	}

	// Transfer t3 from bob to the tech group: carol is free (bob is half busy).
	moved, a, err := ts.Transfer(ctx, bob, t3.ID, "tech", "")
	if err != nil || agentOf(a) != "carol" || moved.GroupID != "tech" {
		t.Fatalf("transfer to tech: %s in %q, %v", agentOf(a), moved.GroupID, err)
	}
	// Closing needs resolved; reopening routes again (alice is full, bob has room).
	if _, err := ts.Close(ctx, alice, t4.ID); !errors.Is(err, ErrConflict) {
		t.Fatalf("close of an assigned ticket: %v, want ErrConflict", err)
	}
	if _, err := ts.Close(ctx, alice, t1.ID); err != nil {
		t.Fatal(err)
	}
	re, ra, err := ts.Reopen(ctx, alice, t1.ID)
	if err != nil || agentOf(ra) != "bob" || re.Status != StatusAssigned {
		t.Fatalf("reopen: %s (%s), %v", agentOf(ra), re.Status, err)
	}
	assertLoads(t, ts, map[string]int{"alice": 1, "bob": 2, "carol": 1})
}

// assertLoads checks router load counters against PostgreSQL.
func assertLoads(t *testing.T, ts *testService, want map[string]int) {
	t.Helper()
	ctx := context.Background()
	for id, n := range want {
		load, _, err := ts.Router.AgentLoad(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ts.store.GetAgent(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if load != n || a.Load != n {
			t.Errorf("%s: router load %d, PostgreSQL load %d, want %d", id, load, a.Load, n)
		}
	}
}

func TestClaimWaitingTicketAndCapacity(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	if _, err := ts.SetAgentStatus(ctx, "alice", AgentAway, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.SetAgentStatus(ctx, "bob", AgentOffline, -1); err != nil {
		t.Fatal(err)
	}
	w1, a := create(t, ts, "c1", "billing")
	ts.clock.t = ts.clock.t.Add(time.Second) // w2 is younger: its SLA deadline is later
	w2, _ := create(t, ts, "c2", "billing")
	if a != nil {
		t.Fatalf("ticket assigned with nobody online in billing: %+v", a)
	}
	q, err := ts.AgentQueue(ctx, "alice")
	if err != nil || len(q.Waiting) != 2 || len(q.Mine) != 0 {
		t.Fatalf("alice's queue %+v, %v", q, err)
	}
	if _, err := ts.Claim(ctx, Actor{ID: "carol"}, w1.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("carol (tech) claiming a billing ticket: %v, want ErrForbidden", err)
	}
	// alice comes back: her one slot pulls the oldest waiting ticket.
	if _, err := ts.SetAgentStatus(ctx, "alice", AgentOnline, -1); err != nil {
		t.Fatal(err)
	}
	got, _ := ts.GetTicket(ctx, w1.ID)
	if got.AssigneeID != "alice" {
		t.Fatalf("w1 assignee %q after alice came online, want alice", got.AssigneeID)
	}
	if _, err := ts.Claim(ctx, Actor{ID: "alice"}, w2.ID); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("claim beyond capacity: %v, want ErrNoCapacity", err)
	}
	if _, err := ts.SetAgentStatus(ctx, "alice", AgentOnline, 2); err != nil {
		t.Fatal(err)
	}
	got2, _ := ts.GetTicket(ctx, w2.ID)
	if got2.AssigneeID != "alice" {
		t.Fatalf("w2 assignee %q after alice raised capacity, want alice", got2.AssigneeID)
	}
	assertLoads(t, ts, map[string]int{"alice": 2, "bob": 0})
}

func TestRedactionFailsClosed(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ts.Redactor = digitRedactor{fail: true}
	_, _, err := ts.CreateTicket(context.Background(), botActor, NewTicket{Customer: Customer{PseudonymousID: "c1"}, Message: "call 13800000000"})
	if err == nil {
		t.Fatal("ticket created although redaction failed")
	}
	var n int
	if err := ts.store.Pool().QueryRow(context.Background(), `SELECT (SELECT count(*) FROM tickets) + (SELECT count(*) FROM messages)`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rows stored after a failed redaction (%v)", n, err)
	}
}

func TestBadInputIsInvalid(t *testing.T) {
	ts := newTestService(t)
	ctx := context.Background()
	for name, n := range map[string]NewTicket{
		"no customer":      {Message: "hi"},
		"bad priority":     {Customer: Customer{PseudonymousID: "c"}, Priority: "whenever"},
		"vip out of range": {Customer: Customer{PseudonymousID: "c", VIPTier: 9}},
		"invalid utf-8":    {Customer: Customer{PseudonymousID: "c"}, Message: "\xff\xfe"},
		"huge name":        {Customer: Customer{PseudonymousID: "c", DisplayName: strings.Repeat("名", 5000)}},
		"huge id":          {Customer: Customer{PseudonymousID: strings.Repeat("x", 13000)}},
		"too many skills":  {Customer: Customer{PseudonymousID: "c"}, Skills: strings.Fields(strings.Repeat("s ", 21))},
	} {
		if _, _, err := ts.CreateTicket(ctx, botActor, n); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := ts.PutAgent(ctx, "admin", Agent{ID: "Bad Id"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad agent id: %v", err)
	}
	if _, err := ts.PutAgent(ctx, "admin", Agent{ID: "dave", Groups: []string{"nosuch"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown group: %v", err)
	}
	if _, err := ts.SetAgentStatus(ctx, "nobody", AgentOnline, -1); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown agent: %v", err)
	}
	if _, err := ts.GetTicket(ctx, "not-a-uuid"); !errors.Is(err, ErrNotFound) {
		t.Errorf("bad ticket id: %v", err)
	}
	if err := ts.PutWeights(ctx, "admin", Weights{VIP: -1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative weight: %v", err)
	}
}

// TestRoutingStateRebuiltFromPostgres drops every routing key (as a Redis
// flush would) and checks that routing continues from PostgreSQL's truth.
func TestRoutingStateRebuiltFromPostgres(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	create(t, ts, "c1", "billing") // alice
	create(t, ts, "c2", "billing") // bob
	create(t, ts, "c3", "billing") // bob (full now)
	waiting, _ := create(t, ts, "c4", "billing")

	keys, err := ts.rdb.Keys(ctx, "*"+ts.prefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("routing keys: %d, %v", len(keys), err)
	}
	if err := ts.rdb.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	// Next decision finds no state, rebuilds from PostgreSQL and routes: billing is full, tech has carol.
	_, a := create(t, ts, "c5", "billing", "tech")
	if agentOf(a) != "carol" {
		t.Fatalf("after rebuild c5 went to %s, want carol", agentOf(a))
	}
	assertLoads(t, ts, map[string]int{"alice": 1, "bob": 2, "carol": 1})
	depth, err := ts.Router.QueueDepth(ctx, "billing")
	if err != nil || depth != 1 {
		t.Fatalf("billing queue depth %d after rebuild, want 1 (%v)", depth, err)
	}
	if _, err := ts.Resolve(ctx, Actor{ID: "alice", Supervisor: true}, mustActive(t, ts, "alice")); err != nil {
		t.Fatal(err)
	}
	got, _ := ts.GetTicket(ctx, waiting.ID)
	if got.AssigneeID != "alice" {
		t.Fatalf("waiting ticket went to %q after alice freed up, want alice", got.AssigneeID)
	}
}

func mustActive(t *testing.T, ts *testService, agent string) string {
	t.Helper()
	list, err := ts.store.ActiveTickets(context.Background(), agent)
	if err != nil || len(list) == 0 {
		t.Fatalf("%s holds no ticket (%v)", agent, err)
	}
	return list[0].ID
}

// TestFailedRecordingRebuildsRoutingState covers a routing decision that
// PostgreSQL refuses to record (the ticket was resolved meanwhile by
// another writer): the router state is rebuilt from PostgreSQL, so the
// agent's slot is not leaked.
func TestFailedRecordingRebuildsRoutingState(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	if _, err := ts.SetAgentStatus(ctx, "alice", AgentOffline, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.SetAgentStatus(ctx, "bob", AgentOffline, -1); err != nil {
		t.Fatal(err)
	}
	waiting, _ := create(t, ts, "c1", "billing")
	if _, err := ts.store.Pool().Exec(ctx, `UPDATE tickets SET status = 'resolved', resolved_at = now() WHERE id = $1`, waiting.ID); err != nil {
		t.Fatal(err)
	}
	// alice comes online: the router pulls the (stale) waiting ticket, PostgreSQL refuses it.
	if _, err := ts.SetAgentStatus(ctx, "alice", AgentOnline, -1); err != nil {
		t.Fatal(err)
	}
	got, _ := ts.store.GetTicket(ctx, waiting.ID)
	if got.Status != StatusResolved || got.AssigneeID != "" {
		t.Fatalf("resolved ticket was recorded as %s/%q", got.Status, got.AssigneeID)
	}
	// The next decision rebuilds from PostgreSQL: alice is free again and gets the new ticket.
	_, a := create(t, ts, "c2", "billing")
	if agentOf(a) != "alice" {
		t.Fatalf("new ticket went to %s, want alice (slot leaked?)", agentOf(a))
	}
	assertLoads(t, ts, map[string]int{"alice": 1})
}

func TestAuthorizationAndOwnership(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	alice, carol := Actor{ID: "alice"}, Actor{ID: "carol"}
	tk, _ := create(t, ts, "c1", "billing") // alice
	if _, err := ts.Resolve(ctx, alice, tk.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Close(ctx, carol, tk.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("carol closing alice's ticket: %v, want ErrForbidden", err)
	}
	if _, _, err := ts.Reopen(ctx, carol, tk.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("carol reopening alice's ticket: %v, want ErrForbidden", err)
	}
	if _, err := ts.Close(ctx, alice, tk.ID); err != nil {
		t.Fatal(err)
	}
	// Another customer's conversation cannot be borrowed.
	_, _, err := ts.CreateTicket(ctx, Actor{ID: "alice"}, NewTicket{Customer: Customer{PseudonymousID: "c2"}, ConversationID: tk.ConversationID})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("ticket on another customer's conversation: %v, want ErrInvalid", err)
	}
	// An agent cannot change an existing customer's VIP tier; a supervisor can.
	if _, _, err := ts.CreateTicket(ctx, Actor{ID: "alice"}, NewTicket{Customer: Customer{PseudonymousID: "c1", VIPTier: 3}}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("agent raising a VIP tier: %v, want ErrForbidden", err)
	}
	cust := customerByPID(t, ts, "c1")
	if cust.VIPTier != 0 || cust.DisplayName != "c1" {
		t.Fatalf("agent-created ticket changed the customer: %+v", cust)
	}
	if _, _, err := ts.CreateTicket(ctx, Actor{ID: "sam", Supervisor: true}, NewTicket{Customer: Customer{PseudonymousID: "c1", VIPTier: 3}}); err != nil {
		t.Fatal(err)
	}
	if cust := customerByPID(t, ts, "c1"); cust.VIPTier != 3 || cust.DisplayName != "c1" {
		t.Fatalf("supervisor update: %+v, want tier 3 and the name kept", cust)
	}
	// Transfer to an agent with no group is refused before anything changes.
	if _, err := ts.PutAgent(ctx, "admin", Agent{ID: "dave", Capacity: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.SetAgentStatus(ctx, "dave", AgentOnline, -1); err != nil {
		t.Fatal(err)
	}
	t2, _ := create(t, ts, "c3", "billing")
	if _, _, err := ts.Transfer(ctx, Actor{ID: t2.AssigneeID}, t2.ID, "", "dave"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("transfer to a groupless agent: %v, want ErrInvalid", err)
	}
	if got, _ := ts.GetTicket(ctx, t2.ID); got.AssigneeID != t2.AssigneeID || got.Status != StatusAssigned {
		t.Fatalf("refused transfer changed the ticket: %+v", got)
	}
}

func customerByPID(t *testing.T, ts *testService, pid string) Customer {
	t.Helper()
	var id string
	if err := ts.store.Pool().QueryRow(context.Background(), `SELECT id FROM customers WHERE pseudonymous_id = $1`, pid).Scan(&id); err != nil {
		t.Fatal(err)
	}
	c, err := ts.store.GetCustomer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAgentInSecondaryGroupSeesAndClaims: a ticket needing billing and tech
// waits in both groups, so a tech agent may see and claim it.
func TestAgentInSecondaryGroupSeesAndClaims(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	for _, id := range []string{"alice", "bob", "carol"} {
		if _, err := ts.SetAgentStatus(ctx, id, AgentAway, -1); err != nil {
			t.Fatal(err)
		}
	}
	tk, _ := create(t, ts, "c1", "billing", "refunds", "tech") // best match billing, also tech
	if tk.GroupID != "billing" {
		t.Fatalf("group %q, want billing", tk.GroupID)
	}
	q, err := ts.AgentQueue(ctx, "carol")
	if err != nil || len(q.Waiting) != 1 {
		t.Fatalf("carol's waiting list %+v (%v), want the ticket", q.Waiting, err)
	}
	if _, err := ts.SetAgentStatus(ctx, "carol", AgentOnline, -1); err != nil {
		t.Fatal(err)
	}
	got, _ := ts.GetTicket(ctx, tk.ID)
	if got.AssigneeID != "carol" || got.GroupID != "tech" {
		t.Fatalf("after carol came online: %s in %s, want carol in tech", got.AssigneeID, got.GroupID)
	}
}
