package tickets

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// The concurrency test re-executes this test binary twice; each child runs
// TestRouterConcurrencyHelper as one router process. The environment carries the setup.
const (
	envRouterHelper = "SWITCHBOARD_ROUTER_HELPER" // process index 0 or 1
	envRouterAddr   = "SWITCHBOARD_ROUTER_ADDR"
	envRouterPrefix = "SWITCHBOARD_ROUTER_PREFIX"
)

const (
	concTickets = 2000
	concAgents  = 20
	concGroups  = 3
	concProcs   = 2
)

// routerEvent is one line of a router process's event log.
type routerEvent struct {
	Seq    int64    `json:"seq"`
	Kind   string   `json:"kind"` // route, pull, wait, release
	Ticket string   `json:"ticket"`
	Agent  string   `json:"agent,omitempty"`
	Group  string   `json:"group,omitempty"`
	Load   int      `json:"load"`
	Cap    int      `json:"cap"`
	Score  float64  `json:"priority_score"`
	Groups []string `json:"groups,omitempty"`
	Proc   int      `json:"proc"`
}

// concAgent describes agent i of the run: capacity 1–3, one or two of the three groups.
func concAgent(i int) (id string, capacity int, groups []string) {
	groups = []string{fmt.Sprintf("g%d", i%concGroups)}
	if i%4 == 0 {
		groups = append(groups, fmt.Sprintf("g%d", (i+1)%concGroups))
	}
	return fmt.Sprintf("a%02d", i), (i/2)%3 + 1, groups
}

// concTicket derives ticket i's request deterministically, so either process can log
// the priority score of a ticket the other one routed.
func concTicket(i int) RouteRequest {
	now := routerT0
	rng := rand.New(rand.NewPCG(uint64(i), 42))
	n := 1 + rng.IntN(concGroups)
	var groups []GroupCandidate
	for _, g := range rng.Perm(concGroups)[:n] {
		groups = append(groups, GroupCandidate{ID: fmt.Sprintf("g%d", g), SkillMatch: float64(rng.IntN(5)) / 4})
	}
	return RouteRequest{TicketID: fmt.Sprintf("t%04d", i), Groups: groups, VIPTier: rng.IntN(4),
		CreatedAt: now, Deadline: now.Add(time.Duration(rng.IntN(120)) * time.Minute)}
}

// concKept reports whether the worker keeps ticket i assigned (so the final state has load).
func concKept(ticket string) bool {
	n, _ := strconv.Atoi(ticket[1:])
	return n%200 == 0
}

func TestRouterConcurrency(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	prefix += "-conc"
	ctx := t.Context()
	r := NewRedisRouter(rdb, RouterOptions{Prefix: prefix})
	var snap RouterSnapshot
	for i := range concAgents {
		id, c, groups := concAgent(i)
		snap.Agents = append(snap.Agents, RouterAgent{ID: id, Status: AgentOnline, Capacity: c, Groups: groups})
	}
	if err := r.Rebuild(ctx, snap); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.dropState(context.Background()) })

	start := time.Now()
	logs := make([][]byte, concProcs)
	var wg sync.WaitGroup
	for p := range concProcs {
		wg.Go(func() {
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRouterConcurrencyHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), envRouterHelper+"="+strconv.Itoa(p),
				envRouterAddr+"="+rdb.Options().Addr, envRouterPrefix+"="+prefix)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("router process %d: %v\n%s\n%s", p, err, stderr.Bytes(), tail(out))
			}
			logs[p] = out
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	events := parseRouterEvents(t, logs)
	t.Logf("%d events from %d processes in %v", len(events), concProcs, time.Since(start).Round(time.Millisecond))
	checkConcurrentEvents(t, events)
	checkFinalState(t, r, events)
}

func tail(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}

func parseRouterEvents(t *testing.T, logs [][]byte) []routerEvent {
	var events []routerEvent
	for _, l := range logs {
		sc := bufio.NewScanner(bytes.NewReader(l))
		for sc.Scan() {
			if !bytes.HasPrefix(sc.Bytes(), []byte(`{"seq"`)) {
				continue
			}
			var e routerEvent
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("event %q: %v", sc.Text(), err)
			}
			events = append(events, e)
		}
	}
	slices.SortStableFunc(events, func(a, b routerEvent) int { return int(a.Seq - b.Seq) })
	return events
}

// checkConcurrentEvents checks capacity, exactly-once assignment and priority order.
func checkConcurrentEvents(t *testing.T, events []routerEvent) {
	assigned := map[string]routerEvent{}
	waited := map[string]routerEvent{}
	seqs := map[int64]bool{}
	for _, e := range events {
		if e.Kind == "release" {
			continue
		}
		if seqs[e.Seq] {
			t.Errorf("seq %d reported twice", e.Seq)
		}
		seqs[e.Seq] = true
		switch e.Kind {
		case "wait":
			waited[e.Ticket] = e
		case "route", "pull":
			if e.Load > e.Cap || e.Load < 1 {
				t.Errorf("%s to %s: load %d, capacity %d", e.Ticket, e.Agent, e.Load, e.Cap)
			}
			if prev, dup := assigned[e.Ticket]; dup {
				t.Errorf("%s assigned twice: seq %d to %s and seq %d to %s", e.Ticket, prev.Seq, prev.Agent, e.Seq, e.Agent)
			}
			assigned[e.Ticket] = e
		}
	}
	if len(assigned) != concTickets {
		t.Errorf("%d tickets assigned; want all %d", len(assigned), concTickets)
	}
	pulls := 0
	for _, e := range assigned {
		if e.Kind == "pull" {
			pulls++
		}
		for u, w := range waited {
			a, ok := assigned[u]
			inGroup := slices.Contains(w.Groups, e.Group)
			stillWaiting := w.Seq < e.Seq && (!ok || a.Seq > e.Seq)
			if u != e.Ticket && inGroup && stillWaiting && w.Score < e.Score {
				t.Errorf("%s (score %.0f) taken from %s at seq %d while %s (score %.0f) waited there since seq %d",
					e.Ticket, e.Score, e.Group, e.Seq, u, w.Score, w.Seq)
			}
		}
	}
	t.Logf("%d tickets waited, %d were pulled", len(waited), pulls)
	if len(waited) == 0 || pulls == 0 {
		t.Errorf("the run never queued a ticket (%d waited, %d pulls); the priority check saw nothing", len(waited), pulls)
	}
}

// checkFinalState compares Redis counters with the tickets the workers kept.
func checkFinalState(t *testing.T, r *RedisRouter, events []routerEvent) {
	ctx := t.Context()
	held := map[string]int{}
	for _, e := range events {
		switch e.Kind {
		case "route", "pull":
			held[e.Agent]++
		case "release":
			held[e.Agent]--
		}
	}
	groupLoad := map[string][2]int{}
	total := 0
	for i := range concAgents {
		id, c, groups := concAgent(i)
		load, capacity, err := r.AgentLoad(ctx, id)
		if err != nil || load != held[id] || capacity != c {
			t.Errorf("agent %s: load %d/%d (%v); want %d/%d", id, load, capacity, err, held[id], c)
		}
		total += held[id]
		for _, g := range groups {
			s := groupLoad[g]
			groupLoad[g] = [2]int{s[0] + held[id], s[1] + c}
		}
	}
	for g, want := range groupLoad {
		load, capacity, err := r.GroupLoad(ctx, g)
		depth, derr := r.QueueDepth(ctx, g)
		if err != nil || derr != nil || [2]int{load, capacity} != want || depth != 0 {
			t.Errorf("group %s: load %d/%d depth %d (%v, %v); want %v depth 0", g, load, capacity, depth, err, derr, want)
		}
	}
	n, err := r.rdb.HLen(ctx, r.tag+"asg").Result()
	if err != nil || int(n) != total || total != concTickets/200 {
		t.Errorf("assignments in Redis %d (%v), held by workers %d; want %d", n, err, total, concTickets/200)
	}
}

// concScore is ticket i's priority score under the default VIP boost.
func concScore(ticket string) float64 {
	n, _ := strconv.Atoi(ticket[1:])
	req := concTicket(n)
	return priorityScore(req.Deadline, req.VIPTier, 15*time.Minute)
}

// TestRouterConcurrencyHelper is one router process of TestRouterConcurrency; it skips
// unless started by it.
func TestRouterConcurrencyHelper(t *testing.T) {
	procEnv := os.Getenv(envRouterHelper)
	if procEnv == "" {
		t.Skip("helper process of TestRouterConcurrency")
	}
	proc, _ := strconv.Atoi(procEnv)
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv(envRouterAddr), PoolSize: 32})
	defer rdb.Close()
	w := &concWorker{t: t, ctx: t.Context(), proc: proc,
		r: NewRedisRouter(rdb, RouterOptions{Prefix: os.Getenv(envRouterPrefix)})}
	w.run()
	os.Stdout.Write(w.out.Bytes())
}

// concWorker routes its share of the tickets, churns its share of the agents and
// "works" every ticket it is handed for a few ms before releasing it.
type concWorker struct {
	t        *testing.T
	ctx      context.Context
	proc     int
	r        *RedisRouter
	mu       sync.Mutex
	out      bytes.Buffer
	inflight atomic.Int64
}

func (w *concWorker) run() {
	churnCtx, stopChurn := context.WithCancel(w.ctx)
	churned := make(chan struct{})
	go func() { w.churn(churnCtx); close(churned) }()
	const burst = 100 // tickets per process per burst: more than the 39 slots, so tickets queue
	for b := 0; b < concTickets; b += burst * concProcs {
		var wg sync.WaitGroup
		for lane := range 4 {
			wg.Go(func() {
				for i := b + w.proc + lane*concProcs; i < min(b+burst*concProcs, concTickets); i += 4 * concProcs {
					res, err := w.r.Route(w.ctx, concTicket(i))
					if err != nil {
						w.t.Errorf("route t%04d: %v", i, err)
						return
					}
					w.handle([]RouteResult{res})
				}
			})
		}
		wg.Wait()
		time.Sleep(20 * time.Millisecond)
	}
	stopChurn()
	<-churned
	w.drain()
}

// drain waits until both processes finished routing, no ticket waits and this
// process has no ticket in work.
func (w *concWorker) drain() {
	doneKey := w.r.tag + "test-done"
	if err := w.r.rdb.Incr(w.ctx, doneKey).Err(); err != nil {
		w.t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		done, _ := w.r.rdb.Get(w.ctx, doneKey).Int()
		waiting := int64(0)
		for g := range concGroups {
			n, err := w.r.QueueDepth(w.ctx, fmt.Sprintf("g%d", g))
			if err != nil {
				w.t.Fatal(err)
			}
			waiting += n
		}
		if done == concProcs && waiting == 0 && w.inflight.Load() == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.t.Errorf("process %d: tickets still waiting or in work after 15s", w.proc)
}

// churn takes this process's agents away or offline for a few ms and back online.
func (w *concWorker) churn(ctx context.Context) {
	rng := rand.New(rand.NewPCG(uint64(w.proc), 1))
	for ctx.Err() == nil {
		id, c, groups := concAgent(w.proc + concProcs*rng.IntN(concAgents/concProcs))
		status := AgentOffline
		if rng.IntN(2) == 0 {
			status = AgentAway
		}
		for _, st := range []AgentStatus{status, AgentOnline} {
			res, err := w.r.SetAgent(w.ctx, id, st, c, groups)
			if err != nil {
				w.t.Errorf("set agent %s %s: %v", id, st, err)
				return
			}
			if st != AgentOnline && len(res) > 0 {
				w.t.Errorf("agent %s going %s pulled %d tickets", id, st, len(res))
			}
			w.handle(res)
			time.Sleep(time.Duration(5+rng.IntN(10)) * time.Millisecond)
		}
	}
}

func (w *concWorker) handle(results []RouteResult) {
	for _, res := range results {
		if !res.Assigned {
			w.log("wait", res)
			continue
		}
		w.log(res.Reason, res)
		if concKept(res.TicketID) {
			continue
		}
		w.inflight.Add(1)
		go w.work(res)
	}
}

func (w *concWorker) work(res RouteResult) {
	defer w.inflight.Add(-1)
	time.Sleep(time.Duration(2+rand.IntN(5)) * time.Millisecond)
	pulled, err := w.r.Release(w.ctx, res.AgentID, res.TicketID)
	if err != nil {
		w.t.Errorf("release %s from %s: %v", res.TicketID, res.AgentID, err)
		return
	}
	w.log("release", RouteResult{TicketID: res.TicketID, AgentID: res.AgentID, GroupID: res.GroupID})
	w.handle(pulled)
}

func (w *concWorker) log(kind string, res RouteResult) {
	e := routerEvent{Seq: res.Seq, Kind: kind, Ticket: res.TicketID, Agent: res.AgentID, Group: res.GroupID,
		Load: res.Load, Cap: res.Capacity, Score: concScore(res.TicketID), Proc: w.proc}
	if kind == "wait" {
		n, _ := strconv.Atoi(res.TicketID[1:])
		for _, g := range concTicket(n).Groups {
			e.Groups = append(e.Groups, g.ID)
		}
	}
	line, _ := json.Marshal(e)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.out.Write(append(line, '\n'))
}

// routerTruth plays PostgreSQL in the recovery tests: it applies every router result
// and serves snapshots, counting how often one was taken.
type routerTruth struct {
	mu       sync.Mutex
	agents   map[string]RouterAgent
	waiting  map[string]RouterWaiting
	assigned map[string]string
	calls    atomic.Int64
	delay    time.Duration
}

func newRouterTruth() *routerTruth {
	return &routerTruth{agents: map[string]RouterAgent{}, waiting: map[string]RouterWaiting{}, assigned: map[string]string{}}
}

func (s *routerTruth) snapshot(context.Context) (RouterSnapshot, error) {
	s.calls.Add(1)
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	var snap RouterSnapshot
	for _, a := range s.agents {
		snap.Agents = append(snap.Agents, a)
	}
	for _, w := range s.waiting {
		snap.Waiting = append(snap.Waiting, w)
	}
	for tk, a := range s.assigned {
		snap.Assigned = append(snap.Assigned, RouterAssigned{TicketID: tk, AgentID: a})
	}
	return snap, nil
}

// apply records results; req describes a ticket left waiting by Route.
func (s *routerTruth) apply(req *RouteRequest, results ...RouteResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range results {
		if r.Assigned {
			delete(s.waiting, r.TicketID)
			s.assigned[r.TicketID] = r.AgentID
		} else if req != nil {
			s.waiting[r.TicketID] = RouterWaiting{TicketID: req.TicketID, Groups: req.Groups, VIPTier: req.VIPTier,
				CreatedAt: req.CreatedAt, Deadline: req.Deadline}
		}
	}
}

func TestRouterRecovery(t *testing.T) {
	srv := testenv.PrivateRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	ctx := t.Context()
	truth := newRouterTruth()
	r := NewRedisRouter(rdb, RouterOptions{Prefix: "rec", Snapshot: truth.snapshot})
	route := func(id string, due time.Duration) []RouteResult {
		req := RouteRequest{TicketID: id, Groups: candidates("g1"), CreatedAt: routerT0, Deadline: routerT0.Add(due)}
		res, err := r.Route(ctx, req)
		if err != nil {
			t.Fatalf("route %s: %v", id, err)
		}
		truth.apply(&req, res)
		return []RouteResult{res}
	}
	call := func(what string, res []RouteResult, err error) []RouteResult {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		truth.apply(nil, res...)
		return res
	}
	setAgent := func(id string) []RouteResult {
		truth.mu.Lock()
		truth.agents[id] = RouterAgent{ID: id, Status: AgentOnline, Capacity: 1, Groups: []string{"g1"}}
		truth.mu.Unlock()
		res, err := r.SetAgent(ctx, id, AgentOnline, 1, []string{"g1"})
		return call("set agent "+id, res, err)
	}
	release := func(agent, ticket string) []RouteResult {
		res, err := r.Release(ctx, agent, ticket)
		truth.mu.Lock()
		delete(truth.assigned, ticket)
		truth.mu.Unlock()
		return call("release "+ticket, res, err)
	}
	steps := []struct {
		name      string
		do        func() []RouteResult
		want      []string
		snapshots int64
	}{
		{"first call builds", func() []RouteResult { return setAgent("a1") }, nil, 1},
		{"a2", func() []RouteResult { return setAgent("a2") }, nil, 1},
		{"t1", func() []RouteResult { return route("t1", time.Hour) }, []string{"t1>a1@g1 1/1"}, 1},
		{"t2", func() []RouteResult { return route("t2", time.Hour) }, []string{"t2>a2@g1 1/1"}, 1},
		{"t3", func() []RouteResult { return route("t3", 30*time.Minute) }, []string{"t3 waits"}, 1},
		{"flushall", func() []RouteResult { rdb.FlushAll(ctx); return nil }, nil, 1},
		{"t4 after flush", func() []RouteResult { return route("t4", 45*time.Minute) }, []string{"t4 waits"}, 2},
		{"release pulls t3", func() []RouteResult { return release("a1", "t1") }, []string{"t3>a1@g1 1/1"}, 2},
		{"restart", func() []RouteResult { srv.Restart(t); return nil }, nil, 2},
		{"release after restart", func() []RouteResult { return release("a2", "t2") }, []string{"t4>a2@g1 1/1"}, 3},
		{"t5", func() []RouteResult { return route("t5", time.Hour) }, []string{"t5 waits"}, 3},
	}
	for _, s := range steps {
		got := who(s.do()...)
		if !slices.Equal(got, s.want) || truth.calls.Load() != s.snapshots {
			t.Errorf("%s: %v after %d snapshots; want %v after %d", s.name, got, truth.calls.Load(), s.want, s.snapshots)
		}
	}
	if n, err := r.QueueDepth(ctx, "g1"); n != 1 || err != nil {
		t.Errorf("queue depth %d (%v); want 1", n, err)
	}
}

func TestRouterRebuildRace(t *testing.T) {
	srv := testenv.PrivateRedis(t)
	ctx := t.Context()
	truth := newRouterTruth()
	truth.delay = 100 * time.Millisecond
	for i := range 4 {
		id := fmt.Sprintf("a%d", i)
		truth.agents[id] = RouterAgent{ID: id, Status: AgentOnline, Capacity: 10, Groups: []string{"g1"}}
	}
	var routers []*RedisRouter
	for range 2 { // two processes: own clients, same prefix
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
		defer rdb.Close()
		routers = append(routers, NewRedisRouter(rdb, RouterOptions{Prefix: "race", Snapshot: truth.snapshot}))
	}
	for round := range 2 { // a first build, then a rebuild after FLUSHALL
		if round == 1 {
			routers[0].rdb.FlushAll(ctx)
		}
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				req := RouteRequest{TicketID: fmt.Sprintf("t%d-%02d", round, i), Groups: candidates("g1")}
				res, err := routers[i%2].Route(ctx, req)
				if err != nil || !res.Assigned {
					t.Errorf("route %s during rebuild race: %+v, %v", req.TicketID, res, err)
				}
				truth.apply(&req, res)
			})
		}
		wg.Wait()
		load, capacity, err := routers[0].GroupLoad(ctx, "g1")
		if calls := truth.calls.Load(); calls != int64(round+1) || load != 16*(round+1) || capacity != 40 || err != nil {
			t.Errorf("round %d: %d snapshots, group load %d/%d (%v); want %d snapshots, %d/40",
				round, calls, load, capacity, err, round+1, 16*(round+1))
		}
	}
}
