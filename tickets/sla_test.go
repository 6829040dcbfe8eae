package tickets

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestSLADeadlinesCountBusinessTime(t *testing.T) {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	weekdays := []int{1, 2, 3, 4, 5}
	office := SLAPolicy{Priority: PriorityNormal, FirstResponseMinutes: 60, ResolutionMinutes: 600,
		Timezone: "Asia/Shanghai", BusinessDays: weekdays, BusinessStart: "09:00", BusinessEnd: "18:00"}
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, shanghai) } // 2026-11-23 is a Monday
	for _, tc := range []struct {
		name           string
		policy         SLAPolicy
		created        time.Time
		wantFR, wantRs time.Time
	}{
		{"around the clock", SLAPolicy{Priority: PriorityUrgent, FirstResponseMinutes: 15, ResolutionMinutes: 240},
			at(23, 23, 50), at(24, 0, 5), at(24, 3, 50)},
		{"inside hours", office, at(23, 10, 0), at(23, 11, 0), at(24, 11, 0)},
		{"before opening", office, at(23, 7, 30), at(23, 10, 0), at(24, 10, 0)},
		{"late afternoon spills to next morning", office, at(23, 17, 30), at(24, 9, 30), at(25, 9, 30)},
		{"friday evening waits for monday", office, at(27, 19, 0), at(30, 10, 0), at(31, 10, 0)},
		{"saturday", office, at(28, 12, 0), at(30, 10, 0), at(31, 10, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fr, rs, err := tc.policy.Deadlines(tc.created)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]time.Time{tc.wantFR.UTC(), tc.wantRs.UTC()}, []time.Time{fr.UTC(), rs.UTC()}); diff != "" {
				t.Errorf("deadlines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSLAPolicyValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    SLAPolicy
	}{
		{"unknown priority", SLAPolicy{Priority: "asap", FirstResponseMinutes: 1, ResolutionMinutes: 2}},
		{"zero minutes", SLAPolicy{Priority: PriorityLow}},
		{"resolution before response", SLAPolicy{Priority: PriorityLow, FirstResponseMinutes: 60, ResolutionMinutes: 30}},
		{"bad timezone", SLAPolicy{Priority: PriorityLow, FirstResponseMinutes: 1, ResolutionMinutes: 2, Timezone: "Mars/Base"}},
		{"bad clock", SLAPolicy{Priority: PriorityLow, FirstResponseMinutes: 1, ResolutionMinutes: 2, BusinessDays: []int{1}, BusinessStart: "9am", BusinessEnd: "17:00"}},
		{"start after end", SLAPolicy{Priority: PriorityLow, FirstResponseMinutes: 1, ResolutionMinutes: 2, BusinessDays: []int{1}, BusinessStart: "18:00", BusinessEnd: "09:00"}},
		{"no days", SLAPolicy{Priority: PriorityLow, FirstResponseMinutes: 1, ResolutionMinutes: 2, BusinessStart: "09:00", BusinessEnd: "17:00"}},
		{"day 7", SLAPolicy{Priority: PriorityLow, FirstResponseMinutes: 1, ResolutionMinutes: 2, BusinessDays: []int{7}, BusinessStart: "09:00", BusinessEnd: "17:00"}},
	} {
		if err := tc.p.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", tc.name, err)
		}
	}
}

func TestSLAWatcherMarksBreachesOnceAndExportsGauges(t *testing.T) {
	ts := newTestService(t)
	ctx := context.Background()
	if _, err := ts.PutSkillGroup(ctx, "admin", SkillGroup{ID: "billing", Skills: []string{"billing"}}); err != nil {
		t.Fatal(err)
	}
	created := ts.clock.t
	// Urgent: 15 min first response, 240 min resolution, around the clock.
	tk, _, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: "c1"}, Priority: PriorityUrgent, Skills: []string{"billing"}})
	if err != nil {
		t.Fatal(err)
	}
	if tk.FirstResponseDue == nil || !tk.FirstResponseDue.Equal(created.Add(15*time.Minute)) {
		t.Fatalf("first response due %v, want created+15m", tk.FirstResponseDue)
	}
	w := &SLAWatcher{Store: ts.store, Router: ts.Router, Metrics: ts.Metrics, Log: ts.Log, AtRiskFraction: 0.2, Now: ts.clock.Now}
	violations := func() float64 {
		return testutil.ToFloat64(ts.Metrics.SLAViolations.WithLabelValues("first_response", "urgent", "billing"))
	}

	ts.clock.t = created.Add(13 * time.Minute) // 2 of 15 minutes left: at risk, not breached
	breaches, stats, err := w.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []GroupSLA{{GroupID: "billing", Backlog: 1, AtRisk: 1, Waiting: 1}}
	if len(breaches) != 0 || violations() != 0 {
		t.Fatalf("breaches before the deadline: %v", breaches)
	}
	if diff := cmp.Diff(want, stats); diff != "" {
		t.Fatalf("stats (-want +got):\n%s", diff)
	}
	if got := testutil.ToFloat64(ts.Metrics.AtRisk.WithLabelValues("billing")); got != 1 {
		t.Fatalf("at-risk gauge %v, want 1", got)
	}
	// The ticket waits in the queue since it was created, 13 minutes ago.
	if got := testutil.ToFloat64(ts.Metrics.OldestWait.WithLabelValues("billing")); got != 13*60 {
		t.Fatalf("oldest wait %v s, want %v", got, 13*60)
	}

	ts.clock.t = created.Add(16 * time.Minute)
	breaches, stats, err = w.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Breach{{TicketID: tk.ID, Kind: "first_response", Priority: PriorityUrgent, GroupID: "billing"}}, breaches); diff != "" {
		t.Fatalf("breaches (-want +got):\n%s", diff)
	}
	if violations() != 1 {
		t.Fatalf("violation counter %v, want 1", violations())
	}
	// A breached first response no longer counts as at risk; the resolution window (240 min) is still young.
	if diff := cmp.Diff([]GroupSLA{{GroupID: "billing", Backlog: 1, AtRisk: 0, Waiting: 1}}, stats); diff != "" {
		t.Fatalf("stats after breach (-want +got):\n%s", diff)
	}
	if again, _, _ := w.Check(ctx); len(again) != 0 || violations() != 1 {
		t.Fatalf("second check marked %v again", again)
	}
	got, err := ts.GetTicket(ctx, tk.ID)
	if err != nil || !got.FirstResponseBreached || got.ResolutionBreached {
		t.Fatalf("ticket after breach: %+v, %v", got, err)
	}
	// Once an agent holds it, nobody waits: the age reads 0, not the last value.
	if _, err := ts.PutAgent(ctx, "admin", Agent{ID: "ann", Groups: []string{"billing"}, Capacity: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.SetAgentStatus(ctx, "ann", AgentOnline, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Claim(ctx, Actor{ID: "ann"}, tk.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(ts.Metrics.OldestWait.WithLabelValues("billing")); got != 0 {
		t.Fatalf("oldest wait %v s with nobody waiting, want 0", got)
	}
}
