package flow

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/tickets"
)

// closedDesk opens tickets that wait while their group is closed (away set) or open.
type closedDesk struct {
	away   *tickets.AfterHours
	opened []tickets.NewTicket
}

func (d *closedDesk) CreateTicket(_ context.Context, _ tickets.Actor, n tickets.NewTicket) (tickets.Ticket, *tickets.Assignment, error) {
	d.opened = append(d.opened, n)
	return tickets.Ticket{ID: "t-1", Status: tickets.StatusOpen, AfterHours: d.away}, nil, nil
}
func (d *closedDesk) CustomerReplied(context.Context, string) error { return nil }

// TestEscalationAfterHoursTellsWhenTheTeamIsBack: an escalation whose ticket waits while
// its group is closed answers the customer, in their language, with the group's next
// opening in its local time; the ticket core is told the reply says so. With the group
// open the reply is the usual handover.
func TestEscalationAfterHoursTellsWhenTheTeamIsBack(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	away := &tickets.AfterHours{GroupID: "support", OpensAt: time.Date(2026, 11, 30, 9, 0, 0, 0, sh), Timezone: "Asia/Shanghai"}
	for _, tc := range []struct {
		name, lang, text string
		away             *tickets.AfterHours
		want             string
	}{
		{"english, closed", "en", "a human please", away,
			"Our team is away right now and back Mon 09:00 (Asia/Shanghai). Your request is in the queue; an agent will answer you here then."},
		{"chinese, closed", "zh", "转人工", away,
			"人工客服现在不在工作时间，将于周一 09:00（Asia/Shanghai）上线。您的问题已进入人工队列，客服上线后会在这里回复您。"},
		{"english, open", "en", "a human please", nil, HandoverText("en")},
		{"chinese, open", "zh", "转人工", nil, HandoverText("zh")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			desk := &closedDesk{away: tc.away}
			d := Deps{Redactor: pii.NewRedactor(), OpenTickets: noTickets{}, Desk: desk,
				Understander: fixedUnderstanding{Understanding{Language: tc.lang, Intent: "other", WantsHuman: true}},
				Escalation:   EscalationPolicy{MinConfidence: 0.5}}
			_, process := d.Pipelines(pipeline.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
			turn := &pipeline.Turn{Channel: "rest", ConversationID: "c-1", CustomerRef: "web:1", Text: tc.text}
			if err := process.Run(context.Background(), turn); err != nil {
				t.Fatal(err)
			}
			if !turn.Escalated || turn.TicketID != "t-1" || len(desk.opened) != 1 {
				t.Fatalf("escalated %v, ticket %q, %d opened", turn.Escalated, turn.TicketID, len(desk.opened))
			}
			if !desk.opened[0].AnswersAfterHours {
				t.Error("the ticket core was not told the bot answers after hours itself")
			}
			if turn.Reply != tc.want {
				t.Errorf("reply %q, want %q", turn.Reply, tc.want)
			}
		})
	}
}
