//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-cs/switchboard/gateway"
)

// setUpAgents creates the skill group and the agents, online.
func (l *faultLoad) setUpAgents(n int) {
	sup := l.token("sam", gateway.RoleSupervisor)
	base := l.c.replicas[0].base()
	must := func(tok, method, path, body string) {
		if code := request(l.c.t, tok, method, base+path, body, nil); code != 200 {
			l.c.t.Fatalf("%s %s: %d", method, path, code)
		}
	}
	must(sup, "PUT", "/v1/skill-groups/general", `{"skills":[]}`)
	for i := range n {
		id := fmt.Sprintf("agent%d", i)
		must(sup, "PUT", "/v1/agents/"+id, `{"groups":["general"],"capacity":4}`)
		must(l.token(id, gateway.RoleAgent), "PUT", "/v1/me/status", `{"status":"online"}`)
	}
}

// agent answers and resolves the tickets it holds until ctx ends. It talks to the
// first replica that answers (agents' consoles reconnect like customers).
func (l *faultLoad) agent(ctx context.Context, i int) {
	id := fmt.Sprintf("agent%d", i)
	tok := l.token(id, gateway.RoleAgent)
	client := faultHTTPClient(20 * time.Second)
	replied := map[string]bool{}
	pref := i % len(l.c.replicas)
	call := func(method, path, body string, out any) int {
		for attempt := range len(l.c.replicas) * 3 {
			r := l.c.replicas[(pref+attempt)%len(l.c.replicas)]
			req, _ := http.NewRequestWithContext(ctx, method, r.base()+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				if ctx.Err() != nil {
					return 0
				}
				var op *net.OpError
				if errors.As(err, &op) {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				return 0
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" {
					l.count(func(st *faultLoadStats) { st.Unavailable++ })
				}
				time.Sleep(50 * time.Millisecond)
				continue
			}
			pref = r.idx
			if out != nil {
				json.Unmarshal(b, out)
			}
			return resp.StatusCode
		}
		return 0
	}
	beat := time.Now()
	for sleepCtx(ctx, 200*time.Millisecond) {
		if time.Since(beat) > 10*time.Second {
			call("POST", "/v1/me/heartbeat", "", nil)
			beat = time.Now()
		}
		var list struct {
			Tickets []struct {
				ID       string `json:"id"`
				Status   string `json:"status"`
				Assignee string `json:"assignee_id"`
			} `json:"tickets"`
		}
		if call("GET", "/v1/tickets", "", &list) != 200 {
			continue
		}
		for _, tk := range list.Tickets {
			if tk.Status != "assigned" || tk.Assignee != id {
				continue
			}
			if !replied[tk.ID] { // a reply is not idempotent: never sent twice
				replied[tk.ID] = true
				if call("POST", "/v1/tickets/"+tk.ID+"/replies", `{"text":"Hello, this is your agent."}`, nil) == 201 {
					l.count(func(st *faultLoadStats) { st.AgentReplies++ })
				}
			}
			if call("POST", "/v1/tickets/"+tk.ID+"/resolve", "", nil) == 200 {
				l.count(func(st *faultLoadStats) { st.Resolved++ })
			}
		}
	}
}
