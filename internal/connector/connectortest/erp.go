package connectortest

import (
	"net/http"
	"strings"
	"testing"
)

// Order is an order of the fake ERP.
type Order struct {
	ID       string
	Status   string // "shipped", "processing", …
	Carrier  string
	Tracking string
	ETA      string // a date, "2025-03-14"
	Items    int
	Total    float64
	Currency string
	// CustomerEmail and CustomerChannelID are whose order it is (rendered under
	// "customer" when set), for a lookup to check the asker against.
	CustomerEmail, CustomerChannelID string
}

// NewERP starts a fake ERP holding orders; it is closed when the test ends.
func NewERP(t testing.TB, orders ...Order) *Server {
	t.Helper()
	var s *Server
	s = newServer(t, func(w http.ResponseWriter, r *http.Request) { s.erp(w, r) })
	for _, o := range orders {
		s.orders[o.ID] = o
	}
	return s
}

// AddOrder adds (or replaces) an order of the fake ERP.
func (s *Server) AddOrder(o Order) {
	s.mu.Lock()
	s.orders[o.ID] = o
	s.mu.Unlock()
}

// erp: GET /orders/{id} → {"order": {"id", "status", "items", "total": {"amount",
// "currency"}, "shipment": {"carrier", "tracking", "eta"}, "customer": {"email",
// "channel_id"}}} or 404.
func (s *Server) erp(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/orders/")
	if r.Method != http.MethodGet || !ok || id == "" || strings.Contains(id, "/") {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "no such endpoint"})
		return
	}
	s.mu.Lock()
	o, found := s.orders[id]
	s.mu.Unlock()
	if !found {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "order_not_found"})
		return
	}
	shipment := map[string]any{"carrier": nil, "tracking": nil, "eta": nil}
	if o.Carrier != "" {
		shipment = map[string]any{"carrier": o.Carrier, "tracking": o.Tracking, "eta": o.ETA}
	}
	order := map[string]any{"id": o.ID, "status": o.Status,
		"items": o.Items, "total": map[string]any{"amount": o.Total, "currency": o.Currency}, "shipment": shipment}
	if o.CustomerEmail != "" || o.CustomerChannelID != "" {
		order["customer"] = map[string]any{"email": o.CustomerEmail, "channel_id": o.CustomerChannelID}
	}
	writeJSON(w, http.StatusOK, map[string]any{"order": order})
}
