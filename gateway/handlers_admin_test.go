package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/tickets"
)

// TestEveryAdminChangeIsAudited: each route that changes routing, groups, SLAs, agents
// or an agent's status leaves an audit event naming who did it.
func TestEveryAdminChangeIsAudited(t *testing.T) {
	in := newInstance(t, newPool(t), "adm"+strings.ToLower(t.Name()))
	base := in.http.URL
	sup, agent := in.token(t, "sam", RoleSupervisor), in.token(t, "alice", RoleAgent)
	steps := []struct {
		token, method, path string
		body                any
		action, actor       string
	}{
		{sup, "PUT", "/v1/routing/weights", map[string]float64{"vip": 1, "skill": 1, "load": 1, "wait": 1}, "routing.weights", "sam"},
		{sup, "PUT", "/v1/skill-groups/support", map[string]any{}, "skill_group.put", "sam"},
		{sup, "PUT", "/v1/sla-policies/low", map[string]any{"first_response_minutes": 30, "resolution_minutes": 300}, "sla_policy.put", "sam"},
		{sup, "PUT", "/v1/agents/alice", map[string]any{"groups": []string{"support"}, "capacity": 2}, "agent.put", "sam"},
		{sup, "PUT", "/v1/agents/alice/status", map[string]any{"status": "away", "capacity": 3}, "agent.status", "sam"},
		{agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, "agent.status", "alice"},
	}
	var want []string
	for _, st := range steps {
		mustCall(t, 200, base, st.token, st.method, st.path, st.body, nil)
		want = append(want, st.actor+" "+st.action)
	}
	var log struct {
		Events []tickets.AuditEvent `json:"events"`
	}
	mustCall(t, 200, base, in.token(t, "audrey", RoleAuditor), "GET", "/v1/audit", nil, &log)
	var got []string
	for _, e := range log.Events {
		got = append(got, e.Actor+" "+e.Action)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit events (-want +got):\n%s", diff)
	}
	var anchor struct {
		OK       bool                `json:"ok"`
		Anchored bool                `json:"anchored"`
		Anchor   tickets.AuditAnchor `json:"anchor"`
	}
	mustCall(t, 200, base, in.token(t, "audrey", RoleAuditor), "POST", "/v1/audit/anchor", nil, &anchor)
	if !anchor.Anchored || anchor.Anchor.Count != int64(len(steps)) {
		t.Fatalf("anchor %+v", anchor)
	}
	var verify struct {
		OK       bool `json:"ok"`
		Anchored bool `json:"anchored"`
		Checked  int  `json:"checked"`
	}
	mustCall(t, 200, base, in.token(t, "audrey", RoleAuditor), "GET", "/v1/audit/verify", nil, &verify)
	if !verify.OK || !verify.Anchored || verify.Checked != len(steps) {
		t.Fatalf("verify %+v", verify)
	}
}

// TestEraseCustomerRoute: a supervisor erases a REST customer after a conversation with
// PII, a display name, an escalation, an agent's reply and note; afterwards no table and no
// Redis key under the instance's prefix (nor a rate-limit key) holds the customer's id,
// name or PII, and the erasure is audited.
func TestEraseCustomerRoute(t *testing.T) {
	prefix := "erase" + strings.ToLower(t.Name())
	in := newInstanceWith(t, newPool(t), prefix, nil, func(o *Options) { o.Limits.PerCustomerPerMinute = 100 })
	base, ctx := in.http.URL, context.Background()
	sup, agent := in.token(t, "sam", RoleSupervisor), in.token(t, "alice", RoleAgent)
	mustCall(t, 200, base, sup, "PUT", "/v1/skill-groups/support", map[string]any{}, nil)
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/alice", map[string]any{"groups": []string{"support"}, "capacity": 5}, nil)
	mustCall(t, 200, base, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)
	const pid, name = "web:erase-me", "Sun Erasename"
	cust := in.token(t, pid, RoleCustomer)
	var rest MessageReply
	mustCall(t, 200, base, cust, "POST", "/v1/messages", map[string]any{"text": piiText + " human please", "display_name": name}, &rest)
	if !rest.Escalated {
		t.Fatalf("no escalation: %+v", rest)
	}
	mustCall(t, 201, base, agent, "POST", "/v1/tickets/"+rest.TicketID+"/replies", map[string]string{"text": "Noted"}, nil)
	mustCall(t, 201, base, agent, "POST", "/v1/tickets/"+rest.TicketID+"/notes", map[string]string{"text": "customer " + name + " called twice"}, nil)
	var detail tickets.TicketDetail
	mustCall(t, 200, base, agent, "GET", "/v1/tickets/"+rest.TicketID, nil, &detail)
	customerID := detail.Ticket.CustomerID
	rdb, _ := testenv.Redis(t)
	scan := func() string {
		var b strings.Builder
		pool := in.store.Pool()
		tables, _ := pgx.CollectRows(must(pool.Query(ctx, `SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'`)), pgx.RowTo[string])
		for _, tbl := range tables {
			rows, _ := pgx.CollectRows(must(pool.Query(ctx, `SELECT t::text FROM `+tbl+` t`)), pgx.RowTo[string])
			b.WriteString(strings.Join(rows, "\n"))
		}
		for _, pattern := range []string{"*" + prefix + "*", "rate:*"} {
			keys, _ := rdb.Keys(ctx, pattern).Result()
			for _, k := range keys {
				b.WriteString("\n" + k + "\n" + rdb.Dump(ctx, k).Val())
			}
		}
		return b.String()
	}
	traces := append([]string{pid, customerID, name}, seededPII...)
	if before := scan(); !strings.Contains(before, pid) || !strings.Contains(before, customerID) {
		t.Fatal("the scan does not see the customer before the erasure")
	}
	mustCall(t, 403, base, agent, "POST", "/v1/customers/"+customerID+"/erase", nil, nil)
	var rep tickets.EraseReport
	mustCall(t, 200, base, sup, "POST", "/v1/customers/"+customerID+"/erase", nil, &rep)
	if rep.Rows["customers"] != 1 || rep.Rows["tickets"] != 1 || rep.Rows["messages"] == 0 || rep.Rows["ticket_notes"] != 1 {
		t.Errorf("report %+v", rep)
	}
	after := scan()
	for _, trace := range traces {
		if i := strings.Index(after, trace); i >= 0 {
			t.Errorf("%q is still stored: …%s…", trace, after[max(0, i-80):min(len(after), i+40)])
		}
	}
	mustCall(t, 404, base, sup, "POST", "/v1/customers/"+pid+"/erase", nil, nil)
	var log struct {
		Events []tickets.AuditEvent `json:"events"`
	}
	mustCall(t, 200, base, in.token(t, "audrey", RoleAuditor), "GET", "/v1/audit?after=0", nil, &log)
	if last := log.Events[len(log.Events)-1]; last.Action != "customer.erase" || last.Actor != "sam" {
		t.Errorf("last audit event %+v", last)
	}
}
