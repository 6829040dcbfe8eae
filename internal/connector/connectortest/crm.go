package connectortest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Contact is a customer of the fake CRM.
type Contact struct {
	ID        string
	ChannelID string // e.g. the customer's id on a messaging channel
	Email     string
	Phone     string
	FirstName string
	LastName  string
	Tier      string // "gold", "silver", …
	TierLevel int    // a number, to test numeric mappings
	Lifecycle string // HubSpot lifecyclestage
	Tags      []string
	OwnerID   string
	OwnerName string
	Account   string // company name
}

// NewCRM starts a fake CRM holding contacts; it is closed when the test ends.
func NewCRM(t testing.TB, contacts ...Contact) *Server {
	t.Helper()
	var s *Server
	s = newServer(t, func(w http.ResponseWriter, r *http.Request) { s.crm(w, r) })
	s.contacts = slices.Clone(contacts)
	return s
}

// AddContact adds a contact to the fake CRM.
func (s *Server) AddContact(c Contact) {
	s.mu.Lock()
	s.contacts = append(s.contacts, c)
	s.mu.Unlock()
}

var salesforceQuery = regexp.MustCompile(`^/services/data/v[0-9]+\.[0-9]+/query/?$`)

func (s *Server) crm(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/contacts":
		s.generic(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/crm/v3/objects/contacts/search":
		s.hubspot(w, r)
	case r.Method == http.MethodGet && salesforceQuery.MatchString(r.URL.Path):
		s.salesforce(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "no such endpoint"})
	}
}

// find returns the contacts for which match is true.
func (s *Server) find(match func(Contact) bool) []Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Contact
	for _, c := range s.contacts {
		if match(c) {
			out = append(out, c)
		}
	}
	return out
}

// generic: GET /contacts?email=…&phone=…&channel_id=… (all given must match).
func (s *Server) generic(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("email") == "" && q.Get("phone") == "" && q.Get("channel_id") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "email, phone or channel_id required"})
		return
	}
	found := s.find(func(c Contact) bool {
		return (q.Get("email") == "" || strings.EqualFold(q.Get("email"), c.Email)) &&
			(q.Get("phone") == "" || q.Get("phone") == c.Phone) &&
			(q.Get("channel_id") == "" || q.Get("channel_id") == c.ChannelID)
	})
	if len(found) == 0 {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "not_found"})
		return
	}
	c := found[0]
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"contact": map[string]any{
		"id":    c.ID,
		"name":  map[string]any{"first": c.FirstName, "last": c.LastName},
		"tier":  map[string]any{"name": c.Tier, "level": c.TierLevel},
		"tags":  tags,
		"owner": map[string]any{"id": c.OwnerID, "name": c.OwnerName},
	}})
}

// hubspotProperties are a contact's properties as HubSpot names them (values are
// strings, multi-select values joined with ";"); customer_tier and support_tags
// stand for a portal's custom properties.
func hubspotProperties(c Contact) map[string]any {
	p := map[string]any{"hs_object_id": c.ID, "email": c.Email, "phone": c.Phone, "firstname": c.FirstName,
		"lastname": c.LastName, "lifecyclestage": c.Lifecycle, "hubspot_owner_id": c.OwnerID,
		"customer_tier": c.Tier, "support_tags": strings.Join(c.Tags, ";"), "company": c.Account}
	for k, v := range p {
		if v == "" {
			p[k] = nil
		}
	}
	return p
}

var hubspotDefault = []string{"createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"}

// hubspot: POST /crm/v3/objects/contacts/search. filterGroups are OR'd, their filters
// AND'ed; only the EQ operator is supported.
func (s *Server) hubspot(w http.ResponseWriter, r *http.Request) {
	var req struct {
		FilterGroups []struct {
			Filters []struct{ PropertyName, Operator, Value string }
		}
		Properties []string
		Limit      int
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "category": "VALIDATION_ERROR",
			"message": "invalid JSON"})
		return
	}
	found := s.find(func(c Contact) bool {
		props := hubspotProperties(c)
		for _, g := range req.FilterGroups {
			ok := true
			for _, f := range g.Filters {
				v, _ := props[f.PropertyName].(string)
				ok = ok && f.Operator == "EQ" && f.Value != "" && strings.EqualFold(v, f.Value)
			}
			if ok && len(g.Filters) > 0 {
				return true
			}
		}
		return len(req.FilterGroups) == 0
	})
	if req.Limit > 0 && len(found) > req.Limit {
		found = found[:req.Limit]
	}
	results := []any{}
	for _, c := range found {
		all := hubspotProperties(c)
		props := map[string]any{}
		for _, k := range append(slices.Clone(hubspotDefault), req.Properties...) {
			props[k] = all[k]
		}
		props["createdate"], props["lastmodifieddate"] = "2024-01-02T03:04:05.000Z", "2024-06-07T08:09:10.000Z"
		results = append(results, map[string]any{"id": c.ID, "properties": props, "archived": false,
			"createdAt": "2024-01-02T03:04:05.000Z", "updatedAt": "2024-06-07T08:09:10.000Z"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": len(found), "results": results})
}

var soqlWhere = regexp.MustCompile(`(?i)\bFROM\s+Contact\s+WHERE\s+(Email|Phone|Id)\s*=\s*'((?:[^'\\]|\\.)*)'`)

// salesforce: GET /services/data/vNN.N/query?q=SELECT … FROM Contact WHERE
// Email|Phone|Id = '…' …; the SELECT list is ignored: every field below is returned.
func (s *Server) salesforce(w http.ResponseWriter, r *http.Request) {
	m := soqlWhere.FindStringSubmatch(r.URL.Query().Get("q"))
	if m == nil {
		writeJSON(w, http.StatusBadRequest, []any{map[string]any{"errorCode": "MALFORMED_QUERY",
			"message": "the fake understands WHERE Email|Phone|Id = '…' on Contact only"}})
		return
	}
	value := strings.NewReplacer(`\'`, `'`, `\\`, `\`, `\"`, `"`).Replace(m[2])
	found := s.find(func(c Contact) bool {
		switch strings.ToLower(m[1]) {
		case "email":
			return strings.EqualFold(c.Email, value)
		case "phone":
			return c.Phone == value
		}
		return c.ID == value
	})
	version := strings.Split(r.URL.Path, "/")[3]
	records := []any{}
	for _, c := range found {
		var tags any
		if len(c.Tags) > 0 {
			tags = strings.Join(c.Tags, ";")
		}
		records = append(records, map[string]any{
			"attributes": map[string]any{"type": "Contact", "url": "/services/data/" + version + "/sobjects/Contact/" + c.ID},
			"Id":         c.ID, "Name": strings.TrimSpace(c.FirstName + " " + c.LastName), "Email": c.Email, "Phone": c.Phone,
			"OwnerId": c.OwnerID,
			"Owner":   map[string]any{"attributes": map[string]any{"type": "User"}, "Name": c.OwnerName},
			"Account": map[string]any{"attributes": map[string]any{"type": "Account"}, "Name": c.Account, "Tier__c": c.Tier},
			"Tags__c": tags,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"totalSize": len(records), "done": true, "records": records})
}
