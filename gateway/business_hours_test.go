package gateway

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/tickets"
)

// humanSeeker asks for a human in whatever language it writes; the knowledge base has
// no answer.
type humanSeeker struct{}

func (humanSeeker) Understand(_ context.Context, text string) (flow.Understanding, error) {
	lang := "en"
	if strings.ContainsFunc(text, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
		lang = "zh"
	}
	return flow.Understanding{Language: lang, Intent: "other", Confidence: 0.9, WantsHuman: true}, nil
}

func (humanSeeker) Answer(context.Context, string) (flow.Answer, error) { return flow.Answer{}, nil }

// TestBusinessHoursEndToEnd: a supervisor gives the support group a calendar through
// PUT /v1/skill-groups/:id (a bad one is a 400 saying what is wrong); GET lists it and
// the audit log holds it. The group is on holiday today and the next two days, so a
// customer who asks for a human is told, in their language, when the team is back (the
// third day at 09:00 Shanghai time); the ticket waits in the queue with its deadlines in
// the group's hours. A ticket a supervisor opens answers with after_hours and writes
// the notice into the conversation. The wall clock is the server's: the holidays cover
// today and the days next to it, so the answer is the same whenever the test runs.
func TestBusinessHoursEndToEnd(t *testing.T) {
	in := newInstanceWith(t, newPool(t), "hours"+strings.ToLower(t.Name()), humanSeeker{})
	base := in.http.URL
	sup := in.token(t, "sam", RoleSupervisor)
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	y, m, d := time.Now().In(sh).Date()
	day := func(n int) string { return time.Date(y, m, d+n, 12, 0, 0, 0, sh).Format(time.DateOnly) }
	opens := time.Date(y, m, d+3, 9, 0, 0, 0, sh)

	body := map[string]any{"name": "Support", "skills": []string{"general"}, "calendar": map[string]any{
		"timezone": "Asia/Shanghai",
		"hours":    []map[string]any{{"days": []int{6, 0, 1, 2, 3, 4, 5}, "start": "09:00", "end": "18:00"}},
		"holidays": []map[string]any{{"date": day(2)}, {"date": day(0), "name": "office party"}, {"date": day(1)}},
	}}
	want := tickets.SkillGroup{ID: "support", Name: "Support", Skills: []string{"general"}, Calendar: &tickets.Calendar{
		Timezone: "Asia/Shanghai", Hours: []tickets.OpeningHours{{Days: []int{0, 1, 2, 3, 4, 5, 6}, Start: "09:00", End: "18:00"}},
		Holidays: []tickets.Holiday{{Date: day(0), Name: "office party"}, {Date: day(1)}, {Date: day(2)}}}}
	var put tickets.SkillGroup
	mustCall(t, 200, base, sup, "PUT", "/v1/skill-groups/support", body, &put)
	if diff := cmp.Diff(want, put); diff != "" {
		t.Fatalf("PUT answer (-want +got):\n%s", diff)
	}
	var list struct {
		SkillGroups []tickets.SkillGroup `json:"skill_groups"`
	}
	mustCall(t, 200, base, sup, "GET", "/v1/skill-groups", nil, &list)
	if diff := cmp.Diff([]tickets.SkillGroup{want}, list.SkillGroups); diff != "" {
		t.Fatalf("GET /v1/skill-groups (-want +got):\n%s", diff)
	}
	for _, bad := range []struct{ calendar, says string }{
		{`{"timezone": "Asia/Atlantis", "hours": [{"days": [1], "start": "09:00", "end": "18:00"}]}`, "unknown zone"},
		{`{"timezone": "UTC", "hours": [{"days": [1], "start": "18:00", "end": "09:00"}]}`, "end must be after the start"},
		{`{"timezone": "UTC", "hours": [{"days": [1], "start": "9 o'clock", "end": "18:00"}]}`, "want HH:MM"},
	} {
		var raw json.RawMessage
		if got := call(t, base, sup, "PUT", "/v1/skill-groups/support", `{"calendar": `+bad.calendar+`}`, &raw); got != 400 ||
			!strings.Contains(string(raw), bad.says) {
			t.Errorf("calendar %s: %d %s, want 400 saying %q", bad.calendar, got, raw, bad.says)
		}
	}
	events, err := in.store.AuditLog(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Action != "skill_group.put" || events[0].Actor != "sam" ||
		!strings.Contains(string(events[0].Detail), `"office party"`) {
		t.Fatalf("audit events %+v: want one skill_group.put by sam with the calendar", events)
	}

	for _, c := range []struct{ customer, text, want string }{
		{"web:away-en", "a human please", "Our team is away right now and back " + opens.Format("Mon") + " 09:00 (Asia/Shanghai)."},
		{"web:away-zh", "请帮我转人工", "人工客服现在不在工作时间，将于" +
			[]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}[opens.Weekday()] + " 09:00（Asia/Shanghai）上线。"},
	} {
		var r MessageReply
		mustCall(t, 200, base, in.token(t, c.customer, RoleCustomer), "POST", "/v1/messages", map[string]any{"text": c.text}, &r)
		if !r.Escalated || r.TicketID == "" || !strings.HasPrefix(r.Reply, c.want) {
			t.Fatalf("%q: escalated %v, ticket %q, reply %q; want one starting %q", c.text, r.Escalated, r.TicketID, r.Reply, c.want)
		}
		var detail tickets.TicketDetail
		mustCall(t, 200, base, sup, "GET", "/v1/tickets/"+r.TicketID, nil, &detail)
		tk := detail.Ticket
		// normal priority: 4 hours to answer, 24 to resolve, counted from the opening (9 hours a day)
		if tk.Status != tickets.StatusOpen || tk.GroupID != "support" || tk.FirstResponseDue == nil ||
			!tk.FirstResponseDue.Equal(opens.Add(4*time.Hour)) || !tk.ResolutionDue.Equal(opens.AddDate(0, 0, 2).Add(6*time.Hour)) {
			t.Errorf("%q: ticket %s in %q due %v / %v; want waiting in support, due %v / %v", c.text, tk.Status, tk.GroupID,
				tk.FirstResponseDue, tk.ResolutionDue, opens.Add(4*time.Hour), opens.AddDate(0, 0, 2).Add(6*time.Hour))
		}
		last := detail.Messages[len(detail.Messages)-1]
		if last.Author != "bot" || last.Text != r.Reply {
			t.Errorf("%q: last message %+v, want the bot's reply", c.text, last)
		}
	}

	var opened struct {
		Ticket struct {
			ID         string `json:"id"`
			AfterHours struct {
				GroupID  string    `json:"group_id"`
				OpensAt  time.Time `json:"opens_at"`
				Timezone string    `json:"timezone"`
			} `json:"after_hours"`
		} `json:"ticket"`
	}
	mustCall(t, 201, base, sup, "POST", "/v1/tickets", map[string]any{"customer": map[string]any{"pseudonymous_id": "crm:7"},
		"subject": "invoice", "message": "please resend my invoice"}, &opened)
	ah := opened.Ticket.AfterHours
	if ah.GroupID != "support" || !ah.OpensAt.Equal(opens) || ah.Timezone != "Asia/Shanghai" {
		t.Fatalf("after_hours %+v, want support opening %v", ah, opens)
	}
	var detail tickets.TicketDetail
	mustCall(t, 200, base, sup, "GET", "/v1/tickets/"+opened.Ticket.ID, nil, &detail)
	notice := detail.Messages[len(detail.Messages)-1]
	if notice.Author != tickets.AuthorAfterHours || !strings.Contains(notice.Text, opens.Format("Mon")+" 09:00 (Asia/Shanghai)") {
		t.Errorf("conversation ends with %+v, want the after-hours notice", notice)
	}
}
