package connector_test

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/internal/connector"
	"github.com/switchboard-cs/switchboard/internal/connector/connectortest"
)

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// docExamples returns the connectors of every ```yaml block of docs/connectors.md.
func docExamples(t *testing.T) []map[string]connector.Config {
	t.Helper()
	md, err := os.ReadFile("../../docs/connectors.md")
	if err != nil {
		t.Fatalf("reading the connector docs: %v", err)
	}
	var out []map[string]connector.Config
	for i, m := range yamlBlock.FindAllSubmatch(md, -1) {
		cfgs, err := connector.ParseYAML(m[1])
		if err != nil {
			t.Fatalf("yaml block %d: %v", i+1, err)
		}
		if len(cfgs) == 0 {
			t.Fatalf("yaml block %d has no connectors", i+1)
		}
		out = append(out, cfgs)
	}
	if len(out) < 3 {
		t.Fatalf("%d yaml blocks in docs/connectors.md, want the HubSpot, Salesforce and ERP examples", len(out))
	}
	return out
}

// TestDocExamplesLoad: every YAML example of docs/connectors.md passes New as written.
func TestDocExamplesLoad(t *testing.T) {
	for i, cfgs := range docExamples(t) {
		for name, cfg := range cfgs {
			if _, err := connector.New(cfg, connector.Options{Getenv: func(string) string { return "x" }}); err != nil {
				t.Errorf("yaml block %d, connector %s: %v", i+1, name, err)
			}
		}
	}
}

// TestDocExamplesRun runs the documented HubSpot, Salesforce and ERP mappings against
// the fakes, which speak those APIs' shapes.
func TestDocExamplesRun(t *testing.T) {
	const secret = "doc-secret"
	env := func(string) string { return secret }
	ran := map[string]bool{}
	for _, cfgs := range docExamples(t) {
		for _, cfg := range cfgs {
			switch {
			case strings.Contains(cfg.BaseURL, "hubapi.com"):
				ran["hubspot"] = true
				crm := connectortest.NewCRM(t, ada)
				crm.RequireBearer(secret)
				cfg.BaseURL = crm.URL
				c := mustNew(t, cfg, connector.Options{Getenv: env})
				want := map[string]any{"crm_id": "c-1", "name": "Ada Lovelace", "tier": "gold", "lifecycle": "customer",
					"tags": []string{"vip", "beta"}, "owner": "u-7"}
				checkLookups(t, "hubspot", c, want)
			case strings.Contains(cfg.BaseURL, "salesforce.com"):
				ran["salesforce"] = true
				crm := connectortest.NewCRM(t, ada, connectortest.Contact{ID: "c-9", Email: "o'brien@example.com", FirstName: "Pat"})
				crm.EnableOAuth2(connectortest.OAuth2{ClientID: cfg.Auth.ClientID, ClientSecret: secret})
				cfg.BaseURL, cfg.Auth.TokenURL = crm.URL, crm.TokenURL()
				c := mustNew(t, cfg, connector.Options{Getenv: env})
				want := map[string]any{"crm_id": "c-1", "name": "Ada Lovelace", "tier": "gold", "account": "Analytical Engines Ltd",
					"tags": []string{"vip", "beta"}, "owner": "Grace Hopper", "owner_id": "u-7"}
				checkLookups(t, "salesforce", c, want)
				got, err := call(t, c, "lookup_customer", map[string]string{"email": "o'brien@example.com"})
				if err != nil || got.String("crm_id") != "c-9" {
					t.Errorf("salesforce: a quote in the email: %v, %v", got, err)
				}
				if crm.TokensIssued() != 1 {
					t.Errorf("salesforce: %d tokens, want 1", crm.TokensIssued())
				}
			case cfg.Name == "erp":
				ran["erp"] = true
				erp := connectortest.NewERP(t, connectortest.Order{ID: "1234567", Status: "shipped", Carrier: "DHL",
					Tracking: "JD0001", ETA: "2025-03-14", Items: 2, CustomerEmail: ada.Email})
				erp.RequireHMAC([]byte(secret), 0)
				cfg.BaseURL = erp.URL
				c := mustNew(t, cfg, connector.Options{Getenv: env})
				got, err := call(t, c, "get_order", map[string]string{"order_id": "1234567", "customer_email": ada.Email})
				if err != nil {
					t.Fatalf("erp: %v", err)
				}
				want := connector.Result{Found: true,
					Fields: map[string]any{"order_id": "1234567", "status": "shipped", "carrier": "DHL", "tracking": "JD0001",
						"eta": "2025-03-14", "items": int64(2), "customer_email": ada.Email},
					Answer: "Order 1234567 is shipped. It is on its way with DHL and should arrive on 2025-03-14."}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("erp (-want +got):\n%s", diff)
				}
				if _, err := call(t, c, "get_order", map[string]string{"order_id": "999"}); !errors.Is(err, connector.ErrNotFound) {
					t.Errorf("erp: unknown order: %v, want ErrNotFound", err)
				}
			}
		}
	}
	if diff := cmp.Diff(map[string]bool{"hubspot": true, "salesforce": true, "erp": true}, ran); diff != "" {
		t.Errorf("examples run (-want +got):\n%s", diff)
	}
}

// checkLookups looks ada up by email, by phone, and a stranger.
func checkLookups(t *testing.T, name string, c *connector.Connector, want map[string]any) {
	t.Helper()
	for _, in := range []map[string]string{{"email": ada.Email}, {"phone": ada.Phone}, {"email": ada.Email, "phone": ada.Phone}} {
		got, err := call(t, c, "lookup_customer", in)
		if err != nil {
			t.Fatalf("%s: lookup by %v: %v", name, keys(in), err)
		}
		if diff := cmp.Diff(connector.Result{Found: true, Fields: want}, got); diff != "" {
			t.Errorf("%s: lookup by %v (-want +got):\n%s", name, keys(in), diff)
		}
	}
	if _, err := call(t, c, "lookup_customer", map[string]string{"email": "nobody@example.com"}); !errors.Is(err, connector.ErrNotFound) {
		t.Errorf("%s: a stranger: %v, want ErrNotFound", name, err)
	}
	if _, err := call(t, c, "lookup_customer", map[string]string{"channel_id": "tg:1"}); !errors.Is(err, connector.ErrMissingInput) {
		t.Errorf("%s: no email or phone: %v, want ErrMissingInput", name, err)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
