package connector_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/internal/connector"
	"github.com/switchboard-cs/switchboard/internal/connector/connectortest"
)

func TestHMACSignature(t *testing.T) {
	secret := []byte("hmac-secret-4f9a")
	erp := connectortest.NewERP(t, connectortest.Order{ID: "A-1", Status: "processing"})
	erp.RequireHMAC(secret, time.Minute)
	cfg := connector.Config{
		Name: "erp", BaseURL: erp.URL, Allow: []string{"order_id"}, CacheTTL: -1,
		Auth: connector.AuthConfig{Type: "hmac", SecretEnv: "ERP_HMAC"},
		Operations: map[string]connector.Operation{"get_order": {
			Path: "/orders/{{.order_id}}?expand=shipment&note=a%20b",
			Map:  map[string]string{"status": "$.order.status"},
		}},
	}
	env := map[string]string{"ERP_HMAC": string(secret)}
	fixed := time.Now().Truncate(time.Second)
	c := mustNew(t, cfg, connector.Options{Now: func() time.Time { return fixed },
		Getenv: func(k string) string { return env[k] }})
	erp.Reset()
	got, err := call(t, c, "get_order", map[string]string{"order_id": "A-1"})
	if err != nil {
		t.Fatalf("Call with a valid signature: %v", err)
	}
	if got.String("status") != "processing" {
		t.Errorf("status %q", got.String("status"))
	}
	r := erp.Requests()[0]
	if ts := r.Header.Get("X-Switchboard-Timestamp"); ts != itoa(fixed.Unix()) {
		t.Errorf("timestamp header %q, want %d", ts, fixed.Unix())
	}
	if err := connectortest.VerifyHMAC(r, secret, fixed, time.Second); err != nil {
		t.Errorf("the documented scheme does not verify: %v", err)
	}
	if want := "v1=" + connector.Sign(secret, itoa(fixed.Unix()), "GET", r.RequestURI, nil); r.Header.Get("X-Switchboard-Signature") != want {
		t.Errorf("signature %q, want %q", r.Header.Get("X-Switchboard-Signature"), want)
	}

	env["ERP_HMAC"] = "the-wrong-secret"
	c = mustNew(t, cfg, connector.Options{Getenv: func(k string) string { return env[k] }})
	if _, err := call(t, c, "get_order", map[string]string{"order_id": "A-1"}); !errors.Is(err, connector.ErrAuth) {
		t.Errorf("wrong secret: %v, want ErrAuth", err)
	}
}

func TestHMACSignsTheBody(t *testing.T) {
	secret := []byte("s3cr3t")
	crm := connectortest.NewCRM(t, ada)
	crm.RequireHMAC(secret, time.Minute)
	cfg := connector.Config{
		Name: "crm", BaseURL: crm.URL, Allow: []string{"email"},
		Auth: connector.AuthConfig{Type: "hmac", Secret: connector.Secret(secret)},
		Operations: map[string]connector.Operation{"lookup_customer": {
			Path: "/crm/v3/objects/contacts/search",
			Body: `{"filterGroups":[{"filters":[{"propertyName":"email","operator":"EQ","value":"{{.email}}"}]}],"limit":1}`,
			Map:  map[string]string{"name": "$.results[0].properties.firstname"},
		}},
	}
	c := mustNew(t, cfg, connector.Options{})
	got, err := call(t, c, "lookup_customer", map[string]string{"email": ada.Email})
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if got.String("name") != "Ada" {
		t.Errorf("name %q", got.String("name"))
	}
	r := crm.Requests()[0]
	r.Body = append(r.Body, ' ')
	if connectortest.VerifyHMAC(r, secret, time.Now(), time.Minute) == nil {
		t.Error("a changed body still verifies: the body is not signed")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func sprint(v any) string   { return fmt.Sprintf("%+v", v) }
func sprintGo(v any) string { return fmt.Sprintf("%#v", v) }

func TestOAuth2ClientCredentials(t *testing.T) {
	const secret = "oauth-client-secret-77"
	crm := connectortest.NewCRM(t, ada)
	crm.EnableOAuth2(connectortest.OAuth2{ClientID: "switchboard", ClientSecret: secret})
	cfg := genericCRM(crm.URL)
	cfg.Auth = connector.AuthConfig{Type: "oauth2", TokenURL: crm.TokenURL(), ClientID: "switchboard",
		ClientSecret: secret, Scopes: []string{"api"}}
	c := mustNew(t, cfg, connector.Options{})
	for _, email := range []string{ada.Email, ada.Email, "nobody@example.com"} {
		if _, err := call(t, c, "lookup_customer", map[string]string{"email": email}); err != nil && !errors.Is(err, connector.ErrNotFound) {
			t.Fatalf("Call: %v", err)
		}
	}
	if n := crm.TokensIssued(); n != 1 {
		t.Errorf("%d tokens fetched, want 1 reused", n)
	}

	// A revoked (expired) token: the 401 drops it and the call is repeated once with
	// a fresh one.
	crm.RevokeTokens()
	crm.Reset()
	if _, err := call(t, c, "lookup_customer", map[string]string{"email": ada.Email}); err != nil {
		t.Fatalf("with a revoked token: %v, want a transparent new token", err)
	}
	if n, api := crm.TokensIssued(), crm.Count("/contacts"); n != 2 || api != 2 {
		t.Errorf("%d tokens fetched and %d API requests, want 2 and 2", n, api)
	}

	// An API that refuses every token: ErrAuth after that one repetition.
	crm.SetFailure(connectortest.Failure{Status: 401})
	crm.Reset()
	if _, err := call(t, c, "lookup_customer", map[string]string{"email": ada.Email}); !errors.Is(err, connector.ErrAuth) {
		t.Fatalf("with a refused token: %v, want ErrAuth", err)
	}
	if n := crm.Count("/contacts"); n != 2 {
		t.Errorf("%d API requests, want 2 (one repetition with a fresh token)", n)
	}
	crm.ClearFailure()

	// Wrong credentials: a clear error without the secret, no API request.
	cfg.Auth.ClientSecret = "not-the-secret"
	logs := &logBuffer{}
	c = mustNew(t, cfg, connector.Options{Logger: logs.logger()})
	crm.Reset()
	_, err := call(t, c, "lookup_customer", map[string]string{"email": ada.Email})
	if !errors.Is(err, connector.ErrAuth) {
		t.Fatalf("wrong secret: %v, want ErrAuth", err)
	}
	for _, want := range []string{"token endpoint", "401", "invalid_client"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := crm.Count("/contacts"); n != 0 {
		t.Errorf("%d API requests without a token", n)
	}
	if n := crm.Count("/oauth2/token"); n == 0 || n > 2 {
		t.Errorf("%d token requests, want 1 (or 2: header then form credentials)", n)
	}
	for _, text := range []string{err.Error(), logs.String()} {
		if strings.Contains(text, "not-the-secret") || strings.Contains(text, secret) {
			t.Errorf("a secret leaked: %s", text)
		}
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	const token = "pat-na1-11111111-2222"
	crm := connectortest.NewCRM(t, ada)
	crm.RequireBearer("another-token")
	cfg := genericCRM(crm.URL)
	cfg.Auth = connector.AuthConfig{Type: "bearer", Token: token}
	logs := &logBuffer{}
	reg := prometheus.NewPedanticRegistry()
	c := mustNew(t, cfg, connector.Options{Logger: logs.logger(), Registerer: reg})
	_, err := call(t, c, "lookup_customer", map[string]string{"email": ada.Email})
	if !errors.Is(err, connector.ErrAuth) {
		t.Fatalf("error %v, want ErrAuth", err)
	}
	crm.RequireBearer(token)
	crm.SetFailure(connectortest.Failure{Status: 500, Body: token})
	_, err2 := call(t, c, "lookup_customer", map[string]string{"phone": ada.Phone})
	families, _ := reg.Gather()
	texts := []string{err.Error(), err2.Error(), logs.String(), sprint(cfg), sprintGo(cfg), sprint(families)}
	for i, text := range texts {
		for _, secret := range []string{token, ada.Email, "30 1234567"} {
			if strings.Contains(text, secret) {
				t.Errorf("text %d holds %q: %s", i, secret, text)
			}
		}
	}
	if !strings.Contains(logs.String(), "outcome=auth") {
		t.Errorf("the log has no outcome=auth record: %s", logs.String())
	}
	if r := crm.Requests()[1]; r.Header.Get("Authorization") != "Bearer "+token {
		t.Errorf("the token is not sent: %q", r.Header.Get("Authorization"))
	}
}
