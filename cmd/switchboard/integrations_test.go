package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/internal/connector/connectortest"
	"github.com/switchboard-cs/switchboard/tickets/webhooks"
)

// hookReceiver is a company's endpoint for Switchboard's webhooks: it checks each
// signature and keeps the events.
type hookReceiver struct {
	mu     sync.Mutex
	events []webhooks.Event
	bad    int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts, _ := strconv.ParseInt(r.Header.Get(webhooks.HeaderTimestamp), 10, 64)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !webhooks.Verify("hook-secret", ts, body, r.Header.Get(webhooks.HeaderSignature)) {
		h.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var e webhooks.Event
	if err := json.Unmarshal(body, &e); err != nil {
		h.bad++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.events = append(h.events, e)
}

func (h *hookReceiver) ofType(typ string) []webhooks.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []webhooks.Event
	for _, e := range h.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// eventually polls cond every 100 ms for up to 15 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(15 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s: not within 15 s", what)
		}
	}
}

// TestServeConnectsToCRMAndERP runs serve with a CRM, an ERP (local fakes, through the
// generic connector of connectors.file) and a webhook endpoint: a customer's question
// about an order is answered from the ERP in their words' language; their record is
// filled from the CRM after the first message (tier, name, tags, owner), without the
// CRM ever receiving what its allow list does not name; the ERP down escalates the
// question with what failed; the ticket reaches the endpoint as a signed event.
func TestServeConnectsToCRMAndERP(t *testing.T) {
	needPostgres(t)
	crm := connectortest.NewCRM(t, connectortest.Contact{ID: "c-17", ChannelID: "web:ann", FirstName: "Ann", LastName: "Lee",
		TierLevel: 2, Tags: []string{"enterprise", "beta"}, OwnerName: "Dana"})
	erp := connectortest.NewERP(t, connectortest.Order{ID: "1234567", Status: "shipped", Carrier: "DHL", ETA: "2026-12-10", CustomerChannelID: "web:ann"},
		connectortest.Order{ID: "7654321", Status: "已发货", Carrier: "顺丰", ETA: "12月10日", CustomerChannelID: "web:ann"},
		connectortest.Order{ID: "3333333", Status: "shipped", Carrier: "UPS", Tracking: "1Z999", ETA: "2026-12-12", CustomerChannelID: "web:cy"})
	hooks := &hookReceiver{}
	endpoint := httptest.NewServer(hooks)
	defer endpoint.Close()

	cfg, _ := faqServeConfig(t)
	dir := t.TempDir()
	cfg.Connectors.File = filepath.Join(dir, "connectors.yaml")
	cfg.Connectors.CustomerLookup, cfg.Connectors.Orders = "crm", "erp"
	cfg.Webhooks.File = filepath.Join(dir, "webhooks.yaml")
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(cfg.Connectors.File, fmt.Sprintf(`connectors:
  crm:
    base_url: %s
    timeout: 1s
    allow: [channel_id]
    operations:
      lookup_customer:
        path: /contacts
        query: {channel_id: "{{.channel_id}}"}
        required: [channel_id]
        map:
          crm_id: $.contact.id
          name: $.contact.name['first','last']
          tier: $.contact.tier.level
          tags: $.contact.tags
          owner: $.contact.owner.name
        types: {name: join, tags: strings}
  erp:
    base_url: %s
    timeout: 500ms
    retries: 1
    breaker: {failures: 2, open_for: 1m}
    allow: [order_id, customer_channel_id]
    operations:
      get_order:
        path: /orders/{{.order_id}}
        required: [order_id]
        map:
          customer_channel_id: $.order.customer.channel_id
          status: $.order.status
          carrier: $.order.shipment.carrier
          eta: $.order.shipment.eta
`, crm.URL, erp.URL))
	write(cfg.Webhooks.File, fmt.Sprintf("endpoints:\n  - name: shop\n    url: %s\n    secret: hook-secret\n    events: [ticket.created]\npoll_interval: 100ms\n", endpoint.URL))

	tokens := map[string]string{}
	for sub, role := range map[string]string{"web:ann": "customer", "web:bo": "customer", "sam": "supervisor", "ada": "admin"} {
		out, _ := execCLIErr(t, "token", sub, "--role", role)
		tokens[sub] = strings.TrimSpace(out)
	}
	base, stop := startServe(t, cfg)
	defer stop()

	type reply struct {
		Reply     string `json:"reply"`
		Escalated bool   `json:"escalated"`
		TicketID  string `json:"ticket_id"`
	}
	ask := func(who, text string) reply {
		t.Helper()
		var r reply
		body, _ := json.Marshal(map[string]string{"text": text})
		if code := request(t, tokens[who], "POST", base+"/v1/messages", string(body), &r); code != 200 {
			t.Fatalf("%s: %q: %d", who, text, code)
		}
		return r
	}
	if r := ask("web:ann", "Where is my order 1234567?"); r.Reply != "Order 1234567 is shipped, with DHL; expected 2026-12-10." || r.Escalated {
		t.Errorf("order answer %+v", r)
	}
	if r := ask("web:ann", "我的订单7654321到哪了"); r.Reply != "订单 7654321 的状态：已发货，承运：顺丰，预计 12月10日 送达。" {
		t.Errorf("Chinese order answer %+v", r)
	}
	if r := ask("web:ann", "where is order number 5555555"); !strings.HasPrefix(r.Reply, "I could not find order 5555555") || r.Escalated {
		t.Errorf("unknown order %+v", r)
	}
	// Cy's order is not Ann's: she is not told it exists
	if r := ask("web:ann", "where is order #3333333"); !strings.HasPrefix(r.Reply, "I could not find order 3333333") || strings.Contains(r.Reply, "UPS") {
		t.Errorf("someone else's order %+v", r)
	}

	// Ann asks for a human: her record has what the CRM knows of her.
	human := ask("web:ann", "I want to talk to a human")
	if !human.Escalated {
		t.Fatalf("not escalated: %+v", human)
	}
	var tk struct {
		Ticket struct {
			CustomerID string `json:"customer_id"`
		} `json:"ticket"`
	}
	if code := request(t, tokens["sam"], "GET", base+"/v1/tickets/"+human.TicketID, "", &tk); code != 200 {
		t.Fatalf("ticket: %d", code)
	}
	var profile struct {
		Customer struct {
			DisplayName string `json:"display_name"`
			VIPTier     int    `json:"vip_tier"`
			CRM         *struct {
				ID    string   `json:"id"`
				Tier  int      `json:"tier"`
				Tags  []string `json:"tags"`
				Owner string   `json:"owner"`
			} `json:"crm"`
		} `json:"customer"`
	}
	eventually(t, "Ann's CRM record", func() bool {
		request(t, tokens["sam"], "GET", base+"/v1/customers/"+tk.Ticket.CustomerID, "", &profile)
		return profile.Customer.CRM != nil
	})
	c := profile.Customer
	if c.DisplayName != "Ann Lee" || c.VIPTier != 2 || c.CRM.ID != "c-17" || c.CRM.Owner != "Dana" || strings.Join(c.CRM.Tags, ",") != "enterprise,beta" {
		t.Errorf("Ann's record %+v, crm %+v", c, c.CRM)
	}
	for _, r := range crm.Requests() {
		if !strings.Contains(r.String(), "channel_id=web%3Aann") && !strings.Contains(r.String(), "channel_id=web:ann") {
			t.Errorf("the CRM was asked %s", r)
		}
	}

	// The ERP is down: Bo's question is handed over, the agent told why.
	erp.SetFailure(connectortest.Failure{Status: 503})
	down := ask("web:bo", "where is my order 2222222") // not cached
	if !down.Escalated {
		t.Fatalf("the ERP down: %+v", down)
	}
	var failed struct {
		Ticket struct {
			Handoff struct {
				Reason      string `json:"reason"`
				ToolFailure string `json:"tool_failure"`
			} `json:"handoff"`
		} `json:"ticket"`
	}
	request(t, tokens["sam"], "GET", base+"/v1/tickets/"+down.TicketID, "", &failed)
	if h := failed.Ticket.Handoff; h.Reason != "tool_failed" || !strings.HasPrefix(h.ToolFailure, "order 2222222: ") {
		t.Errorf("handoff %+v", h)
	}

	// Both tickets reach the shop's endpoint, signed.
	eventually(t, "two ticket.created webhooks", func() bool { return len(hooks.ofType(webhooks.TicketCreated)) >= 2 })
	if hooks.bad != 0 {
		t.Errorf("%d webhook deliveries failed their signature", hooks.bad)
	}
	var log struct {
		Deliveries []webhooks.Delivery `json:"deliveries"`
	}
	eventually(t, "the delivery log", func() bool {
		request(t, tokens["ada"], "GET", base+"/v1/webhooks/deliveries?status=delivered", "", &log)
		return len(log.Deliveries) >= 2
	})
}
