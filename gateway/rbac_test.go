package gateway

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// rbacMatrix is the RBAC policy written out independently of routes.go:
// who may call what. "" lists public routes.
var rbacMatrix = map[string]string{
	"GET /healthz":                                      "",
	"GET /readyz":                                       "",
	"GET /metrics":                                      "",
	"GET /openapi.json":                                 "",
	"POST /v1/auth/login":                               "",
	"POST /v1/chat/session":                             "",
	"GET /v1/tickets/:id/suggestions":                   "agent supervisor admin",
	"POST /v1/tickets":                                  "agent supervisor admin",
	"GET /v1/tickets":                                   "agent supervisor admin",
	"GET /v1/tickets/:id":                               "agent supervisor admin",
	"POST /v1/tickets/:id/claim":                        "agent supervisor",
	"POST /v1/tickets/:id/replies":                      "agent supervisor",
	"POST /v1/tickets/:id/transfer":                     "agent supervisor admin",
	"POST /v1/tickets/:id/resolve":                      "agent supervisor admin",
	"POST /v1/tickets/:id/close":                        "agent supervisor admin",
	"POST /v1/tickets/:id/reopen":                       "agent supervisor admin",
	"GET /v1/tickets/:id/canned/:shortcut":              "agent supervisor admin",
	"POST /v1/tickets/:id/notes":                        "agent supervisor admin",
	"PUT /v1/tickets/:id/tags":                          "agent supervisor admin",
	"PUT /v1/tickets/:id/priority":                      "agent supervisor admin",
	"POST /v1/tickets/:id/merge":                        "agent supervisor admin",
	"POST /v1/tickets/:id/typing":                       "agent supervisor",
	"POST /v1/tickets/:id/attachments":                  "agent supervisor",
	"GET /v1/conversations/:id/attachments/:attachment": "customer agent supervisor admin",
	"GET /v1/tickets/:id/assist":                        "agent supervisor admin",
	"POST /v1/tickets/:id/assist/draft":                 "agent supervisor admin",
	"POST /v1/tickets/:id/summary":                      "agent supervisor admin",
	"GET /v1/canned-responses":                          "agent supervisor admin",
	"POST /v1/canned-responses":                         "agent supervisor admin",
	"PUT /v1/canned-responses/:id":                      "agent supervisor admin",
	"DELETE /v1/canned-responses/:id":                   "agent supervisor admin",
	"POST /v1/channels/telegram":                        "",
	"POST /v1/channels/slack":                           "",
	"POST /v1/channels/webhook":                         "",
	"GET /v1/channels/wecom":                            "",
	"POST /v1/channels/wecom":                           "",
	"POST /v1/messages":                                 "customer",
	"GET /v1/chat/ws":                                   "customer",
	"GET /v1/conversations/:id/messages/:mid/pii":       "agent supervisor admin",
	"GET /v1/conversations/:id":                         "customer agent supervisor admin",
	"GET /v1/me/queue":                                  "agent supervisor",
	"GET /v1/me/status":                                 "agent supervisor",
	"PUT /v1/me/status":                                 "agent supervisor",
	"POST /v1/me/heartbeat":                             "agent supervisor",
	"POST /v1/me/signout":                               "agent supervisor",
	"GET /v1/me/ws":                                     "agent supervisor admin",
	"GET /v1/queues":                                    "supervisor admin",
	"GET /v1/reports":                                   "supervisor admin",
	"GET /v1/quality/conversations":                     "supervisor admin",
	"GET /v1/quality/agents":                            "supervisor admin",
	"GET /v1/quality/rules":                             "supervisor admin",
	"PUT /v1/quality/rules":                             "supervisor admin",
	"GET /v1/quality/conversations/:id":                 "agent supervisor admin",
	"GET /v1/me/quality":                                "agent supervisor",
	"GET /v1/routing/weights":                           "supervisor admin",
	"PUT /v1/routing/weights":                           "supervisor admin",
	"GET /v1/skill-groups":                              "agent supervisor admin",
	"PUT /v1/skill-groups/:id":                          "supervisor admin",
	"GET /v1/sla-policies":                              "supervisor admin",
	"PUT /v1/sla-policies/:priority":                    "supervisor admin",
	"GET /v1/agents":                                    "supervisor admin",
	"PUT /v1/agents/:id":                                "supervisor admin",
	"PUT /v1/agents/:id/status":                         "supervisor admin",
	"GET /v1/kb/status":                                 "supervisor admin",
	"POST /v1/kb/documents":                             "supervisor admin",
	"GET /v1/kb/jobs/:id":                               "supervisor admin",
	"GET /v1/kb/documents":                              "supervisor admin",
	"DELETE /v1/kb/documents/:id":                       "supervisor admin",
	"POST /v1/kb/ask":                                   "supervisor admin",
	"GET /v1/staff":                                     "admin",
	"POST /v1/staff":                                    "admin",
	"PUT /v1/staff/:id/role":                            "admin",
	"PUT /v1/staff/:id/password":                        "admin",
	"PUT /v1/staff/:id/disabled":                        "admin",
	"GET /v1/webhooks/deliveries":                       "admin",
	"POST /v1/webhooks/deliveries/:id/redeliver":        "admin",
	"POST /v1/customers/:id/erase":                      "supervisor admin",
	"GET /v1/customers/:id":                             "agent supervisor admin",
	"GET /v1/models":                                    "ml-engineer supervisor admin",
	"POST /v1/models/:model/versions":                   "ml-engineer admin",
	"POST /v1/models/:model/versions/:version/validate": "ml-engineer admin",
	"POST /v1/models/:model/activate":                   "ml-engineer admin",
	"POST /v1/models/:model/canary":                     "ml-engineer admin",
	"POST /v1/models/:model/shadow":                     "ml-engineer admin",
	"POST /v1/models/:model/rollback":                   "ml-engineer supervisor admin",
	"POST /v1/models/:model/latest":                     "ml-engineer admin",
	"POST /v1/vision/classify":                          "agent supervisor admin ml-engineer",
	"GET /v1/asr/ws":                                    "customer agent supervisor admin",
	"GET /v1/audit":                                     "auditor admin",
	"GET /v1/audit/verify":                              "auditor admin",
	"POST /v1/audit/anchor":                             "auditor admin",
}

// TestRBACEveryRouteEveryRole calls every route as every role and as
// nobody: nobody gets 401 on protected routes, a role outside the policy
// gets 403, a role inside it gets past authorization.
func TestRBACEveryRouteEveryRole(t *testing.T) {
	in := newInstance(t, newPool(t), "rbac"+strings.ToLower(t.Name()))
	var registered []string
	for _, r := range in.srv.Routes() {
		registered = append(registered, r.Method+" "+r.Path)
	}
	var expected []string
	for k := range rbacMatrix {
		expected = append(expected, k)
	}
	slices.Sort(registered)
	slices.Sort(expected)
	if !slices.Equal(registered, expected) {
		t.Fatalf("registered routes differ from the RBAC matrix:\nregistered %v\nmatrix     %v", registered, expected)
	}
	callers := append([]Role{""}, Roles...)
	for _, r := range in.srv.Routes() {
		allowed := strings.Fields(rbacMatrix[r.Method+" "+r.Path])
		path := strings.NewReplacer(":id", "00000000-0000-0000-0000-000000000000", ":priority", "normal",
			":model", "no-such-model", ":version", "1").Replace(r.Path)
		for _, role := range callers {
			name := string(role)
			if name == "" {
				name = "none"
			}
			t.Run(r.Method+" "+r.Path+" as "+name, func(t *testing.T) {
				req, _ := http.NewRequest(r.Method, in.http.URL+path, strings.NewReader("{}"))
				req.Header.Set("Content-Type", "application/json")
				if role != "" {
					req.Header.Set("Authorization", "Bearer "+in.token(t, "rbac-user", role))
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				public := len(allowed) == 0
				switch {
				case public:
					if resp.StatusCode == 401 || resp.StatusCode == 403 {
						t.Fatalf("public route answered %d", resp.StatusCode)
					}
				case role == "":
					if resp.StatusCode != 401 {
						t.Fatalf("no token: %d, want 401", resp.StatusCode)
					}
				case slices.Contains(allowed, string(role)):
					if resp.StatusCode == 401 || resp.StatusCode == 403 || resp.StatusCode >= 500 {
						t.Fatalf("allowed role got %d", resp.StatusCode)
					}
				default:
					if resp.StatusCode != 403 {
						t.Fatalf("role outside the policy got %d, want 403", resp.StatusCode)
					}
				}
			})
		}
	}
}
