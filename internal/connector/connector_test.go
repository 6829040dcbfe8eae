package connector_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/internal/connector"
	"github.com/switchboard-cs/switchboard/internal/connector/connectortest"
)

func TestCallMapsTheAnswer(t *testing.T) {
	noTags := connectortest.Contact{ID: "c-2", Email: "bob@example.com", FirstName: "Bob", Tier: "silver", TierLevel: 1}
	crm := connectortest.NewCRM(t, ada, noTags)
	c := mustNew(t, genericCRM(crm.URL), connector.Options{})
	adaFields := map[string]any{
		"name": "Ada", "last_name": "Lovelace", "tier": "gold", "tier_level": int64(3), "tier_text": "3",
		"tags": []string{"vip", "beta"}, "first_tag": "vip", "owner": "u-7",
	}
	tests := []struct {
		name    string
		in      map[string]string
		want    connector.Result
		wantURI string
	}{
		{"by email", map[string]string{"email": "ada@example.com"},
			connector.Result{Found: true, Fields: adaFields}, "/contacts?email=ada%40example.com"},
		{"by phone, percent-encoded", map[string]string{"phone": "+49 30 1234567"},
			connector.Result{Found: true, Fields: adaFields}, "/contacts?phone=%2B49%2030%201234567"},
		{"empty array and empty owner", map[string]string{"email": "bob@example.com"},
			connector.Result{Found: true, Fields: map[string]any{"name": "Bob", "last_name": "", "tier": "silver",
				"tier_level": int64(1), "tier_text": "1", "tags": []string{}, "owner": ""}},
			"/contacts?email=bob%40example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crm.Reset()
			got, err := call(t, c, "lookup_customer", tt.in)
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			reqs := crm.Requests()
			if len(reqs) != 1 || reqs[0].RequestURI != tt.wantURI {
				t.Errorf("requests %v, want one to %s", reqs, tt.wantURI)
			}
		})
	}
}

func TestCallFailures(t *testing.T) {
	tests := []struct {
		name     string
		failure  connectortest.Failure
		in       map[string]string
		cfg      func(*connector.Config)
		want     error
		requests int
	}{
		{name: "404 is not found", in: map[string]string{"email": "nobody@example.com"}, want: connector.ErrNotFound, requests: 1},
		{name: "not JSON", failure: connectortest.Failure{Body: "<html>oops</html>"}, want: connector.ErrBadResponse, requests: 1},
		{name: "trailing garbage", failure: connectortest.Failure{Body: `{"contact":{}} x`}, want: connector.ErrBadResponse, requests: 1},
		{name: "wrong type", failure: connectortest.Failure{Body: `{"contact":{"tier":{"level":"three"}}}`},
			want: connector.ErrBadResponse, requests: 1},
		{name: "object where a string is wanted", failure: connectortest.Failure{Body: `{"contact":{"tier":{"level":{"n":3}}}}`},
			want: connector.ErrBadResponse, requests: 1},
		{name: "persistent 503", failure: connectortest.Failure{Status: 503}, want: connector.ErrUnavailable, requests: 3},
		{name: "persistent 500, retries off", failure: connectortest.Failure{Status: 500},
			cfg: func(c *connector.Config) { c.Retries = -1 }, want: connector.ErrUnavailable, requests: 1},
		{name: "400 is not retried", failure: connectortest.Failure{Status: 400, Body: `{"error":"bad"}`},
			want: connector.ErrRejected, requests: 1},
		{name: "401 is not retried", failure: connectortest.Failure{Status: 401}, want: connector.ErrAuth, requests: 1},
		{name: "410 as not found", failure: connectortest.Failure{Status: 410},
			cfg: func(c *connector.Config) {
				op := c.Operations["lookup_customer"]
				op.NotFound = []int{404, 410}
				c.Operations["lookup_customer"] = op
			}, want: connector.ErrNotFound, requests: 1},
		{name: "missing input is refused before any request", in: map[string]string{"channel_id": "tg:42"},
			want: connector.ErrMissingInput, requests: 0},
		{name: "unknown operation", want: connector.ErrUnknownOperation, requests: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crm := connectortest.NewCRM(t, ada)
			if tt.failure != (connectortest.Failure{}) {
				crm.SetFailure(tt.failure)
			}
			cfg := genericCRM(crm.URL)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			c := mustNew(t, cfg, connector.Options{})
			in := tt.in
			if in == nil {
				in = map[string]string{"email": ada.Email}
			}
			op := "lookup_customer"
			if errors.Is(tt.want, connector.ErrUnknownOperation) {
				op = "delete_everything"
			}
			got, err := call(t, c, op, in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Call error %v, want %v", err, tt.want)
			}
			if diff := cmp.Diff(connector.Result{}, got); diff != "" {
				t.Errorf("result on failure (-want +got):\n%s", diff)
			}
			if n := crm.Count(""); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
			if strings.Contains(err.Error(), ada.Email) || strings.Contains(err.Error(), "ada%40example.com") {
				t.Errorf("error %q holds the input", err)
			}
		})
	}
}

// TestOnlyAllowedFieldsAreSent: the ERP may receive the order id only; the caller
// hands it the customer's email and phone too, which must appear nowhere.
func TestOnlyAllowedFieldsAreSent(t *testing.T) {
	erp := connectortest.NewERP(t, connectortest.Order{ID: "1234567", Status: "shipped", Carrier: "DHL", ETA: "2025-03-14"})
	cfg := connector.Config{
		Name: "erp", BaseURL: erp.URL + "/", Allow: []string{"order_id"}, CacheTTL: -1,
		Operations: map[string]connector.Operation{"get_order": {
			Path:    "/orders/{{.order_id}}",
			Headers: map[string]string{"X-Order": "{{.order_id}}"},
			Map:     map[string]string{"status": "$.order.status", "carrier": "$.order.shipment.carrier"},
		}},
	}
	logs := &logBuffer{}
	c := mustNew(t, cfg, connector.Options{Logger: logs.logger()})
	in := map[string]string{"order_id": "1234567", "email": ada.Email, "phone": ada.Phone, "name": "Ada Lovelace"}
	got, err := call(t, c, "get_order", in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"status": "shipped", "carrier": "DHL"}, got.Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	erp.SetFailure(connectortest.Failure{Status: 500})
	_, err = call(t, c, "get_order", in)
	reqs := erp.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request recorded")
	}
	for _, r := range reqs {
		for _, pii := range []string{"ada@example.com", "ada%40example.com", "30 1234567", "30%201234567", "Lovelace"} {
			if strings.Contains(r.String(), pii) {
				t.Errorf("request %s carries %q", r.RequestURI, pii)
			}
		}
	}
	for _, text := range []string{err.Error(), logs.String()} {
		if strings.Contains(text, "ada@example.com") || strings.Contains(text, "1234567") {
			t.Errorf("error or log holds an input: %s", text)
		}
	}
}

// TestDynamicAccessSeesAllowedInputsOnly: a template that walks its data (range,
// index) passes the load-time check, and still sees the allowed inputs only.
func TestDynamicAccessSeesAllowedInputsOnly(t *testing.T) {
	erp := connectortest.NewERP(t, connectortest.Order{ID: "1", Status: "shipped"})
	cfg := connector.Config{
		Name: "erp", BaseURL: erp.URL, Allow: []string{"order_id"},
		Operations: map[string]connector.Operation{"get_order": {
			Path: "/orders/{{.order_id}}",
			Headers: map[string]string{
				"X-All":   "{{range $k, $v := .}}{{$k}}={{$v}};{{end}}",
				"X-Index": `{{index . "email"}}`,
			},
			Map: map[string]string{"status": "$.order.status"},
		}},
	}
	c := mustNew(t, cfg, connector.Options{})
	if _, err := call(t, c, "get_order", map[string]string{"order_id": "1", "email": ada.Email}); err != nil {
		t.Fatal(err)
	}
	r := erp.Requests()[0]
	if got := []string{r.Header.Get("X-All"), r.Header.Get("X-Index")}; !cmp.Equal(got, []string{"order_id=1;", ""}) {
		t.Errorf("headers %q, want the order id only", got)
	}
}

func TestTemplatesOutsideTheAllowListAreRefused(t *testing.T) {
	tests := []struct {
		name string
		op   connector.Operation
	}{
		{"path", connector.Operation{Path: "/orders/{{.order_id}}?email={{.email}}"}},
		{"query", connector.Operation{Path: "/orders", Query: map[string]string{"q": "{{.phone}}"}}},
		{"body", connector.Operation{Path: "/orders", Body: `{"email":"{{.email}}"}`}},
		{"header", connector.Operation{Path: "/orders", Headers: map[string]string{"X-Email": "{{.email}}"}}},
		{"inside if", connector.Operation{Path: "/orders/{{if .email}}x{{end}}"}},
		{"variable", connector.Operation{Path: "/orders/{{$.email}}"}},
		{"required", connector.Operation{Path: "/orders", Required: []string{"order_id|email"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := connector.Config{Name: "erp", BaseURL: "http://erp.invalid", Allow: []string{"order_id"},
				Operations: map[string]connector.Operation{"get_order": tt.op}}
			_, err := connector.New(cfg, connector.Options{})
			if !errors.Is(err, connector.ErrNotAllowed) {
				t.Errorf("New error %v, want ErrNotAllowed", err)
			}
		})
	}
}

func TestAnswerTemplate(t *testing.T) {
	erp := connectortest.NewERP(t,
		connectortest.Order{ID: "1234567", Status: "shipped", Carrier: "DHL", Tracking: "JD0001", ETA: "2025-03-14", Items: 2, Total: 59.9, Currency: "EUR"},
		connectortest.Order{ID: "7654321", Status: "processing", Items: 1})
	cfg := connector.Config{
		Name: "erp", BaseURL: erp.URL, Allow: []string{"order_id"},
		Operations: map[string]connector.Operation{"get_order": {
			Path: "/orders/{{.order_id}}",
			Map: map[string]string{"id": "$.order.id", "status": "$.order.status", "carrier": "$.order.shipment.carrier",
				"eta": "$.order.shipment.eta", "items": "$.order.items", "total": "$.order.total.amount"},
			Types:  map[string]string{"items": "int", "total": "float"},
			Answer: `Order {{.id}} is {{.status}}{{if .carrier}}, with {{.carrier}}, expected on {{.eta}}{{end}}.`,
		}},
	}
	c := mustNew(t, cfg, connector.Options{})
	tests := []struct {
		id   string
		want connector.Result
	}{
		{"1234567", connector.Result{Found: true, Answer: "Order 1234567 is shipped, with DHL, expected on 2025-03-14.",
			Fields: map[string]any{"id": "1234567", "status": "shipped", "carrier": "DHL", "eta": "2025-03-14",
				"items": int64(2), "total": 59.9}}},
		{"7654321", connector.Result{Found: true, Answer: "Order 7654321 is processing.",
			Fields: map[string]any{"id": "7654321", "status": "processing", "items": int64(1), "total": 0.0}}},
	}
	for _, tt := range tests {
		got, err := call(t, c, "get_order", map[string]string{"order_id": tt.id})
		if err != nil {
			t.Fatalf("%s: %v", tt.id, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.id, diff)
		}
	}
	if _, err := call(t, c, "get_order", map[string]string{"order_id": "999"}); !errors.Is(err, connector.ErrNotFound) {
		t.Errorf("unknown order: %v, want ErrNotFound", err)
	}
}

func TestConnectorsShareARegistry(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	crm := connectortest.NewCRM(t, ada)
	a := mustNew(t, genericCRM(crm.URL), connector.Options{Registerer: reg})
	cfg := genericCRM(crm.URL)
	cfg.Name = "crm2"
	b := mustNew(t, cfg, connector.Options{Registerer: reg})
	for _, c := range []*connector.Connector{a, b} {
		if _, err := call(t, c, "lookup_customer", map[string]string{"email": ada.Email}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"crm", "crm2"} {
		if got := metricValue(t, reg, "switchboard_connector_requests_total",
			map[string]string{"connector": name, "outcome": "ok"}); got != 1 {
			t.Errorf("%s ok count %v, want 1", name, got)
		}
		if got := metricValue(t, reg, "switchboard_connector_request_seconds",
			map[string]string{"connector": name}); got != 1 {
			t.Errorf("%s latency samples %v, want 1", name, got)
		}
	}
	if diff := cmp.Diff([]string{"lookup_customer"}, a.Operations()); diff != "" {
		t.Error(diff)
	}
}
