package flow

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/tickets"
)

// countingInbox stores nothing: it answers every message as a duplicate whose first
// delivery stored outcome, and counts the calls.
type countingInbox struct {
	Inbox
	outcome json.RawMessage
	calls   int
	got     []tickets.Inbound
}

func (c *countingInbox) RecordInbound(_ context.Context, in tickets.Inbound) (tickets.InboundResult, error) {
	c.calls++
	c.got = append(c.got, in)
	return tickets.InboundResult{ConversationID: "c-1", CustomerID: "cu-1", MessageID: 7, Duplicate: true, Outcome: c.outcome}, nil
}

type recorder struct{ replies []tickets.TurnReply }

func (r *recorder) RecordReply(_ context.Context, rep tickets.TurnReply) error {
	r.replies = append(r.replies, rep)
	return nil
}

func newFlow(inbox Inbox, replies ReplyRecorder) *Flow {
	d := Deps{Redactor: pii.NewRedactor(), Inbox: inbox, Escalation: EscalationPolicy{MinConfidence: 0.5}}
	ingress, process := d.Pipelines(pipeline.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
	return &Flow{Ingress: ingress, Process: process, Replies: replies}
}

// TestRedeliveryCostsOneStoreCall: a redelivered message is answered with the outcome
// its first delivery stored, which persist's one call brought back; nothing is processed
// or recorded again.
func TestRedeliveryCostsOneStoreCall(t *testing.T) {
	first := Outcome{ConversationID: "c-1", Reply: "Refunds take 5 days.", Citations: []pipeline.Citation{}, Confidence: 0.9,
		Degraded: []string{}}
	raw, _ := json.Marshal(first)
	for _, tc := range []struct {
		name   string
		stored json.RawMessage
		want   Outcome
	}{
		{"answered before", raw, first},
		{"still being answered", nil, Outcome{ConversationID: "c-1", Citations: []pipeline.Citation{}, Degraded: []string{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inbox, rec := &countingInbox{outcome: tc.stored}, &recorder{}
			turn := &pipeline.Turn{Channel: "rest", ChannelMessageID: "k1", CustomerRef: "web:1", Lease: time.Minute,
				Parts: []pipeline.Part{{Kind: pipeline.PartText, Text: "where is my refund?"}}}
			res, err := newFlow(inbox, rec).Answer(context.Background(), turn)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(Result{Outcome: tc.want, Duplicate: true}, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if inbox.calls != 1 || len(rec.replies) != 0 {
				t.Fatalf("%d store calls and %d replies recorded for a redelivery; want 1 and 0", inbox.calls, len(rec.replies))
			}
		})
	}
}

// TestPersistStoresTheMediaFacts: what later steps need of the media travels as the
// pending turn's fields.
func TestPersistStoresTheMediaFacts(t *testing.T) {
	inbox := &countingInbox{}
	turn := &pipeline.Turn{Channel: "telegram", ChannelMessageID: "9", CustomerRef: "tg:1",
		Parts:      []pipeline.Part{{Kind: pipeline.PartImage, Data: []byte{1}}},
		Labels:     []pipeline.Label{{Name: "pelican", Score: 0.9}},
		Categories: []string{"sea birds"}}
	if err := newFlow(inbox, &recorder{}).Receive(context.Background(), turn); err != nil {
		t.Fatal(err)
	}
	want := tickets.TurnFacts{Labels: []tickets.Label{{Name: "pelican", Score: 0.9}}, Categories: []string{"sea birds"}}
	if len(inbox.got) != 1 {
		t.Fatalf("%d inbound records", len(inbox.got))
	}
	if diff := cmp.Diff(want, inbox.got[0].Facts); diff != "" {
		t.Errorf("stored facts (-want +got):\n%s", diff)
	}
	if inbox.got[0].Text != "[photo: pelican 90% | category: sea birds]" {
		t.Errorf("stored text %q", inbox.got[0].Text)
	}
}

type fixedUnderstanding struct{ Understanding }

func (f fixedUnderstanding) Understand(context.Context, string) (Understanding, error) {
	return f.Understanding, nil
}

type confidentAnswer struct{}

func (confidentAnswer) Answer(context.Context, string) (Answer, error) {
	return Answer{Text: "Freeze your card in the app.", Confidence: 0.95}, nil
}

type noTickets struct{}

func (noTickets) OpenTicketFor(context.Context, string) (tickets.Ticket, error) {
	return tickets.Ticket{}, tickets.ErrNotFound
}
func (noTickets) TicketForTurn(context.Context, int64) (tickets.Ticket, error) {
	return tickets.Ticket{}, tickets.ErrNotFound
}
func (noTickets) BotSpokeSince(context.Context, string, time.Time) (bool, error) { return false, nil }

type recordingDesk struct{ opened []tickets.NewTicket }

func (d *recordingDesk) CreateTicket(_ context.Context, _ tickets.Actor, n tickets.NewTicket) (tickets.Ticket, *tickets.Assignment, error) {
	d.opened = append(d.opened, n)
	return tickets.Ticket{ID: "t-1"}, nil, nil
}
func (d *recordingDesk) CustomerReplied(context.Context, string) error { return nil }

// TestIntentSkillsEscalate: an intent of routing.intent_skills goes to a human however
// confident the knowledge base is, on a ticket that needs the intent's skills.
func TestIntentSkillsEscalate(t *testing.T) {
	for _, tc := range []struct {
		intent     string
		escalated  bool
		wantSkills []string
	}{
		{"lost_or_stolen_card", true, []string{"cards", "fraud"}},
		{"card_arrival", false, nil},
	} {
		t.Run(tc.intent, func(t *testing.T) {
			desk := &recordingDesk{}
			d := Deps{Redactor: pii.NewRedactor(), OpenTickets: noTickets{}, Desk: desk,
				Understander: fixedUnderstanding{Understanding{Language: "en", Intent: tc.intent, Confidence: 0.9}},
				Answerer:     confidentAnswer{},
				Escalation:   EscalationPolicy{MinConfidence: 0.5, IntentSkills: map[string][]string{"lost_or_stolen_card": {"cards", "fraud"}}}}
			_, process := d.Pipelines(pipeline.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
			turn := &pipeline.Turn{Channel: "rest", ConversationID: "c-1", CustomerRef: "web:1", Text: "my card is gone"}
			if err := process.Run(context.Background(), turn); err != nil {
				t.Fatal(err)
			}
			wantTickets := 0
			if tc.escalated {
				wantTickets = 1
			}
			if turn.Escalated != tc.escalated || len(desk.opened) != wantTickets {
				t.Fatalf("escalated %v with %d tickets, want %v", turn.Escalated, len(desk.opened), tc.escalated)
			}
			if tc.escalated && !cmp.Equal(desk.opened[0].Skills, tc.wantSkills) {
				t.Fatalf("ticket skills %v, want %v", desk.opened[0].Skills, tc.wantSkills)
			}
		})
	}
}

// TestEscalationThresholdPerLanguage: the same confidence answers in a language whose
// threshold it clears and escalates in one whose threshold it does not.
func TestEscalationThresholdPerLanguage(t *testing.T) {
	pol := EscalationPolicy{MinConfidence: 0.35, MinConfidenceByLanguage: map[string]float64{"zh": 0.25}}
	for _, tc := range []struct {
		lang       string
		confidence float64
		want       bool
	}{
		{"zh", 0.3, false},
		{"zh", 0.2, true},
		{"en", 0.3, true},
		{"en", 0.4, false},
		{"", 0.3, true}, // no language: the default threshold
	} {
		if got := pol.Escalates(false, "", tc.lang, "an answer", tc.confidence); got != tc.want {
			t.Errorf("%q at %.2f: escalates %v, want %v", tc.lang, tc.confidence, got, tc.want)
		}
	}
}

// TestRedactionReadsTheCustomersRegion: the redact step reads a phone number written
// without a country code in the notation of the customer's region (Turn.Region, set by
// the channel) before the redactor's own regions.
func TestRedactionReadsTheCustomersRegion(t *testing.T) {
	stage := redactStage(pii.NewRedactor(pii.WithPhoneRegions("US", "GB")))
	for _, tt := range []struct {
		region, want string
	}{
		{"", "2345 6789 is my number"}, // not a US or UK number
		{"HK", "[PHONE_1] is my number"},
		{"hk", "[PHONE_1] is my number"},
		{"ZZ", "2345 6789 is my number"}, // unknown: ignored
	} {
		turn := &pipeline.Turn{Region: tt.region, Parts: []pipeline.Part{{Kind: pipeline.PartText, Text: "2345 6789 is my number"}}}
		if err := stage.Process(context.Background(), turn); err != nil {
			t.Fatal(err)
		}
		if turn.Text != tt.want {
			t.Errorf("region %q: %q, want %q", tt.region, turn.Text, tt.want)
		}
	}
}
