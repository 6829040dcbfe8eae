package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/tickets"
)

// call sends a JSON request and decodes the JSON answer into out (if not nil).
func call(t *testing.T, base, token, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return exchange(t, req, token, out)
}

// exchange sends req (with token, when not empty) and decodes the JSON answer into out
// (if not nil); it returns the status.
func exchange(t testing.TB, req *http.Request, token string, out any) int {
	t.Helper()
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", req.Method, req.URL.Path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

func mustCall(t *testing.T, want int, base, token, method, path string, body, out any) {
	t.Helper()
	var raw json.RawMessage
	got := call(t, base, token, method, path, body, &raw)
	if got != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}
}

// readPush reads WebSocket pushes until one of type typ arrives.
func readPush(t *testing.T, ctx context.Context, c *websocket.Conn, typ string) Push {
	t.Helper()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var p Push
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatal(err)
		}
		if p.Type == typ {
			return p
		}
	}
}

// TestEscalationQueueWalkthrough is the README walk-through: a supervisor
// sets up a group and an agent, the agent goes online (and listens on its
// WebSocket), a ticket is created and routed with its score breakdown, the
// agent claims, replies (stored redacted) and resolves it. The agent's
// socket sits on a second gateway instance, as with two replicas.
func TestEscalationQueueWalkthrough(t *testing.T) {
	pool := newPool(t)
	prefix := "walk" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", ""))
	gw1, gw2 := newInstance(t, pool, prefix), newInstance(t, pool, prefix)
	base := gw1.http.URL
	sup := gw1.token(t, "sam", RoleSupervisor)
	agent := gw1.token(t, "alice", RoleAgent)

	mustCall(t, 200, base, sup, "PUT", "/v1/skill-groups/billing", map[string]any{"name": "Billing", "skills": []string{"billing", "refunds"}}, nil)
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/alice", map[string]any{"name": "Alice", "groups": []string{"billing"}, "capacity": 2}, nil)
	var me tickets.Agent
	mustCall(t, 200, base, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, &me)
	if me.Status != tickets.AgentOnline || me.Capacity != 2 {
		t.Fatalf("alice after going online: %+v", me)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(gw2.http.URL, "http", "ws", 1)+"/v1/me/ws?access_token="+agent, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	readPush(t, ctx, ws, "hello")

	var created ticketResponse
	mustCall(t, 201, base, sup, "POST", "/v1/tickets", map[string]any{
		"customer": map[string]any{"pseudonymous_id": "tg:1001", "display_name": "Wang Wei", "vip_tier": 2, "phone": "+86 138 1234 5678"},
		"subject":  "Refund not received", "message": "我的手机号是13812345678，退款还没到账", "priority": "high", "skills": []string{"refunds"},
	}, &created)
	if created.Assignment == nil || created.Assignment.AgentID != "alice" || created.Ticket.Status != tickets.StatusAssigned {
		t.Fatalf("created ticket not routed to alice: %+v", created)
	}
	sc := created.Assignment.Score
	if sc.Weights != tickets.DefaultWeights() || sc.Total <= 0 || sc.VIP <= 0 || sc.SkillMatch <= 0 {
		t.Fatalf("score breakdown %+v", sc)
	}
	push := readPush(t, ctx, ws, "assignment.new")
	if push.Event.TicketID != created.Ticket.ID || push.Event.AssigneeID != "alice" {
		t.Fatalf("push %+v", push)
	}
	id := created.Ticket.ID

	var queue tickets.Queue
	mustCall(t, 200, base, agent, "GET", "/v1/me/queue", nil, &queue)
	if len(queue.Mine) != 1 || queue.Mine[0].ID != id {
		t.Fatalf("alice's queue %+v", queue)
	}
	mustCall(t, 200, base, agent, "POST", "/v1/tickets/"+id+"/claim", nil, nil)
	var replied struct {
		Message tickets.Message `json:"message"`
	}
	mustCall(t, 201, base, agent, "POST", "/v1/tickets/"+id+"/replies", map[string]string{"text": "Refund re-sent; write to me at alice.w@example.com"}, &replied)
	if replied.Message.ID == 0 || strings.Contains(replied.Message.Text, "alice.w@example.com") || !strings.Contains(replied.Message.Text, "[EMAIL_1]") {
		t.Fatalf("reply stored unredacted: %q", replied.Message.Text)
	}
	readPush(t, ctx, ws, "ticket.updated")

	var detail tickets.TicketDetail
	mustCall(t, 200, gw2.http.URL, agent, "GET", "/v1/tickets/"+id, nil, &detail)
	if detail.Ticket.Status != tickets.StatusPending || len(detail.Messages) != 2 || len(detail.Assignments) != 1 {
		t.Fatalf("detail %+v", detail)
	}
	if strings.Contains(detail.Messages[0].Text, "13812345678") {
		t.Fatalf("customer message stored unredacted: %q", detail.Messages[0].Text)
	}
	if diff := cmp.Diff(sc, detail.Assignments[0].Score); diff != "" {
		t.Fatalf("stored breakdown differs (-routed +stored):\n%s", diff)
	}
	var resolved struct {
		Ticket tickets.Ticket `json:"ticket"`
	}
	mustCall(t, 200, base, agent, "POST", "/v1/tickets/"+id+"/resolve", nil, &resolved)
	if resolved.Ticket.Status != tickets.StatusResolved {
		t.Fatalf("after resolve: %s", resolved.Ticket.Status)
	}
	// The other instance sees the resolution at once (cache invalidated).
	mustCall(t, 200, gw2.http.URL, agent, "GET", "/v1/tickets/"+id, nil, &detail)
	if detail.Ticket.Status != tickets.StatusResolved {
		t.Fatalf("second instance reads %s after resolve", detail.Ticket.Status)
	}
	var qs struct {
		Queues []tickets.GroupQueue `json:"queues"`
	}
	mustCall(t, 200, base, sup, "GET", "/v1/queues", nil, &qs)
	if len(qs.Queues) != 1 || qs.Queues[0].Capacity != 2 || qs.Queues[0].Load != 0 || qs.Queues[0].Backlog != 0 {
		t.Fatalf("queues after resolve %+v", qs.Queues)
	}
	var verify struct {
		OK      bool `json:"ok"`
		Checked int  `json:"checked"`
	}
	mustCall(t, 200, base, gw1.token(t, "audrey", RoleAuditor), "GET", "/v1/audit/verify", nil, &verify)
	if !verify.OK || verify.Checked < 6 {
		t.Fatalf("audit verify %+v", verify)
	}
}

func TestBadInputGetsClear4xx(t *testing.T) {
	in := newInstance(t, newPool(t), "bad"+strings.ToLower(t.Name()))
	base := in.http.URL
	sup := in.token(t, "sam", RoleSupervisor)
	expired, _ := in.auth.Issue("sam", RoleSupervisor, -time.Minute)
	for _, tc := range []struct {
		name, token, method, path string
		body                      any
		want                      int
		code                      string
	}{
		{"malformed JSON", sup, "POST", "/v1/tickets", `{"customer":`, 400, "invalid"},
		{"unknown field", sup, "POST", "/v1/tickets", `{"customer":{"pseudonymous_id":"x"},"colour":"red"}`, 400, "invalid"},
		{"trailing data", sup, "PUT", "/v1/routing/weights", `{"vip":1} {}`, 400, "invalid"},
		{"empty body", sup, "PUT", "/v1/routing/weights", "", 400, "invalid"},
		{"missing customer", sup, "POST", "/v1/tickets", `{"message":"hi"}`, 400, "invalid"},
		{"bad priority", sup, "POST", "/v1/tickets", `{"customer":{"pseudonymous_id":"x"},"priority":"soon"}`, 400, "invalid"},
		{"too large", sup, "POST", "/v1/tickets", `{"message":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "too_large"},
		{"negative weight", sup, "PUT", "/v1/routing/weights", `{"vip":-1,"skill":1,"load":1,"wait":1}`, 400, "invalid"},
		{"bad group id", sup, "PUT", "/v1/skill-groups/Bad%20Id", `{}`, 400, "invalid"},
		{"unknown ticket", sup, "GET", "/v1/tickets/3f1c2d1e-0000-4000-8000-000000000000", nil, 404, "not_found"},
		{"malformed ticket id", sup, "GET", "/v1/tickets/nope", nil, 404, "not_found"},
		{"unknown agent status", sup, "PUT", "/v1/agents/nobody/status", `{"status":"online"}`, 404, "not_found"},
		{"bad status", sup, "PUT", "/v1/agents/nobody/status", `{"status":"asleep"}`, 400, "invalid"},
		{"bad since", sup, "GET", "/v1/tickets?since=yesterday", nil, 400, "invalid"},
		{"transfer needs a target", sup, "POST", "/v1/tickets/3f1c2d1e-0000-4000-8000-000000000000/transfer", `{}`, 400, "invalid"},
		{"expired token", expired, "GET", "/v1/queues", nil, 401, "unauthenticated"},
		{"garbage token", "abc.def.ghi", "GET", "/v1/queues", nil, 401, "unauthenticated"},
		{"no route", sup, "GET", "/v1/nothing", nil, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body ErrorBody
			got := call(t, base, tc.token, tc.method, tc.path, tc.body, &body)
			if got != tc.want || body.Code != tc.code || body.Error == "" || body.RequestID == "" {
				t.Fatalf("status %d body %+v, want %d with code %q, a message and a request id", got, body, tc.want, tc.code)
			}
		})
	}
	resp, err := http.Post(base+"/healthz", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("POST /healthz: %d, want 405", resp.StatusCode)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	in := newInstance(t, newPool(t), "health"+strings.ToLower(t.Name()))
	var ready struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	if got := call(t, in.http.URL, "", "GET", "/readyz", nil, &ready); got != 200 || !ready.Ready ||
		ready.Checks["postgres"] != "ok" || ready.Checks["redis"] != "ok" {
		t.Fatalf("readyz %d %+v", got, ready)
	}
	if got := call(t, in.http.URL, "", "GET", "/healthz", nil, nil); got != 200 {
		t.Fatalf("healthz %d", got)
	}
	resp, err := http.Get(in.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"switchboard_http_requests_total", "switchboard_routing_decision_seconds"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("security headers missing")
	}
}

func TestReadyzReportsAFailingDependency(t *testing.T) {
	in := newInstance(t, newPool(t), "notready"+strings.ToLower(t.Name()))
	in.srv.probes.ready = append(in.srv.probes.ready, Checker{Name: "redis-replica", Check: func(context.Context) error {
		return io.ErrUnexpectedEOF
	}})
	var ready struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	if got := call(t, in.http.URL, "", "GET", "/readyz", nil, &ready); got != 503 || ready.Ready || ready.Checks["redis-replica"] == "ok" {
		t.Fatalf("readyz with a failing check: %d %+v", got, ready)
	}
}
