package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// officeCalendar is Monday to Friday 09:00–18:00 in Shanghai, with the holidays given.
func officeCalendar(holidays ...string) *Calendar {
	c := &Calendar{Timezone: "Asia/Shanghai", Hours: []OpeningHours{{Days: []int{1, 2, 3, 4, 5}, Start: "09:00", End: "18:00"}}}
	for _, d := range holidays {
		c.Holidays = append(c.Holidays, Holiday{Date: d})
	}
	return c
}

// TestCalendarBusinessTime: a group's calendar counts only its opening hours, skips
// weekends and holidays, runs on across midnight when a night shift is split there,
// and reads the wall clock of a zone that changes to and from daylight saving time.
func TestCalendarBusinessTime(t *testing.T) {
	sh, ny := mustZone(t, "Asia/Shanghai"), mustZone(t, "America/New_York")
	at := func(loc *time.Location, m time.Month, d, h, min int) time.Time {
		return time.Date(2026, m, d, h, min, 0, 0, loc)
	}
	// 2026-11-23 is a Monday; New York springs forward on Sunday 2026-03-08 and falls back on Sunday 2026-11-01.
	lunch := &Calendar{Timezone: "Asia/Shanghai", Hours: []OpeningHours{
		{Days: []int{1, 2, 3, 4, 5}, Start: "09:00", End: "12:00"}, {Days: []int{1, 2, 3, 4, 5}, Start: "13:00", End: "18:00"}}}
	night := &Calendar{Timezone: "Asia/Shanghai", Hours: []OpeningHours{
		{Days: []int{5}, Start: "22:00", End: "24:00"}, {Days: []int{6}, Start: "00:00", End: "06:00"}}}
	sundays := &Calendar{Timezone: "America/New_York", Hours: []OpeningHours{{Days: []int{0}, Start: "09:00", End: "17:00"}}}
	allSunday := &Calendar{Timezone: "America/New_York", Hours: []OpeningHours{{Days: []int{0}, Start: "00:00", End: "24:00"}}}
	for _, tc := range []struct {
		name    string
		cal     *Calendar
		from    time.Time
		add     time.Duration
		want    time.Time
		openNow bool
		opens   time.Time // when closed at from
	}{
		{"inside hours", officeCalendar(), at(sh, 11, 23, 10, 0), time.Hour, at(sh, 11, 23, 11, 0), true, time.Time{}},
		{"before opening", officeCalendar(), at(sh, 11, 23, 7, 30), time.Hour, at(sh, 11, 23, 10, 0), false, at(sh, 11, 23, 9, 0)},
		{"friday evening waits for monday", officeCalendar(), at(sh, 11, 27, 19, 0), 15 * time.Minute, at(sh, 11, 30, 9, 15), false, at(sh, 11, 30, 9, 0)},
		{"friday afternoon spills over the weekend", officeCalendar(), at(sh, 11, 27, 17, 30), time.Hour, at(sh, 11, 30, 9, 30), true, time.Time{}},
		{"saturday", officeCalendar(), at(sh, 11, 28, 12, 0), 4 * time.Hour, at(sh, 11, 30, 13, 0), false, at(sh, 11, 30, 9, 0)},
		{"a holiday is skipped", officeCalendar("2026-11-25"), at(sh, 11, 24, 17, 0), 2 * time.Hour, at(sh, 11, 26, 10, 0), true, time.Time{}},
		{"closed on a holiday", officeCalendar("2026-11-25"), at(sh, 11, 25, 10, 0), time.Hour, at(sh, 11, 26, 10, 0), false, at(sh, 11, 26, 9, 0)},
		{"a monday holiday after the weekend", officeCalendar("2026-11-30"), at(sh, 11, 27, 19, 0), 15 * time.Minute, at(sh, 12, 1, 9, 15), false, at(sh, 12, 1, 9, 0)},
		{"a resolution over days", officeCalendar(), at(sh, 11, 27, 19, 0), 24 * time.Hour, at(sh, 12, 2, 15, 0), false, at(sh, 11, 30, 9, 0)},
		{"lunch break", lunch, at(sh, 11, 23, 11, 30), time.Hour, at(sh, 11, 23, 13, 30), true, time.Time{}},
		{"closed for lunch", lunch, at(sh, 11, 23, 12, 30), time.Hour, at(sh, 11, 23, 14, 0), false, at(sh, 11, 23, 13, 0)},
		{"night shift runs across midnight", night, at(sh, 11, 27, 23, 30), time.Hour, at(sh, 11, 28, 0, 30), true, time.Time{}},
		{"night shift from the evening", night, at(sh, 11, 27, 20, 0), 3 * time.Hour, at(sh, 11, 28, 1, 0), false, at(sh, 11, 27, 22, 0)},
		{"spring forward: 09:00 is 09:00 daylight time", sundays, at(ny, 3, 7, 12, 0), time.Hour, at(ny, 3, 8, 10, 0), false, at(ny, 3, 8, 9, 0)},
		{"spring forward: the Sunday has 23 hours", allSunday, at(ny, 3, 7, 12, 0), 24 * time.Hour, at(ny, 3, 15, 1, 0), false, at(ny, 3, 8, 0, 0)},
		{"fall back: the Sunday has 25 hours", allSunday, at(ny, 10, 31, 12, 0), 25 * time.Hour, at(ny, 11, 2, 0, 0), false, at(ny, 11, 1, 0, 0)},
		{"fall back: 09:00 is 09:00 standard time", sundays, at(ny, 10, 31, 12, 0), time.Hour, at(ny, 11, 1, 10, 0), false, at(ny, 11, 1, 9, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := tc.cal.hours()
			if err != nil {
				t.Fatal(err)
			}
			if got := h.add(tc.from, tc.add); !got.Equal(tc.want) {
				t.Errorf("%v + %v = %v, want %v", tc.from, tc.add, got.In(h.loc), tc.want)
			}
			openNow, opens, ok := h.nextOpen(tc.from)
			want := tc.opens
			if tc.openNow {
				want = tc.from
			}
			if !ok || openNow != tc.openNow || !opens.Equal(want) {
				t.Errorf("at %v: open %v, opens %v (ok %v); want open %v, opens %v", tc.from, openNow, opens.In(h.loc), ok, tc.openNow, want)
			}
		})
	}
}

// TestGroupCalendarTakesThePolicysPlace: a ticket in a group with a calendar counts the
// policy's targets in the calendar's time; without one, in the policy's own hours.
func TestGroupCalendarTakesThePolicysPlace(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	fri := time.Date(2026, 11, 27, 19, 0, 0, 0, sh)
	pols := map[Priority]SLAPolicy{PriorityUrgent: {Priority: PriorityUrgent, FirstResponseMinutes: 15, ResolutionMinutes: 240}}
	groups := []SkillGroup{{ID: "office", Calendar: officeCalendar()}, {ID: "plain"}}
	for _, tc := range []struct {
		group          string
		wantFR, wantRs time.Time
	}{
		{"office", time.Date(2026, 11, 30, 9, 15, 0, 0, sh), time.Date(2026, 11, 30, 13, 0, 0, 0, sh)},
		{"plain", fri.Add(15 * time.Minute), fri.Add(4 * time.Hour)},
		{"", fri.Add(15 * time.Minute), fri.Add(4 * time.Hour)},
	} {
		tk := Ticket{Priority: PriorityUrgent, GroupID: tc.group, CreatedAt: fri}
		if err := setDeadlines(pols, groups, &tk); err != nil {
			t.Fatal(err)
		}
		if !tk.FirstResponseDue.Equal(tc.wantFR) || !tk.ResolutionDue.Equal(tc.wantRs) {
			t.Errorf("group %q: deadlines %v, %v; want %v, %v", tc.group, tk.FirstResponseDue, tk.ResolutionDue, tc.wantFR, tc.wantRs)
		}
	}
}

func TestCalendarValidation(t *testing.T) {
	week := []OpeningHours{{Days: []int{1, 2, 3, 4, 5}, Start: "09:00", End: "18:00"}}
	many := make([]Holiday, 367)
	for i := range many {
		many[i].Date = time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	for _, tc := range []struct {
		name, wantMsg string
		cal           Calendar
	}{
		{"unknown zone", "unknown zone", Calendar{Timezone: "Mars/Olympus_Mons", Hours: week}},
		{"no zone", "timezone", Calendar{Hours: week}},
		{"the server's zone", "timezone", Calendar{Timezone: "Local", Hours: week}},
		{"no hours", "opening intervals", Calendar{Timezone: "UTC"}},
		{"bad time", "want HH:MM", Calendar{Timezone: "UTC", Hours: []OpeningHours{{Days: []int{1}, Start: "9am", End: "17:00"}}}},
		{"hour 25", "want HH:MM", Calendar{Timezone: "UTC", Hours: []OpeningHours{{Days: []int{1}, Start: "09:00", End: "25:00"}}}},
		{"start at 24:00", "want HH:MM", Calendar{Timezone: "UTC", Hours: []OpeningHours{{Days: []int{1}, Start: "24:00", End: "24:00"}}}},
		{"end before start", "end must be after", Calendar{Timezone: "UTC", Hours: []OpeningHours{{Days: []int{1}, Start: "18:00", End: "09:00"}}}},
		{"empty interval", "end must be after", Calendar{Timezone: "UTC", Hours: []OpeningHours{{Days: []int{1}, Start: "09:00", End: "09:00"}}}},
		{"no days", "no days", Calendar{Timezone: "UTC", Hours: []OpeningHours{{Start: "09:00", End: "18:00"}}}},
		{"day 7", "want 0 (Sunday)", Calendar{Timezone: "UTC", Hours: []OpeningHours{{Days: []int{7}, Start: "09:00", End: "18:00"}}}},
		{"overlap", "overlap", Calendar{Timezone: "UTC", Hours: []OpeningHours{{Days: []int{1, 2}, Start: "09:00", End: "13:00"},
			{Days: []int{2}, Start: "12:00", End: "18:00"}}}},
		{"bad holiday", "YYYY-MM-DD", Calendar{Timezone: "UTC", Hours: week, Holidays: []Holiday{{Date: "2026-02-30"}}}},
		{"holiday twice", "twice", Calendar{Timezone: "UTC", Hours: week, Holidays: []Holiday{{Date: "2026-10-01"}, {Date: "2026-10-01"}}}},
		{"long holiday name", "name", Calendar{Timezone: "UTC", Hours: week, Holidays: []Holiday{{Date: "2026-10-01", Name: strings.Repeat("x", 101)}}}},
		{"367 holidays", "at most 366", Calendar{Timezone: "UTC", Hours: week, Holidays: many}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cal.normalize()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("err %v, want ErrInvalid saying %q", err, tc.wantMsg)
			}
		})
	}
	ok := Calendar{Timezone: "Asia/Shanghai", Hours: []OpeningHours{{Days: []int{5, 1}, Start: "09:00", End: "12:00"},
		{Days: []int{1}, Start: "12:00", End: "24:00"}}, Holidays: append(many[1:366:366], Holiday{Date: "2025-12-31", Name: "除夕"})}
	if err := ok.normalize(); err != nil {
		t.Fatalf("adjacent intervals and 366 holidays: %v", err)
	}
	if !slices.Equal(ok.Hours[0].Days, []int{1, 5}) || ok.Holidays[0].Date != "2025-12-31" {
		t.Errorf("not put in order: %+v", ok)
	}
}

func TestAfterHoursText(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	fri := time.Date(2026, 11, 27, 19, 0, 0, 0, sh)
	mon := AfterHours{OpensAt: time.Date(2026, 11, 30, 9, 0, 0, 0, sh), Timezone: "Asia/Shanghai", asOf: fri}
	far := AfterHours{OpensAt: time.Date(2026, 12, 8, 9, 0, 0, 0, sh), Timezone: "Asia/Shanghai", asOf: fri}
	for _, tc := range []struct {
		a          AfterHours
		lang, want string
	}{
		{mon, "en", "Mon 09:00 (Asia/Shanghai)"},
		{mon, "zh", "周一 09:00（Asia/Shanghai）"},
		{mon, "", "Mon 09:00 (Asia/Shanghai)"},
		{far, "en", "Tue 8 Dec 09:00 (Asia/Shanghai)"},
		{far, "zh", "12月8日周二 09:00（Asia/Shanghai）"},
	} {
		if got := tc.a.When(tc.lang); got != tc.want {
			t.Errorf("%v in %q: %q, want %q", tc.a.OpensAt, tc.lang, got, tc.want)
		}
		if text := tc.a.Text(tc.lang); !strings.Contains(text, tc.want) {
			t.Errorf("notice %q does not say %q", text, tc.want)
		}
	}
}

// TestGroupCalendarEndToEnd: a group's calendar is stored, listed and audited; a ticket
// opened on Friday evening in a group closed at weekends gets its deadlines on Monday,
// waits in the queue, and its customer is told when the group opens; a transfer and a
// priority change count the deadlines in the calendar of the ticket's group; an agent
// who takes a ticket at once leaves nobody away.
func TestGroupCalendarEndToEnd(t *testing.T) {
	ts := newTestService(t)
	ctx := context.Background()
	sh := mustZone(t, "Asia/Shanghai")
	sup := Actor{ID: "sam", Supervisor: true}
	mon := func(h, m int) time.Time { return time.Date(2026, 11, 30, h, m, 0, 0, sh) }

	if _, err := ts.PutSkillGroup(ctx, "sam", SkillGroup{ID: "billing", Skills: []string{"billing"},
		Calendar: &Calendar{Timezone: "Mars/Base", Hours: officeCalendar().Hours}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown zone: err %v, want ErrInvalid", err)
	}
	cal := officeCalendar("2026-12-25", "2026-10-01")
	cal.Holidays[0].Name = "Christmas"
	put, err := ts.PutSkillGroup(ctx, "sam", SkillGroup{ID: "billing", Skills: []string{"billing"}, Calendar: cal})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.PutSkillGroup(ctx, "sam", SkillGroup{ID: "tech", Skills: []string{"tech"}}); err != nil {
		t.Fatal(err)
	}
	groups, err := ts.store.SkillGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []SkillGroup{{ID: "billing", Name: "billing", Skills: []string{"billing"}, Calendar: &Calendar{Timezone: "Asia/Shanghai",
		Hours:    []OpeningHours{{Days: []int{1, 2, 3, 4, 5}, Start: "09:00", End: "18:00"}},
		Holidays: []Holiday{{Date: "2026-10-01"}, {Date: "2026-12-25", Name: "Christmas"}}}},
		{ID: "tech", Name: "tech", Skills: []string{"tech"}}}
	if diff := cmp.Diff(want, groups); diff != "" {
		t.Fatalf("stored groups (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[0], put); diff != "" {
		t.Errorf("returned group (-want +got):\n%s", diff)
	}
	audited := auditedCalendar(t, ts, "billing")
	if diff := cmp.Diff(want[0].Calendar, audited); diff != "" {
		t.Errorf("audited calendar (-want +got):\n%s", diff)
	}

	ts.clock.t = time.Date(2026, 11, 27, 19, 0, 0, 0, sh) // Friday evening
	tk, a, err := ts.CreateTicket(ctx, sup, NewTicket{Customer: Customer{PseudonymousID: "c1"}, Priority: PriorityUrgent,
		Skills: []string{"billing"}, Subject: "refund", Message: "where is my refund?"})
	if err != nil {
		t.Fatal(err)
	}
	if a != nil || tk.Status != StatusOpen || tk.GroupID != "billing" {
		t.Fatalf("ticket %+v, assignment %+v: want it waiting in billing", tk, a)
	}
	// urgent: 15 minutes to answer, 4 hours to resolve, in the group's hours
	checkDeadlines(t, "opened on friday evening", tk, mon(9, 15), mon(13, 0))
	if tk.AfterHours == nil || !tk.AfterHours.OpensAt.Equal(mon(9, 0)) || tk.AfterHours.GroupID != "billing" {
		t.Fatalf("after hours %+v, want billing opening monday 09:00", tk.AfterHours)
	}
	msgs, err := ts.store.ListMessages(ctx, tk.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[1].Author != AuthorAfterHours || !strings.Contains(msgs[1].Text, "back Mon 09:00 (Asia/Shanghai)") {
		t.Fatalf("conversation %+v: want the customer's message, then the after-hours notice", msgs)
	}
	stored, err := ts.GetTicket(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkDeadlines(t, "stored", stored, mon(9, 15), mon(13, 0))

	// normal: 4 hours to answer, 24 to resolve: Monday 9 h, Tuesday 9 h, Wednesday 6 h
	tk, _, err = ts.SetPriority(ctx, sup, tk.ID, PriorityNormal)
	if err != nil {
		t.Fatal(err)
	}
	checkDeadlines(t, "priority normal", tk, mon(13, 0), time.Date(2026, 12, 2, 15, 0, 0, 0, sh))

	// a ticket in a group without a calendar keeps the policy's hours (urgent: around the clock)
	zh, _, err := ts.CreateTicket(ctx, sup, NewTicket{Customer: Customer{PseudonymousID: "c2"}, Priority: PriorityUrgent,
		Skills: []string{"tech"}, Message: "我的网络断了"})
	if err != nil {
		t.Fatal(err)
	}
	checkDeadlines(t, "no calendar", zh, ts.clock.t.Add(15*time.Minute), ts.clock.t.Add(4*time.Hour))
	if zh.AfterHours != nil {
		t.Fatalf("a group without a calendar is never closed: %+v", zh.AfterHours)
	}
	// moved to billing, its clock runs in billing's hours from its opening
	zh, _, err = ts.Transfer(ctx, sup, zh.ID, "billing", "")
	if err != nil {
		t.Fatal(err)
	}
	checkDeadlines(t, "transferred to billing", zh, mon(9, 15), mon(13, 0))

	// the bot tells the customer itself: nothing is written to the conversation
	bot, _, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: "c3"}, Skills: []string{"billing"},
		Message: "你好", AnswersAfterHours: true})
	if err != nil {
		t.Fatal(err)
	}
	if bot.AfterHours == nil || bot.AfterHours.Text("zh") != "人工客服现在不在工作时间，将于周一 09:00（Asia/Shanghai）上线。您的问题已进入人工队列，客服上线后会在这里回复您。" {
		t.Fatalf("bot's ticket after hours %+v", bot.AfterHours)
	}
	if msgs, _ := ts.store.ListMessages(ctx, bot.ConversationID); len(msgs) != 1 {
		t.Fatalf("conversation %+v: want only the customer's message", msgs)
	}

	// an agent working late takes the ticket at once: nobody is away
	if _, err := ts.PutAgent(ctx, "sam", Agent{ID: "alice", Groups: []string{"billing"}, Capacity: 5}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.SetAgentStatus(ctx, "alice", AgentOnline, -1); err != nil {
		t.Fatal(err)
	}
	late, a, err := ts.CreateTicket(ctx, sup, NewTicket{Customer: Customer{PseudonymousID: "c4"}, Skills: []string{"billing"}})
	if err != nil {
		t.Fatal(err)
	}
	if a == nil || late.AfterHours != nil {
		t.Fatalf("assignment %+v, after hours %+v: want assigned and nobody away", a, late.AfterHours)
	}
	if msgs, _ := ts.store.ListMessages(ctx, late.ConversationID); len(msgs) != 0 {
		t.Fatalf("conversation %+v: want no notice", msgs)
	}
}

func checkDeadlines(t *testing.T, what string, tk Ticket, fr, res time.Time) {
	t.Helper()
	if tk.FirstResponseDue == nil || tk.ResolutionDue == nil || !tk.FirstResponseDue.Equal(fr) || !tk.ResolutionDue.Equal(res) {
		t.Errorf("%s: deadlines %v, %v; want %v, %v", what, tk.FirstResponseDue, tk.ResolutionDue, fr, res)
	}
}

// auditedCalendar is the calendar of the newest skill_group.put event of group id.
func auditedCalendar(t *testing.T, ts *testService, id string) *Calendar {
	t.Helper()
	events, err := ts.store.AuditLog(context.Background(), 0, 200)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range slices.Backward(events) {
		if e.Action == "skill_group.put" && e.Target == id {
			var g SkillGroup
			if err := json.Unmarshal(e.Detail, &g); err != nil {
				t.Fatal(err)
			}
			return g.Calendar
		}
	}
	t.Fatal(fmt.Sprintf("no skill_group.put event for %s", id))
	return nil
}
