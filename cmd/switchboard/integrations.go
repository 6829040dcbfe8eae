package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/connector"
	"github.com/switchboard-cs/switchboard/tickets"
	"github.com/switchboard-cs/switchboard/tickets/webhooks"
)

// The operations serve calls on the configured connectors.
const (
	opLookupCustomer = "lookup_customer"
	opGetOrder       = "get_order"
)

// integrations are the company's own systems serve talks to: the CRM that knows its
// customers, the ERP that knows their orders, and the endpoints that hear of tickets.
type integrations struct {
	customers tickets.CustomerDirectory // nil: no customer lookup
	orders    *flow.OrderTool           // nil: no order answers
	hooks     *webhooks.Dispatcher      // nil: no webhooks
}

// openIntegrations reads connectors.file and webhooks.file and builds what they
// configure; a bad file, an unknown connector name or an operation the role needs
// missing stops serve with the reason.
func openIntegrations(cfg config.Config, pool *pgxpool.Pool, customers customerFinder, reg prometheus.Registerer, log *slog.Logger) (integrations, error) {
	var out integrations
	conns, err := openConnectors(cfg.Connectors, reg, log)
	if err != nil {
		return out, err
	}
	pick := func(key, name, op string) (*connector.Connector, error) {
		if name == "" {
			return nil, nil
		}
		c, ok := conns[name]
		if !ok {
			return nil, fmt.Errorf("connectors.%s: no connector %q in connectors.file", key, name)
		}
		if !slices.Contains(c.Operations(), op) {
			return nil, fmt.Errorf("connectors.%s: connector %q has no %s operation", key, name, op)
		}
		return c, nil
	}
	crm, err := pick("customer_lookup", cfg.Connectors.CustomerLookup, opLookupCustomer)
	if err != nil {
		return out, err
	}
	if crm != nil {
		out.customers = crmDirectory{c: crm, log: log}
	}
	erp, err := pick("orders", cfg.Connectors.Orders, opGetOrder)
	if err != nil {
		return out, err
	}
	if erp != nil {
		c := cfg.Connectors
		out.orders = &flow.OrderTool{Lookup: erpOrders{c: erp, customers: customers},
			Answers:  map[string]string{"en": c.OrderAnswerEN, "zh": c.OrderAnswerZH},
			NotFound: map[string]string{"en": c.OrderNotFoundEN, "zh": c.OrderNotFoundZH}}
		if err := out.orders.Compile(); err != nil {
			return out, fmt.Errorf("connectors: %w", err)
		}
	}
	hooks, err := readWebhooks(cfg.Webhooks.File)
	if err != nil || len(hooks.Endpoints) == 0 {
		return out, err
	}
	out.hooks, err = webhooks.New(pool, hooks, webhooks.Options{Logger: log, Registerer: reg})
	if err != nil {
		return out, fmt.Errorf("webhooks.file %s: %w", cfg.Webhooks.File, err)
	}
	return out, nil
}

// openConnectors builds every connector of connectors.file.
func openConnectors(cc config.ConnectorsConfig, reg prometheus.Registerer, log *slog.Logger) (map[string]*connector.Connector, error) {
	if cc.File == "" {
		if cc.CustomerLookup != "" || cc.Orders != "" {
			return nil, errors.New("connectors: customer_lookup or orders names a connector, but connectors.file is empty")
		}
		return nil, nil
	}
	raw, err := os.ReadFile(cc.File)
	if err != nil {
		return nil, fmt.Errorf("connectors.file: %w", err)
	}
	cfgs, err := connector.ParseYAML(raw)
	if err != nil {
		return nil, fmt.Errorf("connectors.file %s: %w", cc.File, err)
	}
	out := map[string]*connector.Connector{}
	for name, c := range cfgs {
		if out[name], err = connector.New(c, connector.Options{Logger: log, Registerer: reg}); err != nil {
			return nil, fmt.Errorf("connectors.file %s: connector %s: %w", cc.File, name, err)
		}
	}
	return out, nil
}

// readWebhooks reads webhooks.file: the endpoints and the delivery settings, over the
// defaults; unknown keys are errors.
func readWebhooks(path string) (webhooks.Config, error) {
	out := webhooks.Default()
	if path == "" {
		return out, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return out, fmt.Errorf("webhooks.file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&out); err != nil && !errors.Is(err, io.EOF) {
		return out, fmt.Errorf("webhooks.file %s: %w", path, err)
	}
	if err := out.Validate(); err != nil {
		return out, fmt.Errorf("webhooks.file %s: %w", path, err)
	}
	return out, nil
}

// crmDirectory asks the CRM connector's lookup_customer with the customer's identity
// (the connector sends only the fields its allow list names) and reads the mapped
// fields name, tier, tags, account, owner and crm_id.
type crmDirectory struct {
	c   *connector.Connector
	log *slog.Logger
}

func (d crmDirectory) LookupCustomer(ctx context.Context, id tickets.Identity) (tickets.CRMRecord, bool, error) {
	in := map[string]string{"channel": id.Channel, "channel_id": id.ChannelID, "email": id.Email, "phone": id.Phone}
	for k, v := range in {
		if v == "" {
			delete(in, k)
		}
	}
	res, err := d.c.Call(ctx, opLookupCustomer, in)
	switch {
	case errors.Is(err, connector.ErrNotFound):
		return tickets.CRMRecord{}, false, nil
	case errors.Is(err, connector.ErrMissingInput), errors.Is(err, connector.ErrNotAllowed), errors.Is(err, connector.ErrRejected):
		// nothing the CRM may be asked with, or a question it refuses: asking again
		// later would not change that
		d.log.Debug("crm lookup skipped", "connector", d.c.Name(), "err", err)
		return tickets.CRMRecord{}, false, nil
	case err != nil:
		return tickets.CRMRecord{}, false, err
	}
	rec := tickets.CRMRecord{ID: res.String("crm_id"), Name: res.String("name"), Tags: res.Strings("tags"),
		Account: res.String("account"), Owner: res.String("owner"), Tier: tierOf(res.String("tier"))}
	return rec, true, nil
}

// tierOf reads a CRM's tier as Switchboard's VIP tier 0–3: a number as it is (clamped),
// or a name: platinum/vip 3, gold 2, silver 1, standard/basic 0; nil when the CRM gave
// none or one of no known meaning (the customer's tier is then left as it is).
func tierOf(s string) *int {
	s = strings.ToLower(strings.TrimSpace(s))
	tier := -1
	if n, err := strconv.Atoi(s); err == nil {
		tier = max(0, min(3, n))
	}
	switch s {
	case "platinum", "vip", "diamond", "钻石", "白金":
		tier = 3
	case "gold", "黄金", "金卡":
		tier = 2
	case "silver", "白银", "银卡":
		tier = 1
	case "standard", "basic", "regular", "普通":
		tier = 0
	}
	if tier < 0 {
		return nil
	}
	return &tier
}

// customerFinder reads the asking customer's identities (*tickets.Store).
type customerFinder interface {
	CustomerByRef(ctx context.Context, ref string) (tickets.Customer, error)
}

// erpOrders asks the ERP connector's get_order with the order number and the asking
// customer's identities (customer_channel_id, customer_email, customer_phone: sent only
// as far as the connector's allow list names them). When the operation maps one of those
// identities from the order, an order naming another customer is not found, and one
// naming this customer is verified as theirs.
type erpOrders struct {
	c         *connector.Connector
	customers customerFinder
}

func (e erpOrders) Order(ctx context.Context, id, customerRef string) (flow.Order, error) {
	who := map[string]string{"customer_channel_id": customerRef}
	if cust, err := e.customers.CustomerByRef(ctx, customerRef); err == nil {
		who["customer_email"], who["customer_phone"] = cust.Email, cust.Phone
	} else if !errors.Is(err, tickets.ErrNotFound) {
		return flow.Order{}, err
	}
	in := map[string]string{"order_id": id}
	for k, v := range who {
		if v != "" {
			in[k] = v
		}
	}
	res, err := e.c.Call(ctx, opGetOrder, in)
	if errors.Is(err, connector.ErrNotFound) {
		return flow.Order{}, flow.ErrOrderNotFound
	}
	if err != nil {
		return flow.Order{}, err
	}
	fields := map[string]string{}
	for k := range res.Fields {
		fields[k] = res.String(k)
	}
	o := flow.Order{ID: id, Fields: fields}
	named := false // the order names whose it is
	for k, mine := range who {
		theirs := strings.TrimSpace(fields[k])
		if theirs == "" {
			continue
		}
		named = true
		if mine != "" && strings.EqualFold(theirs, mine) {
			o.Verified = true
		}
	}
	if named && !o.Verified {
		return flow.Order{}, flow.ErrOrderNotFound // someone else's: not told it exists
	}
	return o, nil
}
