package flow

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/tickets"
)

func TestOrderQuery(t *testing.T) {
	for _, tc := range []struct {
		text, want string
	}{
		{"where is my order 1234567", "1234567"},
		{"Where is my order #A7731920?", "A7731920"},
		{"what's the status of order number 5529-1183", "5529-1183"},
		{"When will order no. 88812 arrive?", "88812"},
		{"我的订单 2024112233445 到哪了", "2024112233445"},
		{"订单号123456789012什么时候发货", "123456789012"},
		{"I want to cancel order 1234567", ""},    // not about where it is
		{"where is my order", ""},                 // no number
		{"where is my order ABCDEF", ""},          // not a number
		{"order 12 where", ""},                    // too short
		{"my parcel 1234567 has not arrived", ""}, // no order named
		{"订单 2024112233445 我要退款", ""},             // a refund, not its whereabouts
		{"track my order: ZX-99120-7 please", "ZX-99120-7"},
	} {
		got, ok := OrderQuery(tc.text)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("OrderQuery(%q) = %q, %v; want %q", tc.text, got, ok, tc.want)
		}
	}
}

// fakeOrders answers from a map; fail makes every lookup fail as an unreachable ERP.
type fakeOrders struct {
	orders map[string]map[string]string
	fail   error
	asked  []string
}

func (f *fakeOrders) Order(_ context.Context, id string) (Order, error) {
	f.asked = append(f.asked, id)
	if f.fail != nil {
		return Order{}, f.fail
	}
	o, ok := f.orders[id]
	if !ok {
		return Order{}, ErrOrderNotFound
	}
	return Order{ID: id, Fields: o}, nil
}

// TestOrderTool: a question about an order is answered from the ERP in the customer's
// language (the knowledge base is not asked); an unknown order is answered too; a
// failed lookup escalates with what failed; other messages pass to the knowledge base.
func TestOrderTool(t *testing.T) {
	orders := &fakeOrders{orders: map[string]map[string]string{
		"1234567": {"status": "shipped", "carrier": "DHL", "eta": "2026-12-10"},
		"7654321": {"status": "已发货", "carrier": "顺丰", "eta": "12月10日"}}}
	tool := &OrderTool{Lookup: orders}
	if err := tool.Compile(); err != nil {
		t.Fatal(err)
	}
	run := func(lang, text string) (*pipeline.Turn, *recordingDesk) {
		desk := &recordingDesk{}
		d := Deps{Redactor: pii.NewRedactor(), OpenTickets: noTickets{}, Desk: desk, Orders: tool,
			Understander: fixedUnderstanding{Understanding{Language: lang, Intent: "other", Confidence: 0.2}},
			Answerer:     confidentAnswer{}, Escalation: EscalationPolicy{MinConfidence: 0.5}}
		_, process := d.Pipelines(pipeline.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler))
		turn := &pipeline.Turn{Channel: "rest", ConversationID: "c-1", CustomerRef: "web:1", Text: text}
		if err := process.Run(context.Background(), turn); err != nil {
			t.Fatal(err)
		}
		return turn, desk
	}
	for _, tc := range []struct {
		lang, text, reply string
	}{
		{"en", "where is my order 1234567?", "Order 1234567 is shipped, with DHL; expected 2026-12-10."},
		{"zh", "我的订单7654321到哪了", "订单 7654321 的状态：已发货，承运：顺丰，预计 12月10日 送达。"},
		{"en", "where is my order 9999999", "I could not find order 9999999. Please check the number; it is on your confirmation email."},
	} {
		turn, desk := run(tc.lang, tc.text)
		if diff := cmp.Diff(tc.reply, turn.Reply); diff != "" || turn.Escalated || len(desk.opened) != 0 || !turn.ToolAnswered {
			t.Errorf("%q: escalated %v, reply (-want +got):\n%s", tc.text, turn.Escalated, diff)
		}
	}

	// Not about an order: the knowledge base answers.
	turn, _ := run("en", "how do I reset my password")
	if turn.ToolAnswered || turn.Reply == "" || turn.Reply == "Order" {
		t.Errorf("an ordinary question: %+v", turn)
	}

	// The ERP is down: the customer is handed over, the agent told why.
	orders.fail = errors.New("erp: unavailable: 503 after 3 attempts")
	turn, desk := run("en", "where is my order 1234567")
	if !turn.Escalated || len(desk.opened) != 1 || turn.Reply != HandoverText("en") {
		t.Fatalf("a failed lookup: escalated %v, %d tickets, reply %q", turn.Escalated, len(desk.opened), turn.Reply)
	}
	want := &tickets.Handoff{Reason: tickets.HandoffToolFailed, Asked: "where is my order 1234567", Intent: "other", Language: "en",
		Confidence: 0, ToolFailure: "order 1234567: erp: unavailable: 503 after 3 attempts"}
	if diff := cmp.Diff(want, desk.opened[0].Handoff); diff != "" {
		t.Errorf("handoff (-want +got):\n%s", diff)
	}

	bad := &OrderTool{Lookup: orders, Answers: map[string]string{"en": "{{.status"}}
	if err := bad.Compile(); err == nil {
		t.Error("a broken template compiled")
	}
	if err := (&OrderTool{Lookup: orders, Answers: map[string]string{"fr": "x"}}).Compile(); err == nil {
		t.Error("a template for an unknown language compiled")
	}
}
