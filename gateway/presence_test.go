package gateway

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/tickets"
)

// newTicket opens a "general" ticket as the supervisor and says who got it ("" when it waits).
func newTicket(t *testing.T, base, sup, customer string) string {
	t.Helper()
	var created ticketResponse
	mustCall(t, 201, base, sup, "POST", "/v1/tickets", map[string]any{"customer": map[string]any{"pseudonymous_id": customer},
		"subject": "help", "skills": []string{"general"}}, &created)
	if created.Assignment == nil {
		return ""
	}
	return created.Assignment.AgentID
}

// TestAgentSocketKeepsPresence: while the console's WebSocket is open the agent stays
// online across several presence TTLs; once it closes, the agent goes offline after the
// TTL and a new ticket waits instead of going to them.
func TestAgentSocketKeepsPresence(t *testing.T) {
	in := newInstance(t, newPool(t), "presence"+strings.ToLower(t.Name()))
	in.svc.PresenceTTL = 1500 * time.Millisecond
	base := in.http.URL
	sup, agent := in.token(t, "sam", RoleSupervisor), in.token(t, "alice", RoleAgent)
	supportAgent(t, base, sup, "alice", 2)
	mustCall(t, 200, base, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(base, "http", "ws", 1)+"/v1/me/ws?access_token="+agent, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	readPush(t, ctx, ws, "hello")
	for end := time.Now().Add(3500 * time.Millisecond); time.Now().Before(end); {
		time.Sleep(250 * time.Millisecond)
		if lapsed, err := in.svc.SweepPresence(ctx); err != nil || len(lapsed) != 0 {
			t.Fatalf("with the socket open: lapsed %v, %v", lapsed, err)
		}
	}
	if who := newTicket(t, base, sup, "web:1"); who != "alice" {
		t.Fatalf("ticket with alice's socket open went to %q", who)
	}

	ws.Close(websocket.StatusNormalClosure, "")
	time.Sleep(2 * time.Second)
	lapsed, err := in.svc.SweepPresence(ctx)
	if err != nil || !cmp.Equal(lapsed, []string{"alice"}) {
		t.Fatalf("after the socket closed: lapsed %v, %v; want alice", lapsed, err)
	}
	var me tickets.Agent
	mustCall(t, 200, base, agent, "GET", "/v1/me/status", nil, &me)
	if me.Status != tickets.AgentOffline || me.Load != 1 {
		t.Fatalf("alice after her presence lapsed: %+v; want offline, still holding her ticket", me)
	}
	if who := newTicket(t, base, sup, "web:2"); who != "" {
		t.Fatalf("ticket for an absent agent went to %q; want it waiting", who)
	}
}

// TestHeartbeatAndSignOut: API-only agents keep their presence with POST
// /v1/me/heartbeat, which says how often to call it; POST /v1/me/signout sets the agent
// offline at once.
func TestHeartbeatAndSignOut(t *testing.T) {
	in := newInstance(t, newPool(t), "presence"+strings.ToLower(t.Name()))
	base := in.http.URL
	sup, agent := in.token(t, "sam", RoleSupervisor), in.token(t, "alice", RoleAgent)
	supportAgent(t, base, sup, "alice", 2)
	mustCall(t, 200, base, agent, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)
	var beat struct {
		Agent      tickets.Agent `json:"agent"`
		TTLSeconds int           `json:"presence_ttl_seconds"`
	}
	mustCall(t, 200, base, agent, "POST", "/v1/me/heartbeat", nil, &beat)
	if beat.Agent.ID != "alice" || beat.Agent.Status != tickets.AgentOnline || beat.TTLSeconds != 60 {
		t.Fatalf("heartbeat %+v", beat)
	}
	var e ErrorBody
	if code := call(t, base, in.token(t, "sam", RoleSupervisor), "POST", "/v1/me/heartbeat", nil, &e); code != 404 || e.Code != "not_found" {
		t.Fatalf("heartbeat of a supervisor who is no agent: %d %+v", code, e)
	}
	var me tickets.Agent
	mustCall(t, 200, base, agent, "POST", "/v1/me/signout", nil, &me)
	if me.Status != tickets.AgentOffline {
		t.Fatalf("after sign-out: %+v", me)
	}
	if who := newTicket(t, base, sup, "web:1"); who != "" {
		t.Fatalf("ticket after alice signed out went to %q", who)
	}
}

// TestAgentCapacityUpToSupervisorMaximum (security review L8): an agent may lower their
// own capacity and raise it up to the maximum their supervisor set; above it is 403.
func TestAgentCapacityUpToSupervisorMaximum(t *testing.T) {
	in := newInstance(t, newPool(t), "capacity"+strings.ToLower(t.Name()))
	base := in.http.URL
	sup, bob := in.token(t, "sam", RoleSupervisor), in.token(t, "bob", RoleAgent)
	var a tickets.Agent
	mustCall(t, 200, base, sup, "PUT", "/v1/skill-groups/support", map[string]any{"skills": []string{"general"}}, nil)
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/bob", map[string]any{"groups": []string{"support"}, "capacity": 3}, &a)
	if a.MaxCapacity != 3 {
		t.Fatalf("new agent's maximum %d, want the capacity 3", a.MaxCapacity)
	}
	mustCall(t, 200, base, bob, "PUT", "/v1/me/status", map[string]any{"status": "online", "capacity": 1}, &a)
	mustCall(t, 200, base, bob, "PUT", "/v1/me/status", map[string]any{"status": "online", "capacity": 3}, &a)
	var e ErrorBody
	if code := call(t, base, bob, "PUT", "/v1/me/status", map[string]any{"status": "online", "capacity": 100}, &e); code != 403 ||
		e.Code != "forbidden" || !strings.Contains(e.Error, "above 3") {
		t.Fatalf("agent raising capacity above the maximum: %d %+v; want 403 naming the maximum", code, e)
	}
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/bob/status", map[string]any{"status": "online", "capacity": 5}, &a)
	if a.Capacity != 5 || a.MaxCapacity != 5 {
		t.Fatalf("supervisor raised capacity: %+v", a)
	}
	mustCall(t, 200, base, bob, "PUT", "/v1/me/status", map[string]any{"status": "online", "capacity": 5}, &a)
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/bob", map[string]any{"groups": []string{"support"}, "capacity": 2, "max_capacity": 8}, &a)
	if a.Capacity != 2 || a.MaxCapacity != 8 {
		t.Fatalf("supervisor set a maximum: %+v", a)
	}
	if code := call(t, base, sup, "PUT", "/v1/agents/bob", map[string]any{"capacity": 4, "max_capacity": 3}, &e); code != 400 {
		t.Fatalf("maximum below capacity: %d %+v, want 400", code, e)
	}
}

// TestAgentResponsesAndQueueFigures: PUT /v1/agents/:id and status changes return the
// agent as it is after the pull they caused; /v1/queues names its figures for what they
// are, and the agent's queue marks what the agent can claim.
func TestAgentResponsesAndQueueFigures(t *testing.T) {
	in := newInstance(t, newPool(t), "figures"+strings.ToLower(t.Name()))
	base := in.http.URL
	sup, bob := in.token(t, "sam", RoleSupervisor), in.token(t, "bob", RoleAgent)
	supportAgent(t, base, sup, "bob", 1)
	mustCall(t, 200, base, bob, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)
	for i, want := range []string{"bob", "", "", ""} {
		if who := newTicket(t, base, sup, "web:"+string(rune('a'+i))); who != want {
			t.Fatalf("ticket %d went to %q, want %q", i, who, want)
		}
	}
	var a tickets.Agent
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/bob", map[string]any{"groups": []string{"support"}, "capacity": 3}, &a)
	if a.Load != 3 || a.Capacity != 3 {
		t.Fatalf("PUT /v1/agents/bob capacity 3: load %d/%d, want 3/3 (two waiting tickets pulled)", a.Load, a.Capacity)
	}
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/bob/status", map[string]any{"status": "online", "capacity": 5}, &a)
	if a.Load != 4 {
		t.Fatalf("status with capacity 5: load %d, want 4", a.Load)
	}
	newTicket(t, base, sup, "web:e") // pulled at once: 5 of 5
	newTicket(t, base, sup, "web:f") // waits

	var raw struct {
		Queues []map[string]any `json:"queues"`
	}
	mustCall(t, 200, base, sup, "GET", "/v1/queues", nil, &raw)
	if len(raw.Queues) != 1 {
		t.Fatalf("queues %+v", raw.Queues)
	}
	got := raw.Queues[0]
	if w, ok := got["oldest_wait_seconds"].(float64); !ok || w < 0 || w > 60 {
		t.Fatalf("oldest_wait_seconds %v, want the seconds the last ticket has waited", got["oldest_wait_seconds"])
	}
	delete(got, "oldest_wait_seconds")
	want := map[string]any{"group_id": "support", "waiting_tickets": 1.0, "assigned_tickets": 5.0, "backlog": 6.0,
		"at_risk": 0.0, "load": 5.0, "capacity": 5.0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("queue figures (-want +got):\n%s", diff)
	}
	var q struct {
		Waiting []json.RawMessage `json:"waiting"`
	}
	mustCall(t, 200, base, bob, "GET", "/v1/me/queue", nil, &q)
	if len(q.Waiting) != 1 || !strings.Contains(string(q.Waiting[0]), `"claimable":false`) {
		t.Fatalf("bob's waiting list %s; want one ticket marked not claimable (no claim overflow configured)", q.Waiting)
	}
}
