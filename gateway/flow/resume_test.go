package flow

import (
	"context"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/tickets"
)

// turnTickets is noTickets with the tickets some turns (by message id) escalated into,
// counting the lookups.
type turnTickets struct {
	noTickets
	byMessage map[int64]tickets.Ticket
	lookups   int
}

func (tt *turnTickets) TicketForTurn(_ context.Context, id int64) (tickets.Ticket, error) {
	tt.lookups++
	if tk, ok := tt.byMessage[id]; ok {
		return tk, nil
	}
	return tickets.Ticket{}, tickets.ErrNotFound
}

// TestRetriedTurnResumesItsEscalation: a retried turn (attempt > 1) that an earlier
// attempt escalated names that ticket and repeats the handover, in the handoff's
// language, without a new ticket or a bot answer; a first attempt never looks, and a
// retried turn without a ticket runs the whole flow.
func TestRetriedTurnResumesItsEscalation(t *testing.T) {
	resolved := tickets.Ticket{ID: "t-earlier", Status: tickets.StatusResolved,
		Handoff: &tickets.Handoff{Reason: tickets.HandoffAskedForHuman, Language: "zh", Intent: "refund"}}
	type result struct {
		Lookups, Opened int
		Escalated       bool
		TicketID, Reply string
	}
	for _, tc := range []struct {
		name      string
		attempt   int
		messageID int64
		want      result
	}{
		{"retry of an escalated turn", 2, 7, result{Lookups: 1, Escalated: true, TicketID: "t-earlier", Reply: HandoverText("zh")}},
		{"retry of a turn without a ticket", 2, 8, result{Lookups: 1, Reply: "Freeze your card in the app."}},
		{"first attempt", 1, 7, result{Reply: "Freeze your card in the app."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			desk, tix := &recordingDesk{}, &turnTickets{byMessage: map[int64]tickets.Ticket{7: resolved}}
			d := Deps{Redactor: pii.NewRedactor(), OpenTickets: tix, Desk: desk,
				Understander: fixedUnderstanding{Understanding{Language: "en", Intent: "card", Confidence: 0.9}},
				Answerer:     confidentAnswer{}, Escalation: EscalationPolicy{MinConfidence: 0.5}}
			_, process := d.Pipelines(pipeline.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
			turn := &pipeline.Turn{Channel: "telegram", ConversationID: "c-1", CustomerRef: "tg:1", MessageID: tc.messageID,
				Attempt: tc.attempt, Text: "my card"}
			if err := process.Run(context.Background(), turn); err != nil {
				t.Fatal(err)
			}
			got := result{Lookups: tix.lookups, Opened: len(desk.opened), Escalated: turn.Escalated, TicketID: turn.TicketID, Reply: turn.Reply}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
