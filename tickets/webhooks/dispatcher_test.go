package webhooks

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/tickets"
)

// settled waits until every delivery of endpoint is no longer pending (at least n of
// them) and returns them, oldest first.
func settled(t *testing.T, d *Dispatcher, endpoint string, n int) []Delivery {
	t.Helper()
	var got []Delivery
	waitFor(t, "deliveries to settle", func() bool {
		var err error
		got, err = d.List(context.Background(), Filter{Endpoint: endpoint, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, dl := range got {
			if dl.Status == StatusPending {
				return false
			}
		}
		return len(got) >= n
	})
	slices.Reverse(got)
	return got
}

// TestTicketLifecycleIsSentSignedInOrderWithoutPersonalData: a ticket's life through
// the real ticket core — opened (and routed), replied to (and scored), resolved, rated,
// closed — reaches the receiver as those events, one request each, in order, signed, and
// carrying no word the customer wrote nor their name, e-mail address or phone number. An
// endpoint subscribed to CSAT alone gets the rating alone.
func TestTicketLifecycleIsSentSignedInOrderWithoutPersonalData(t *testing.T) {
	e := newEnv(t)
	crm, survey := newReceiver(t, ok), newReceiver(t, ok)
	d, reg, _ := start(t, e.pool, testConfig(crm.endpoint("crm"), survey.endpoint("survey", CSATSubmitted)))
	ctx := context.Background()

	tk := e.open(t, "cust-1", "billing")
	waitRequests(t, crm, 2) // created, then assigned (to alice)
	_, msg, err := e.svc.Reply(ctx, alice, tk.ID, "Hello "+custName+", I will call you on "+custPhone)
	if err != nil {
		t.Fatal(err)
	}
	waitRequests(t, crm, 3)
	if _, err := e.svc.AddNote(ctx, alice, tk.ID, "customer "+custEmail); err != nil { // not an event
		t.Fatal(err)
	}
	if _, err := e.svc.Resolve(ctx, alice, tk.ID); err != nil {
		t.Fatal(err)
	}
	waitRequests(t, crm, 5) // resolved, and the conversation scored
	if r, err := e.svc.RateCSAT(ctx, tk.CustomerID, "5 great, thanks "+custName+" "+custEmail); err != nil || !r.Rated {
		t.Fatalf("RateCSAT = %+v, %v", r, err)
	}
	waitRequests(t, crm, 6)
	if _, err := e.svc.Close(ctx, boss, tk.ID); err != nil {
		t.Fatal(err)
	}
	waitRequests(t, crm, 7)

	score := func(n int) *int { return &n }
	want := []Event{
		{Type: TicketCreated, Data: EventData{TicketID: tk.ID, Status: "open", ActorID: "bot", Priority: string(tk.Priority)}},
		{Type: TicketAssigned, Data: EventData{TicketID: tk.ID, Status: "assigned", ActorID: "router", AgentID: "alice", Reason: "route"}},
		{Type: QAScored, Data: EventData{TicketID: tk.ID, AgentID: "alice", GroupID: "billing", MessageID: msg.ID, Position: "first",
			Score: score(70), Findings: []Finding{{Check: "pii", Kind: "PHONE"}}}},
		{Type: TicketResolved, Data: EventData{TicketID: tk.ID, Status: "resolved", ActorID: "alice"}},
		{Type: QAConversationScored, Data: EventData{TicketID: tk.ID, Status: "resolved", ActorID: "quality", AgentID: "alice", GroupID: "billing",
			Score: score(70), Flagged: true}},
		{Type: CSATSubmitted, Data: EventData{TicketID: tk.ID, AgentID: "alice", Rating: 5}},
		{Type: TicketClosed, Data: EventData{TicketID: tk.ID, Status: "closed", ActorID: "boss"}},
	}
	got := crm.events(t)
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Event{}, "ID", "OccurredAt")); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[5:6], survey.events(t), cmpopts.IgnoreFields(Event{}, "ID", "OccurredAt")); diff != "" {
		t.Errorf("events of the CSAT-only endpoint (-want +got):\n%s", diff)
	}

	logged := settled(t, d, "crm", len(want))
	for i, r := range crm.requests() {
		if !r.SignedOK {
			t.Errorf("request %d (%s) is not signed right", i, r.Event)
		}
		if r.Event != got[i].Type {
			t.Errorf("request %d: %s = %q, body type %q", i, HeaderEvent, r.Event, got[i].Type)
		}
		if i < len(logged) && (r.Delivery != itoa(logged[i].ID) || logged[i].EventID != got[i].ID || logged[i].Status != StatusDelivered ||
			logged[i].Attempts != 1 || logged[i].LastStatusCode != 200) {
			t.Errorf("request %d (delivery %s, event %s) vs logged %+v", i, r.Delivery, got[i].ID, logged[i])
		}
		if got[i].ID == "" || got[i].OccurredAt.IsZero() || time.Since(got[i].OccurredAt) > time.Minute {
			t.Errorf("event %d: id %q, occurred at %s", i, got[i].ID, got[i].OccurredAt)
		}
		for _, pii := range []string{"Jane", "Roe", custEmail, "example.com", custPhone, "charged", "great", "Hello", "call"} {
			if strings.Contains(string(r.Body), pii) {
				t.Errorf("request %d carries %q: %s", i, pii, r.Body)
			}
		}
	}
	if n := testutil.ToFloat64(d.m.deliveries.WithLabelValues("crm", OutcomeDelivered)); n != float64(len(want)) {
		t.Errorf("delivered to crm counted %v, want %d", n, len(want))
	}
	waitFor(t, "the backlog gauge to drop to 0", func() bool { return testutil.ToFloat64(d.m.backlog.WithLabelValues("crm")) == 0 })
	if n, err := testutil.GatherAndCount(reg, "switchboard_webhook_deliveries_total", "switchboard_webhook_delivery_seconds",
		"switchboard_webhook_backlog"); err != nil || n == 0 {
		t.Errorf("metrics gathered: %d, %v", n, err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestServerErrorIsRetried: a 500 is retried after the backoff; the same delivery (same
// body, same X-Switchboard-Delivery) is then delivered.
func TestServerErrorIsRetried(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	d, _, _ := start(t, e.pool, testConfig(rc.endpoint("crm", TicketCreated)))
	e.open(t, "cust-1")
	got := settled(t, d, "crm", 1)
	if len(got) != 1 || got[0].Status != StatusDelivered || got[0].Attempts != 2 || got[0].LastStatusCode != 200 || got[0].LastError != "" ||
		got[0].DeliveredAt == nil {
		t.Fatalf("delivery %+v, want delivered on the 2nd attempt", got)
	}
	reqs := rc.requests()
	if len(reqs) != 2 || reqs[0].Delivery != reqs[1].Delivery || string(reqs[0].Body) != string(reqs[1].Body) || !reqs[1].SignedOK {
		t.Fatalf("requests %+v, want the same delivery twice", reqs)
	}
	if n := testutil.ToFloat64(d.m.deliveries.WithLabelValues("crm", OutcomeRetry)); n != 1 {
		t.Errorf("retries counted %v, want 1", n)
	}
}

// TestPersistentFailureGivesUp: an endpoint that keeps answering 503 gets MaxAttempts
// attempts; the delivery is failed with the last status code and error logged.
func TestPersistentFailureGivesUp(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	d, _, _ := start(t, e.pool, testConfig(rc.endpoint("crm", TicketCreated)))
	e.open(t, "cust-1")
	got := settled(t, d, "crm", 1)
	want := Delivery{Endpoint: "crm", EventType: TicketCreated, Status: StatusFailed, Attempts: 3, LastStatusCode: 503,
		LastError: "HTTP 503 Service Unavailable"}
	if diff := cmp.Diff([]Delivery{want}, got, cmpopts.IgnoreFields(Delivery{}, "ID", "EventID", "Payload", "NextAttemptAt", "CreatedAt")); diff != "" {
		t.Errorf("deliveries (-want +got):\n%s", diff)
	}
	time.Sleep(300 * time.Millisecond) // a failed delivery is not tried again
	if n := len(rc.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	if n := testutil.ToFloat64(d.m.deliveries.WithLabelValues("crm", OutcomeFailed)); n != 1 {
		t.Errorf("failures counted %v, want 1", n)
	}
}

// TestGoneFailsAtOnce: 410 Gone fails a delivery without retries; the delivery log lists
// by endpoint, status and page.
func TestGoneFailsAtOnce(t *testing.T) {
	e := newEnv(t)
	gone := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) })
	up := newReceiver(t, ok)
	d, _, _ := start(t, e.pool, testConfig(gone.endpoint("gone", TicketCreated), up.endpoint("up", TicketCreated)))
	for _, c := range []string{"c1", "c2", "c3"} {
		e.open(t, c)
	}
	failed := settled(t, d, "gone", 3)
	for _, f := range failed {
		if f.Status != StatusFailed || f.Attempts != 1 || f.LastStatusCode != http.StatusGone {
			t.Errorf("delivery to gone: %+v, want failed after 1 attempt with 410", f)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(gone.requests()); n != 3 {
		t.Errorf("gone got %d requests, want 3", n)
	}

	ctx := context.Background()
	ids := func(ds []Delivery) (out []int64) {
		for _, x := range ds {
			out = append(out, x.ID)
		}
		return out
	}
	all, err := d.List(ctx, Filter{})
	if err != nil || len(all) != 6 {
		t.Fatalf("List() = %d deliveries, %v; want 6", len(all), err)
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want []int64
	}{
		{"failed", Filter{Status: StatusFailed}, ids(failed)},
		{"up, delivered", Filter{Endpoint: "up", Status: StatusDelivered}, ids(settled(t, d, "up", 3))},
		{"gone, delivered", Filter{Endpoint: "gone", Status: StatusDelivered}, nil},
		{"page", Filter{Limit: 2}, ids(all[:2])},
		{"next page", Filter{Limit: 2, Before: all[1].ID}, ids(all[2:4])},
	} {
		got, err := d.List(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.f.Limit == 0 { // oldest first, like settled's
			slices.Reverse(got)
		}
		if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	if _, err := d.List(ctx, Filter{Status: "lost"}); !errors.Is(err, tickets.ErrInvalid) {
		t.Errorf("List(status lost): %v, want ErrInvalid", err)
	}
}

// TestReceiverTimeoutIsAFailedAttempt: an endpoint slower than its timeout fails the
// attempt (no status code, a timeout logged) and is retried up to MaxAttempts.
func TestReceiverTimeoutIsAFailedAttempt(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	ep := rc.endpoint("slow", TicketCreated)
	ep.Timeout = 200 * time.Millisecond
	cfg := testConfig(ep)
	cfg.MaxAttempts = 2
	d, _, _ := start(t, e.pool, cfg)
	e.open(t, "cust-1")
	got := settled(t, d, "slow", 1)
	if got[0].Status != StatusFailed || got[0].Attempts != 2 || got[0].LastStatusCode != 0 || !strings.Contains(got[0].LastError, "timeout") {
		t.Errorf("delivery %+v, want failed after 2 timeouts", got[0])
	}
	if strings.Contains(got[0].LastError, rc.URL) || strings.Contains(got[0].LastError, secret) {
		t.Errorf("last error %q names the URL or the secret", got[0].LastError)
	}
}

// TestTwoDispatchersSendEachEventOnce: two replicas' dispatchers on one database queue
// and send every event exactly once.
func TestTwoDispatchersSendEachEventOnce(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) { time.Sleep(5 * time.Millisecond) })
	cfg := testConfig(rc.endpoint("crm", TicketCreated))
	d, _, _ := start(t, e.pool, cfg)
	start(t, testenv.Pool(t, e.dsn), cfg)
	const n = 30
	for i := range n {
		e.open(t, "cust-"+itoa(int64(i)))
	}
	settled(t, d, "crm", n)
	time.Sleep(200 * time.Millisecond)
	seen := map[string]int{}
	for _, ev := range rc.events(t) {
		seen[ev.ID]++
	}
	if len(seen) != n {
		t.Errorf("%d distinct events received, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("event %s received %d times", id, c)
		}
	}
}

// TestRestartResumesFromTheCursor: a dispatcher started again sends what happened while
// none ran, and nothing it sent before.
func TestRestartResumesFromTheCursor(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, ok)
	cfg := testConfig(rc.endpoint("crm", TicketCreated, CSATSubmitted))
	_, _, stop := start(t, e.pool, cfg)
	a := e.open(t, "cust-a", "billing")
	waitRequests(t, rc, 1)
	stop()
	b := e.open(t, "cust-b")
	if _, err := e.svc.Resolve(context.Background(), alice, a.ID); err != nil {
		t.Fatal(err)
	}
	if r, err := e.svc.RateCSAT(context.Background(), a.CustomerID, "4"); err != nil || !r.Rated {
		t.Fatalf("RateCSAT = %+v, %v", r, err)
	}
	d, _, _ := start(t, e.pool, cfg)
	settled(t, d, "crm", 3)
	time.Sleep(200 * time.Millisecond)
	var got []string
	for _, ev := range rc.events(t) {
		got = append(got, ev.Type+" "+ev.Data.TicketID)
	}
	want := []string{TicketCreated + " " + a.ID, TicketCreated + " " + b.ID, CSATSubmitted + " " + a.ID}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestStopMidAttemptLeavesTheDeliveryDue: stopping while a receiver has not answered
// returns promptly and leaves the delivery due and its attempt uncounted; the next
// dispatcher sends it.
func TestStopMidAttemptLeavesTheDeliveryDue(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(n int, _ http.ResponseWriter, r *http.Request) {
		if n == 1 {
			<-r.Context().Done()
		}
	})
	cfg := testConfig(rc.endpoint("crm", TicketCreated))
	d, _, stop := start(t, e.pool, cfg)
	e.open(t, "cust-1")
	waitRequests(t, rc, 1)
	began := time.Now()
	stop()
	if took := time.Since(began); took > time.Second {
		t.Errorf("stopping took %s", took)
	}
	pending, err := d.List(context.Background(), Filter{})
	if err != nil || len(pending) != 1 || pending[0].Status != StatusPending || pending[0].Attempts != 0 {
		t.Fatalf("after the stop: %+v, %v; want pending with no attempt counted", pending, err)
	}
	d2, _, _ := start(t, e.pool, cfg)
	if got := settled(t, d2, "crm", 1); got[0].Status != StatusDelivered || got[0].Attempts != 1 {
		t.Errorf("delivery %+v, want delivered on its first counted attempt", got[0])
	}
}

// TestRedeliverSendsAgain: a delivered delivery is sent again on request, under its own
// delivery id; a pending one or a missing one cannot be redelivered.
func TestRedeliverSendsAgain(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, ok)
	cfg := testConfig(rc.endpoint("crm", TicketCreated))
	d, _, stop := start(t, e.pool, cfg)
	e.open(t, "cust-1")
	first := settled(t, d, "crm", 1)[0]
	stop()
	ctx := context.Background()
	again, err := d.Redeliver(ctx, first.ID)
	if err != nil || again.Status != StatusPending || again.Attempts != 0 || again.DeliveredAt != nil {
		t.Fatalf("Redeliver = %+v, %v", again, err)
	}
	if _, err := d.Redeliver(ctx, first.ID); !errors.Is(err, ErrPending) || !errors.Is(err, tickets.ErrConflict) {
		t.Errorf("Redeliver of a pending delivery: %v, want ErrPending", err)
	}
	if _, err := d.Redeliver(ctx, first.ID+1000); !errors.Is(err, ErrNotFound) || !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("Redeliver of no delivery: %v, want ErrNotFound", err)
	}
	d2, _, _ := start(t, e.pool, cfg)
	waitRequests(t, rc, 2)
	if got := settled(t, d2, "crm", 1)[0]; got.Status != StatusDelivered || got.Attempts != 1 {
		t.Errorf("after redelivery: %+v", got)
	}
	reqs := rc.requests()
	if len(reqs) != 2 || reqs[0].Delivery != reqs[1].Delivery || string(reqs[0].Body) != string(reqs[1].Body) || !reqs[1].SignedOK {
		t.Errorf("requests %+v, want the delivery twice", reqs)
	}
}

// TestQualityOnlyEndpointGetsConversationScores: an endpoint subscribed to the
// conversation scores alone keeps the audit log read (the scores are audited), and gets
// each resolved conversation's score.
func TestQualityOnlyEndpointGetsConversationScores(t *testing.T) {
	e := newEnv(t)
	qa := newReceiver(t, ok)
	start(t, e.pool, testConfig(qa.endpoint("qa", QAConversationScored)))
	ctx := context.Background()
	tk := e.open(t, "cust-qa", "billing")
	if _, _, err := e.svc.Reply(ctx, tickets.Actor{ID: "alice"}, tk.ID, "Hello, it is done."); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Resolve(ctx, tickets.Actor{ID: "alice"}, tk.ID); err != nil {
		t.Fatal(err)
	}
	waitRequests(t, qa, 1)
	if evs := qa.events(t); len(evs) != 1 || evs[0].Type != QAConversationScored || evs[0].Data.TicketID != tk.ID || evs[0].Data.Score == nil {
		t.Errorf("events %+v", evs)
	}
}
