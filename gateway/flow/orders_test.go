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
		{"Order number is 1234567, where is it?", "1234567"},
		{"My order number is 1234567. When will it arrive?", "1234567"},
		{"track my order: ZX-99120-7 please", "ZX-99120-7"},
		{"where is my order １２３４５６７８", "12345678"},
		{"我的订单 2024112233445 到哪了", "2024112233445"},
		{"订单号123456789012什么时候发货", "123456789012"},
		{"订单号是1234567890，到哪了", "1234567890"},
		{"订单号码 1234567890 到哪了", "1234567890"},
		{"1234567890这个订单到哪了", "1234567890"},
		{"订单1234567890还没收到", "1234567890"},
		{"I want to cancel order 1234567", ""},                     // not about where it is
		{"where is my order", ""},                                  // no number
		{"where is my order ABCDEF", ""},                           // not a number
		{"order 12 where", ""},                                     // too short
		{"my parcel 1234567 has not arrived", ""},                  // no order named
		{"I want to order 20000 units, when can you ship?", ""},    // a sale, not an order
		{"I want to return order 1234567, it arrived damaged", ""}, // a return
		{"When will I get my refund for order 1234567?", ""},       // a refund
		{"change the delivery address on order 1234567", ""},       // an address
		{"订单 2024112233445 我要退款", ""},                              // a refund, not its whereabouts
		{"订单 1234567890 我要退货，快递怎么寄", ""},                           // a return
		{"订单1234567890的发票什么时候开", ""},                               // an invoice
		{"订单1234567890修改收货地址，还没发货吧", ""},                           // an address
	} {
		got, ok := OrderQuery(tc.text)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("OrderQuery(%q) = %q, %v; want %q", tc.text, got, ok, tc.want)
		}
	}
}

// fakeOrders answers from a map: an order is verified as web:1's when its "owner" field
// says so; fail makes every lookup fail as an unreachable ERP.
type fakeOrders struct {
	orders map[string]map[string]string
	fail   error
	asked  []string
}

func (f *fakeOrders) Order(_ context.Context, id, customer string) (Order, error) {
	f.asked = append(f.asked, id+" for "+customer)
	if f.fail != nil {
		return Order{}, f.fail
	}
	o, ok := f.orders[id]
	if !ok {
		return Order{}, ErrOrderNotFound
	}
	return Order{ID: id, Fields: o, Verified: o["owner"] == customer}, nil
}

// TestOrderTool: a question about an order is answered from the ERP in the customer's
// language (the knowledge base is not asked); an unknown order is answered too; a
// failed lookup escalates with what failed; other messages pass to the knowledge base.
func TestOrderTool(t *testing.T) {
	orders := &fakeOrders{orders: map[string]map[string]string{
		"1234567": {"status": "shipped", "carrier": "DHL", "eta": "2026-12-10", "owner": "web:1", "recipient": "Ann Lee, 12 Rose Lane"},
		"7654321": {"status": "已发货", "carrier": "顺丰", "eta": "12月10日", "owner": "web:1"},
		"5555555": {"status": "shipped", "carrier": "DHL", "tracking": "JD0001", "eta": "2026-12-11", "owner": "web:2"}}}
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
		{"en", "where is order number 9999999", "I could not find order 9999999. Please check the number; it is on your confirmation email."},
		// someone else's order: the status and the date, not the carrier or the tracking
		{"en", "where is my order #5555555", "Order 5555555 is shipped; expected 2026-12-11."},
		// the understanding step degraded: the language of the question
		{"", "我的订单7654321到哪了", "订单 7654321 的状态：已发货，承运：顺丰，预计 12月10日 送达。"},
	} {
		turn, desk := run(tc.lang, tc.text)
		if diff := cmp.Diff(tc.reply, turn.Reply); diff != "" || turn.Escalated || len(desk.opened) != 0 || !turn.ToolAnswered {
			t.Errorf("%q: escalated %v, reply (-want +got):\n%s", tc.text, turn.Escalated, diff)
		}
	}

	// "my order 9999999" may not be an order number: unknown, the knowledge base answers.
	if turn, _ := run("en", "where is my order 9999999"); turn.ToolAnswered || turn.Reply == "" {
		t.Errorf("a weak reference to an unknown order: %+v", turn)
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
