package tickets

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestReportOfAKnownHistory builds a day's history by hand — five conversations on two
// channels, three of them escalated, tickets with known response and resolution times,
// one SLA target missed of each kind, two ratings — plus a day before it that must not
// count, and checks every figure of the report, day by day too.
func TestReportOfAKnownHistory(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ctx := context.Background()
	pool := ts.store.Pool()
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	conversation := func(channel string, created time.Time) (customer, conv string) {
		customer, conv = uuid.NewString(), uuid.NewString()
		if _, err := pool.Exec(ctx, `INSERT INTO customers (id, pseudonymous_id) VALUES ($1, $2)`, customer, "test:"+customer); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO conversations (id, customer_id, channel, created_at) VALUES ($1, $2, $3, $4)`,
			conv, customer, channel, created); err != nil {
			t.Fatal(err)
		}
		return customer, conv
	}
	type tk struct {
		agent                             string
		created                           time.Time
		firstResponse, resolved           *time.Time
		firstBreached, resolutionBreached *time.Time
		rating                            int
		ratedAt                           time.Time
	}
	ticket := func(channel string, x tk) {
		customer, conv := conversation(channel, x.created)
		id, status := uuid.NewString(), "assigned"
		if x.resolved != nil {
			status = "resolved"
		}
		if _, err := pool.Exec(ctx, `INSERT INTO tickets (id, customer_id, conversation_id, status, priority, group_id, assignee, created_at,
				first_response_at, resolved_at, first_response_breached_at, resolution_breached_at)
			VALUES ($1, $2, $3, $4, 'normal', 'billing', $5, $6, $7, $8, $9, $10)`,
			id, customer, conv, status, x.agent, x.created, x.firstResponse, x.resolved, x.firstBreached, x.resolutionBreached); err != nil {
			t.Fatal(err)
		}
		if x.rating > 0 {
			if _, err := pool.Exec(ctx, `INSERT INTO csat_ratings (ticket_id, customer_id, agent_id, rating, rated_at) VALUES ($1, $2, $3, $4, $5)`,
				id, customer, x.agent, x.rating, x.ratedAt); err != nil {
				t.Fatal(err)
			}
		}
	}
	p := func(v time.Time) *time.Time { return &v }
	ticket("web", tk{agent: "alice", created: at(9, 0), firstResponse: p(at(9, 2)), resolved: p(at(10, 0)), rating: 5, ratedAt: at(10, 30)})
	ticket("web", tk{agent: "alice", created: at(9, 30), firstResponse: p(at(9, 40)), firstBreached: p(at(9, 35)), resolved: p(at(11, 30)),
		rating: 3, ratedAt: at(12, 0)})
	ticket("telegram", tk{agent: "bob", created: at(13, 0), firstResponse: p(at(13, 1)), resolutionBreached: p(at(20, 0))})
	conversation("telegram", at(14, 0)) // answered by the bot
	conversation("web", at(23, 30))
	// the day before: none of it counts
	ticket("web", tk{agent: "alice", created: at(-12, 0), firstResponse: p(at(-11, 0)), resolved: p(at(-10, 0)), rating: 1, ratedAt: at(-9, 0)})

	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	r, err := ts.store.Report(ctx, ReportQuery{From: day, To: day.Add(24 * time.Hour), Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	near := func(what string, got, want float64) {
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	if r.Conversations != 5 || r.Escalated != 3 {
		t.Errorf("conversations %d escalated %d, want 5 and 3", r.Conversations, r.Escalated)
	}
	near("deflection", r.DeflectionRate, 0.4)
	if len(r.ByChannel) != 2 || r.ByChannel[0] != (ChannelVolume{"telegram", 2, 1}) || r.ByChannel[1] != (ChannelVolume{"web", 3, 2}) {
		t.Errorf("by channel %+v", r.ByChannel)
	}
	var hours [24]int
	hours[17], hours[21], hours[22], hours[7] = 2, 1, 1, 1 // UTC+8
	if r.ByHour != hours || r.TimeZone != "Asia/Shanghai" {
		t.Errorf("by hour %v (%s), want %v", r.ByHour, r.TimeZone, hours)
	}
	f := r.Tickets
	if f.Opened != 3 || f.Resolved != 2 || f.FirstResponse.Count != 3 || f.Resolution.Count != 2 {
		t.Errorf("tickets %+v", f)
	}
	near("first response mean", f.FirstResponse.Mean, 260) // 120, 600, 60 s
	near("first response median", f.FirstResponse.Median, 120)
	near("first response p90", f.FirstResponse.P90, 504) // 120 + 0.8 × (600 − 120)
	near("resolution mean", f.Resolution.Mean, 5400)     // 3 600, 7 200 s
	near("resolution median", f.Resolution.Median, 5400)
	near("resolution p90", f.Resolution.P90, 6840)
	if f.SLAFirst != (Attainment{2, 3, 2.0 / 3}) || f.SLAResolution != (Attainment{2, 3, 2.0 / 3}) {
		t.Errorf("SLA %+v %+v, want 2 of 3 each", f.SLAFirst, f.SLAResolution)
	}
	if r.CSAT != (CSATSummary{Count: 2, Mean: 4, Distribution: [5]int{0, 0, 1, 0, 1}, Satisfied: 0.5}) {
		t.Errorf("CSAT %+v", r.CSAT)
	}
	if len(r.ByAgent) != 2 || r.ByAgent[0].ID != "alice" || r.ByAgent[1].ID != "bob" {
		t.Fatalf("by agent %+v", r.ByAgent)
	}
	alice, bob := r.ByAgent[0], r.ByAgent[1]
	if alice.Opened != 2 || alice.Resolved != 2 || alice.CSAT.Count != 2 || bob.Opened != 1 || bob.Resolved != 0 || bob.CSAT.Count != 0 {
		t.Errorf("alice %+v, bob %+v", alice, bob)
	}
	near("alice's first response", alice.FirstResponse.Mean, 360)
	near("bob's first response", bob.FirstResponse.Mean, 60)
	if len(r.ByGroup) != 1 || r.ByGroup[0].ID != "billing" || r.ByGroup[0].Opened != 3 {
		t.Errorf("by group %+v", r.ByGroup)
	}
	// by day, in Shanghai: the UTC day is 08:00 on the 2nd to 08:00 on the 3rd, and the
	// conversation at 23:30 UTC falls on the 3rd
	if len(r.ByDay) != 2 || r.ByDay[0].Date != "2026-03-02" || r.ByDay[1].Date != "2026-03-03" {
		t.Fatalf("by day %+v", r.ByDay)
	}
	d2, d3 := r.ByDay[0], r.ByDay[1]
	if d2.Conversations != 4 || d2.Escalated != 3 || d3.Conversations != 1 || d3.Escalated != 0 {
		t.Errorf("conversations by day %+v %+v", d2, d3)
	}
	near("deflection on the 2nd", d2.DeflectionRate, 0.25)
	near("deflection on the 3rd", d3.DeflectionRate, 1)
	if d2.TicketFigures != f {
		t.Errorf("the 2nd's tickets %+v, want the period's %+v", d2.TicketFigures, f)
	}
	if d3.TicketFigures != (TicketFigures{}) || d3.CSAT != (CSATSummary{}) {
		t.Errorf("the 3rd's tickets %+v, ratings %+v, want none", d3.TicketFigures, d3.CSAT)
	}
	if d2.CSAT != r.CSAT {
		t.Errorf("the 2nd's ratings %+v, want the period's %+v", d2.CSAT, r.CSAT)
	}
	// a period of whole days in UTC: one entry a day, the empty ones too
	week, err := ts.store.Report(ctx, ReportQuery{From: day.Add(-2 * 24 * time.Hour), To: day.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var dates []string
	var convs []int
	for _, d := range week.ByDay {
		dates, convs = append(dates, d.Date), append(convs, d.Conversations)
	}
	if fmt.Sprint(dates) != "[2026-02-28 2026-03-01 2026-03-02]" || fmt.Sprint(convs) != "[0 1 5]" {
		t.Errorf("days %v with %v conversations, want 2026-02-28 to 2026-03-02 with 0, 1 and 5", dates, convs)
	}
	if yesterday := week.ByDay[1]; yesterday.Opened != 1 || yesterday.FirstResponse.Median != 3600 ||
		yesterday.CSAT.Count != 1 || yesterday.CSAT.Mean != 1 || yesterday.DeflectionRate != 0 {
		t.Errorf("the day before %+v", yesterday)
	}
	if _, err := ts.store.Report(ctx, ReportQuery{From: day, To: day}); !errors.Is(err, ErrInvalid) {
		t.Errorf("an empty period: %v, want ErrInvalid", err)
	}
}
