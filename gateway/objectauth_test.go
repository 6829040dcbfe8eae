package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/models/onnxtest"
	"github.com/switchboard-cs/switchboard/tickets"
)

// objectRig is a gateway with two skill groups and a cast: alice (agent in g1, online)
// holds the tickets the customer ann's messages open; bob (g1) and mallory (g2) are
// agents who do not hold them (offline, so routing never picks them); eve is another
// customer; sam a supervisor; ml-1 an ML engineer.
type objectRig struct {
	*instance
	tokens map[string]string
}

func newObjectRig(t *testing.T) *objectRig {
	t.Helper()
	in := newInstanceWith(t, newPool(t), "objauth"+strings.ToLower(t.Name()), nil,
		func(o *Options) { o.KBIngest, o.KBDocuments = oneKBJob{}, oneKBJob{} })
	r := &objectRig{instance: in, tokens: map[string]string{}}
	for name, role := range map[string]Role{"alice": RoleAgent, "bob": RoleAgent, "mallory": RoleAgent,
		"ann": RoleCustomer, "eve": RoleCustomer, "sam": RoleSupervisor, "ml-1": RoleMLEngineer, "ada": RoleAdmin} {
		sub := name
		if role == RoleCustomer {
			sub = "web:" + name
		}
		r.tokens[name] = in.token(t, sub, role)
	}
	sam := r.tokens["sam"]
	mustCall(t, 200, in.http.URL, sam, "PUT", "/v1/skill-groups/g1", map[string]any{"skills": []string{"billing"}}, nil)
	mustCall(t, 200, in.http.URL, sam, "PUT", "/v1/skill-groups/g2", map[string]any{"skills": []string{"tech"}}, nil)
	for id, group := range map[string]string{"alice": "g1", "bob": "g1", "mallory": "g2"} {
		mustCall(t, 200, in.http.URL, sam, "PUT", "/v1/agents/"+id, map[string]any{"groups": []string{group}, "capacity": 50}, nil)
	}
	mustCall(t, 200, in.http.URL, r.tokens["alice"], "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)
	return r
}

// objectRef names one object of a case: the values of its path parameters.
type objectRef map[string]string

// heldTicket has ann ask for a human with a phone number in her message: a new
// conversation whose ticket is assigned to alice. It returns the ticket (:id), the
// conversation (conv) and ann's message (:mid).
func (r *objectRig) heldTicket(t *testing.T) objectRef {
	t.Helper()
	var reply MessageReply
	mustCall(t, 200, r.http.URL, r.tokens["ann"], "POST", "/v1/messages", map[string]any{"text": "I want a human, call me on 13812345678"}, &reply)
	tk, err := r.svc.GetTicket(context.Background(), reply.TicketID)
	if err != nil || tk.AssigneeID != "alice" {
		t.Fatalf("fixture ticket %+v (%v): want one assigned to alice", tk, err)
	}
	msgs, err := r.store.ListMessages(context.Background(), reply.ConversationID)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("fixture messages %v, %v", msgs, err)
	}
	return objectRef{":id": reply.TicketID, "conv": reply.ConversationID, ":mid": strconv.FormatInt(msgs[0].ID, 10)}
}

func (r *objectRig) resolvedTicket(t *testing.T) objectRef {
	o := r.heldTicket(t)
	mustCall(t, 200, r.http.URL, r.tokens["alice"], "POST", "/v1/tickets/"+o[":id"]+"/resolve", nil, nil)
	return o
}

// inspectedTicket is a ticket alice answered and resolved: its conversation is scored
// as hers.
func (r *objectRig) inspectedTicket(t *testing.T) objectRef {
	o := r.heldTicket(t)
	mustCall(t, 201, r.http.URL, r.tokens["alice"], "POST", "/v1/tickets/"+o[":id"]+"/replies", map[string]string{"text": "Fixed. Bye!"}, nil)
	mustCall(t, 200, r.http.URL, r.tokens["alice"], "POST", "/v1/tickets/"+o[":id"]+"/resolve", nil, nil)
	return o
}

// failedDelivery is a webhook delivery that failed, for an admin to send again.
func (r *objectRig) failedDelivery(t *testing.T) objectRef {
	t.Helper()
	var id int64
	err := r.pool.QueryRow(context.Background(), `INSERT INTO webhook_deliveries (endpoint, event_type, event_id, payload, status, attempts, last_status_code)
		VALUES ('crm', 'ticket.created', 'audit:' || nextval('webhook_deliveries_id_seq'), '{}', 'failed', 8, 503) RETURNING id`).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return objectRef{":id": strconv.FormatInt(id, 10)}
}

// erasableCustomer is a customer a supervisor filed a ticket for, to be erased by
// pseudonymous id.
func (r *objectRig) erasableCustomer(t *testing.T) objectRef {
	t.Helper()
	mustCall(t, 201, r.http.URL, r.tokens["sam"], "POST", "/v1/tickets", map[string]any{
		"customer": map[string]any{"pseudonymous_id": "crm:erase-me"}, "subject": "to be erased", "message": "please forget me"}, nil)
	return objectRef{":id": "crm:erase-me"}
}

// ownCanned is a canned response of alice's own.
func (r *objectRig) ownCanned(t *testing.T, shortcut string) objectRef {
	t.Helper()
	var c struct {
		ID int64 `json:"id"`
	}
	mustCall(t, 201, r.http.URL, r.tokens["alice"], "POST", "/v1/canned-responses", map[string]any{"shortcut": shortcut, "body": "Mine"}, &c)
	return objectRef{":id": strconv.FormatInt(c.ID, 10)}
}

// pushModel pushes versions of a model as ml-1 and activates the listed ones in turn.
func (r *objectRig) pushModel(t *testing.T, name string, versions int, activate ...string) objectRef {
	t.Helper()
	onnxtest.ORT(t)
	for i := range versions {
		body, ctype := modelUpload(t, float32(i+1), offsetManifest)
		if code := r.do(t, "ml-1", "POST", "/v1/models/"+name+"/versions", ctype, body); code != 201 {
			t.Fatalf("push %s v%d: %d", name, i+1, code)
		}
	}
	for _, v := range activate {
		if code := r.do(t, "ml-1", "POST", "/v1/models/"+name+"/activate", "application/json", strings.NewReader(`{"version":"`+v+`"}`)); code != 200 {
			t.Fatalf("activate %s v%s: %d", name, v, code)
		}
	}
	return objectRef{":model": name, ":version": "1"}
}

func (r *objectRig) do(t *testing.T, who, method, path, ctype string, body io.Reader) int {
	t.Helper()
	req, err := http.NewRequest(method, r.http.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+r.tokens[who])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// objectCase is how one route with path parameters is exercised: setup makes a fresh
// object, owners may act on it (each gets want), everybody else is refused.
type objectCase struct {
	setup  func(*objectRig, *testing.T) objectRef
	body   func(*testing.T) (ctype string, body []byte) // nil: no body
	owners []string
	want   int
}

func jsonBody(v any) func(*testing.T) (string, []byte) {
	return func(*testing.T) (string, []byte) {
		b, _ := json.Marshal(v)
		return "application/json", b
	}
}

func fixed(o objectRef) func(*objectRig, *testing.T) objectRef {
	return func(*objectRig, *testing.T) objectRef { return o }
}

// objectCases covers every route whose path takes a parameter. Tickets and conversations
// belong to whoever holds or may see them; agents, skill groups, SLA policies and
// models have no per-object owner: their role gate is the object rule, so there the
// owner is a role that may act and the intruders are the roles that may not.
var objectCases = map[string]objectCase{
	"GET /v1/tickets/:id": {setup: (*objectRig).heldTicket, owners: []string{"alice", "sam"}, want: 200},
	// a conversation's quality inspection: the agent it was scored for, and supervisors
	"GET /v1/quality/conversations/:id": {setup: (*objectRig).inspectedTicket, owners: []string{"alice", "sam"}, want: 200},
	"GET /v1/tickets/:id/suggestions":   {setup: (*objectRig).heldTicket, owners: []string{"alice"}, want: 200},
	"GET /v1/tickets/:id/assist":        {setup: (*objectRig).heldTicket, owners: []string{"alice", "sam"}, want: 200},
	// the rig has no language model: its owners pass the ticket check and learn that
	"POST /v1/tickets/:id/assist/draft": {setup: (*objectRig).heldTicket, owners: []string{"alice", "sam"}, want: 409},
	"POST /v1/tickets/:id/summary":      {setup: (*objectRig).heldTicket, owners: []string{"alice", "sam"}, want: 409},
	"POST /v1/tickets/:id/claim":        {setup: (*objectRig).heldTicket, owners: []string{"alice"}, want: 200},
	"POST /v1/tickets/:id/replies": {setup: (*objectRig).heldTicket, body: jsonBody(map[string]string{"text": "On it."}),
		owners: []string{"alice"}, want: 201},
	"POST /v1/tickets/:id/transfer": {setup: (*objectRig).heldTicket, body: jsonBody(map[string]string{"group": "g2"}),
		owners: []string{"alice"}, want: 200},
	// the duplicate into a second ticket of ann's that alice holds (merging again: no change)
	"POST /v1/tickets/:id/merge": mergeCase(),
	"POST /v1/tickets/:id/typing": {setup: (*objectRig).heldTicket,
		owners: []string{"alice", "sam"}, want: 202},
	"POST /v1/tickets/:id/attachments": {setup: (*objectRig).heldTicket, body: pngUpload,
		owners: []string{"alice", "sam"}, want: 201},
	"GET /v1/conversations/:id/attachments/:attachment": {setup: (*objectRig).sentAttachment,
		owners: []string{"ann", "alice", "sam"}, want: 200},
	"POST /v1/tickets/:id/resolve":                {setup: (*objectRig).heldTicket, owners: []string{"alice"}, want: 200},
	"POST /v1/tickets/:id/close":                  {setup: (*objectRig).resolvedTicket, owners: []string{"alice"}, want: 200},
	"POST /v1/tickets/:id/reopen":                 {setup: (*objectRig).resolvedTicket, owners: []string{"alice"}, want: 200},
	"GET /v1/conversations/:id":                   {setup: conversationOf, owners: []string{"ann", "alice", "sam"}, want: 200},
	"PUT /v1/skill-groups/:id":                    {setup: fixed(objectRef{":id": "g3"}), body: jsonBody(map[string]any{"skills": []string{"x"}}), owners: []string{"sam"}, want: 200},
	"PUT /v1/sla-policies/:priority":              {setup: fixed(objectRef{":priority": "low"}), body: jsonBody(map[string]any{"first_response_minutes": 60, "resolution_minutes": 600}), owners: []string{"sam"}, want: 200},
	"PUT /v1/agents/:id":                          {setup: fixed(objectRef{":id": "carol"}), body: jsonBody(map[string]any{"groups": []string{"g2"}, "capacity": 2}), owners: []string{"sam"}, want: 200},
	"PUT /v1/agents/:id/status":                   {setup: fixed(objectRef{":id": "mallory"}), body: jsonBody(map[string]any{"status": "away"}), owners: []string{"sam"}, want: 200},
	"GET /v1/conversations/:id/messages/:mid/pii": {setup: conversationOf, owners: []string{"alice"}, want: 200},
	"POST /v1/models/:model/versions": {setup: fixed(objectRef{":model": "pushed"}), body: func(t *testing.T) (string, []byte) {
		onnxtest.ORT(t)
		body, ctype := modelUpload(t, 1, offsetManifest)
		return ctype, body.Bytes()
	}, owners: []string{"ml-1"}, want: 201},
	"POST /v1/models/:model/versions/:version/validate": {setup: func(r *objectRig, t *testing.T) objectRef { return r.pushModel(t, "validated", 1) },
		owners: []string{"ml-1"}, want: 200},
	"POST /v1/models/:model/activate": {setup: func(r *objectRig, t *testing.T) objectRef { return r.pushModel(t, "activated", 1) },
		body: jsonBody(map[string]string{"version": "1"}), owners: []string{"ml-1"}, want: 200},
	"POST /v1/models/:model/canary": {setup: func(r *objectRig, t *testing.T) objectRef { return r.pushModel(t, "canaried", 2, "1") },
		body: jsonBody(map[string]any{"version": "2", "percent": 10}), owners: []string{"ml-1"}, want: 200},
	"POST /v1/models/:model/shadow": {setup: func(r *objectRig, t *testing.T) objectRef { return r.pushModel(t, "shadowed", 2, "1") },
		body: jsonBody(map[string]string{"version": "2"}), owners: []string{"ml-1"}, want: 200},
	"POST /v1/models/:model/latest": {setup: func(r *objectRig, t *testing.T) objectRef { return r.pushModel(t, "latest", 1, "1") },
		owners: []string{"ml-1"}, want: 200},
	"POST /v1/models/:model/rollback": {setup: func(r *objectRig, t *testing.T) objectRef { return r.pushModel(t, "rolled", 3, "1", "2", "3") },
		owners: []string{"ml-1", "sam"}, want: 200},
	"GET /v1/tickets/:id/canned/:shortcut": {setup: func(r *objectRig, t *testing.T) objectRef {
		o := r.heldTicket(t)
		mustCall(t, 201, r.http.URL, r.tokens["sam"], "POST", "/v1/canned-responses", map[string]any{"shortcut": "hi", "body": "Hi", "shared": true}, nil)
		o[":shortcut"] = "hi"
		return o
	}, owners: []string{"alice", "sam"}, want: 200},
	"POST /v1/tickets/:id/notes": {setup: (*objectRig).heldTicket, body: jsonBody(map[string]string{"text": "checked"}),
		owners: []string{"alice", "sam"}, want: 201},
	"PUT /v1/tickets/:id/tags": {setup: (*objectRig).heldTicket, body: jsonBody(map[string]any{"tags": []string{"refund"}}),
		owners: []string{"alice", "sam"}, want: 200},
	"PUT /v1/tickets/:id/priority": {setup: (*objectRig).heldTicket, body: jsonBody(map[string]any{"priority": "urgent"}),
		owners: []string{"alice", "sam"}, want: 200},
	// a personal canned response is its agent's (and a supervisor's) to change and delete
	"PUT /v1/canned-responses/:id": {setup: func(r *objectRig, t *testing.T) objectRef { return r.ownCanned(t, "edited") },
		body: jsonBody(map[string]string{"shortcut": "edited", "body": "Changed"}), owners: []string{"alice", "sam"}, want: 200},
	"DELETE /v1/canned-responses/:id": {setup: func(r *objectRig, t *testing.T) objectRef { return r.ownCanned(t, "deleted") },
		owners: []string{"alice"}, want: 204},
	"GET /v1/kb/jobs/:id":          {setup: fixed(objectRef{":id": "job-1"}), owners: []string{"sam"}, want: 200},
	"POST /v1/customers/:id/erase": {setup: (*objectRig).erasableCustomer, owners: []string{"sam"}, want: 200},
	"GET /v1/customers/:id":        {setup: (*objectRig).ticketCustomer, owners: []string{"alice", "sam"}, want: 200},
	// a knowledge-base document is any supervisor's or admin's; staff sign-ins are the admins' alone
	"DELETE /v1/kb/documents/:id": {setup: fixed(objectRef{":id": "doc-1"}), owners: []string{"sam", "ada"}, want: 202},
	"PUT /v1/staff/:id/role": {setup: (*objectRig).staffAccount, body: jsonBody(map[string]string{"role": "supervisor"}),
		owners: []string{"ada"}, want: 200},
	"PUT /v1/staff/:id/password": {setup: (*objectRig).staffAccount, body: jsonBody(map[string]string{"password": "a new password"}),
		owners: []string{"ada"}, want: 200},
	"POST /v1/webhooks/deliveries/:id/redeliver": {setup: (*objectRig).failedDelivery, owners: []string{"ada"}, want: 200},
	"PUT /v1/staff/:id/disabled": {setup: (*objectRig).staffAccount, body: jsonBody(map[string]bool{"disabled": true}),
		owners: []string{"ada"}, want: 200},
}

// ticketCustomer is the customer (:id) of a ticket alice holds.
func (r *objectRig) ticketCustomer(t *testing.T) objectRef {
	o := r.heldTicket(t)
	var d struct {
		Ticket struct {
			CustomerID string `json:"customer_id"`
		} `json:"ticket"`
	}
	mustCall(t, 200, r.http.URL, r.tokens["sam"], "GET", "/v1/tickets/"+o[":id"], nil, &d)
	return objectRef{":id": d.Ticket.CustomerID}
}

// oneKBJob is an ingester that knows one finished job, "job-1".
type oneKBJob struct{}

func (oneKBJob) Stage() (string, error) { return "", errors.New("no uploads in this test") }
func (oneKBJob) Start(string, []string) (kb.Job, error) {
	return kb.Job{}, errors.New("no uploads in this test")
}
func (oneKBJob) Job(id string) (kb.Job, error) {
	if id != "job-1" {
		return kb.Job{}, fmt.Errorf("job %q: %w", id, kb.ErrNoJob)
	}
	return kb.Job{ID: id, State: kb.JobDone}, nil
}

// Documents and Delete know one document, "doc-1".
func (oneKBJob) Documents(context.Context) ([]kb.DocumentInfo, error) {
	return []kb.DocumentInfo{{Key: "doc-1", Name: "faq.csv", Path: "/kb/uploads/faq.csv", Chunks: 2, Uploaded: true}}, nil
}
func (oneKBJob) Delete(_ context.Context, key string) (kb.Job, error) {
	if key != "doc-1" {
		return kb.Job{}, fmt.Errorf("document %q: %w", key, kb.ErrNoDocument)
	}
	return kb.Job{ID: "job-2", Kind: kb.JobDelete, State: kb.JobQueued}, nil
}

// staffAccount is a fresh agent's sign-in (:id).
func (r *objectRig) staffAccount(t *testing.T) objectRef {
	t.Helper()
	sub := "staff-" + strconv.Itoa(int(staffSeq.Add(1)))
	if err := r.store.PutStaffAccount(context.Background(), tickets.StaffAccount{Subject: sub, Role: "agent", PasswordHash: "$2a$12$x"}); err != nil {
		t.Fatal(err)
	}
	return objectRef{":id": sub}
}

var staffSeq atomic.Int32

func conversationOf(r *objectRig, t *testing.T) objectRef {
	o := r.heldTicket(t)
	o[":id"] = o["conv"]
	return o
}

// TestObjectAuthorizationOnEveryRouteWithAnID walks every registered route whose path
// takes a parameter: agents who do not hold the object (bob in the same group, mallory
// in another) and another customer (eve) get 403 or 404, never the object; its owners
// succeed. A new route with a parameter and no case here fails the test.
func TestObjectAuthorizationOnEveryRouteWithAnID(t *testing.T) {
	r := newObjectRig(t)
	var withParams []string
	for _, rt := range r.srv.Routes() {
		if strings.Contains(rt.Path, ":") {
			withParams = append(withParams, rt.Method+" "+rt.Path)
		}
	}
	for key := range objectCases {
		if !slices.Contains(withParams, key) {
			t.Errorf("object case %q matches no registered route", key)
		}
	}
	for _, key := range withParams {
		t.Run(key, func(t *testing.T) {
			tc, ok := objectCases[key]
			if !ok {
				t.Fatalf("route %s takes an id but has no object-authorization case in objectCases", key)
			}
			method, path, _ := strings.Cut(key, " ")
			o := tc.setup(r, t)
			for param, v := range o {
				if strings.HasPrefix(param, ":") {
					path = strings.ReplaceAll(path, param, v)
				}
			}
			call := func(who string) int {
				var ctype string
				var body io.Reader
				if tc.body != nil {
					var b []byte
					ctype, b = tc.body(t)
					body = bytes.NewReader(b)
				}
				return r.do(t, who, method, path, ctype, body)
			}
			for _, who := range []string{"bob", "mallory", "eve"} {
				if code := call(who); code != 403 && code != 404 {
					t.Errorf("%s (not the owner) got %d, want 403 or 404", who, code)
				}
			}
			for _, who := range tc.owners {
				if code := call(who); code != tc.want {
					t.Errorf("owner %s got %d, want %d", who, code, tc.want)
				}
			}
		})
	}
}
