package tickets

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Reconciliation (security review M8): a routing decision is made in Redis and then
// recorded in PostgreSQL. A crash between the two leaves Redis holding an assignment that
// PostgreSQL never saw — the agent's slot is taken and the ticket, open in PostgreSQL,
// waits in no queue. Reconcile compares the two periodically and, on any difference,
// rebuilds the routing state from PostgreSQL (the source of truth) and lets every free
// agent pull, which routes stranded tickets.

// Drift is one difference between the router's Redis state and PostgreSQL.
type Drift struct {
	// Kind is phantom_assignment (Redis assigns a ticket PostgreSQL does not),
	// missing_assignment, agent (status, capacity or groups differ), agent_load,
	// stranded_ticket (open in PostgreSQL, waiting nowhere), stale_wait (waiting in
	// Redis, not open in PostgreSQL), group_counter, or free_agent (an online agent with
	// a free slot missing from its group's free-agent set).
	Kind   string
	ID     string // the ticket, agent or group concerned
	Detail string
}

// ReconcileReport is what one Reconcile pass found and did.
type ReconcileReport struct {
	Drift   []Drift
	Rebuilt bool
	Pulled  int // tickets free agents pulled after the rebuild
}

const defaultReconcileSettle = 2 * time.Second

// Reconcile compares the routing state with PostgreSQL. Only a difference found again,
// unchanged, after ReconcileSettle counts (a decision in flight is recorded within
// milliseconds, and a busy system always has some); then it is counted and logged, the
// state is rebuilt from PostgreSQL, and every online agent with a free slot pulls
// waiting tickets.
func (s *Maintenance) Reconcile(ctx context.Context) (ReconcileReport, error) {
	first, err := s.routingDrift(ctx)
	if errors.Is(err, ErrNoState) {
		return s.restoreLost(ctx)
	}
	if err != nil || len(first) == 0 {
		return ReconcileReport{}, err
	}
	settle := s.ReconcileSettle
	if settle <= 0 {
		settle = defaultReconcileSettle
	}
	if err := sleepCtx(ctx, settle); err != nil {
		return ReconcileReport{}, err
	}
	again, err := s.routingDrift(ctx)
	if err != nil {
		return ReconcileReport{}, err
	}
	seen := make(map[Drift]bool, len(first))
	for _, d := range first {
		seen[d] = true
	}
	drift := slices.DeleteFunc(again, func(d Drift) bool { return !seen[d] })
	if len(drift) == 0 {
		return ReconcileReport{}, nil
	}
	s.logDrift(ctx, drift)
	// The state is dropped first and rebuilt from PostgreSQL read under the rebuild
	// lock: a snapshot read while routing goes on would put back what replicas decided
	// or released between the read and the rebuild.
	if err := s.Router.Invalidate(ctx); err != nil {
		return ReconcileReport{Drift: drift}, err
	}
	snap, rebuilt, err := s.Router.restoreFrom(ctx, s.Snapshot)
	if err == nil && !rebuilt { // a routing call rebuilt it first
		snap, err = s.Snapshot(ctx)
	}
	if err != nil {
		return ReconcileReport{Drift: drift}, err
	}
	pulled, err := s.pullFree(ctx, snap)
	return ReconcileReport{Drift: drift, Rebuilt: true, Pulled: pulled}, err
}

// restoreLost rebuilds a routing state Redis lost (a restart without persistence, a
// flush) from PostgreSQL, unless another process did first, and lets every free agent
// pull: tickets opened while Redis was away wait in PostgreSQL only, and no routing
// call would otherwise hand them to an agent who is already free.
func (s *Maintenance) restoreLost(ctx context.Context) (ReconcileReport, error) {
	snap, rebuilt, err := s.Router.restoreFrom(ctx, s.Snapshot)
	if err != nil {
		return ReconcileReport{}, err
	}
	if rebuilt {
		s.Log.WarnContext(ctx, "routing state was lost (Redis restarted or flushed); rebuilt from PostgreSQL",
			"waiting", len(snap.Waiting), "assigned", len(snap.Assigned))
	} else if snap, err = s.Snapshot(ctx); err != nil {
		return ReconcileReport{}, err
	}
	pulled, err := s.pullFree(ctx, snap)
	return ReconcileReport{Rebuilt: rebuilt, Pulled: pulled}, err
}

// recoveryRetry is how soon the reconciler tries again while a routing step of this
// process could not reach Redis.
const recoveryRetry = time.Second

// routingRecovery counts the routing steps of this process that could not reach Redis
// (a ticket left unrouted, a slot not freed, an invalidation of the routing state or of
// a cached ticket not written); the reconciler repairs them as soon as Redis answers
// again instead of at its next interval.
type routingRecovery struct {
	losses atomic.Uint64
	wake   chan struct{}
}

func newRoutingRecovery() *routingRecovery { return &routingRecovery{wake: make(chan struct{}, 1)} }

// lost records a routing step that could not reach Redis and wakes the reconciler.
func (r *routingRecovery) lost() {
	r.losses.Add(1)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// RunReconciler reconciles every interval until ctx ends; of several replicas one
// reconciles per interval (a Redis lease). After a routing step here could not reach
// Redis it reconciles every recoveryRetry, without the lease (this process alone knows
// what it left undone), until a pass succeeds: then the tickets opened meanwhile are
// routed and the slots freed meanwhile are given back.
func (s *Maintenance) RunReconciler(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var repaired uint64 // losses repaired so far
	waiting := false    // a recovery pass failed: Redis is still away
	for {
		var err error
		if lost := s.recovery.losses.Load(); lost != repaired {
			if err = s.recoverRouting(ctx); err == nil {
				repaired = lost
				if waiting {
					s.Log.InfoContext(ctx, "routing recovered: Redis answers again")
				}
			}
			if err != nil && !waiting && ctx.Err() == nil {
				s.Log.WarnContext(ctx, "routing recovery waits for Redis; retrying every second", "err", err)
			}
			waiting = err != nil
		} else {
			var ok bool
			// Held a little less than the interval, so the next tick (here or elsewhere) finds it free.
			if ok, err = s.Router.lease(ctx, "reconcile", max(every*9/10, time.Millisecond)); err == nil && ok {
				_, err = s.Reconcile(ctx)
			}
			if err != nil && ctx.Err() == nil {
				s.Log.ErrorContext(ctx, "routing reconcile sweep", "err", err)
			}
		}
		var retry <-chan time.Time
		if s.recovery.losses.Load() != repaired {
			retry = time.After(recoveryRetry)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-retry:
		case <-s.recovery.wake:
		}
	}
}

// recoverRouting writes the ticket-cache invalidations Redis did not take, reconciles
// at once and lets every free agent pull: a reconcile that finds no difference does
// not pull, yet a state rebuilt by a routing call after Redis came back holds the
// tickets opened while it was away in wait sets beside free agents. (Pulling again
// after a pass that pulled finds nothing more.)
func (s *Maintenance) recoverRouting(ctx context.Context) error {
	if s.Cache != nil {
		if err := s.Cache.RetryInvalidations(ctx); err != nil {
			return err
		}
	}
	if _, err := s.Reconcile(ctx); err != nil {
		return err
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		return err
	}
	_, err = s.pullFree(ctx, snap)
	return err
}

// routingDrift compares the router's state with PostgreSQL; ErrNoState when Redis has
// none.
func (s *Maintenance) routingDrift(ctx context.Context) ([]Drift, error) {
	snap, err := s.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.Router.dump(ctx)
	if err != nil {
		return nil, err
	}
	return diffRouting(snap, st), nil
}

// logDrift counts every difference by kind and logs them (ids only, at most 20 lines).
func (s *Maintenance) logDrift(ctx context.Context, drift []Drift) {
	kinds := map[string]int{}
	for i, d := range drift {
		kinds[d.Kind]++
		s.Metrics.ReconcileFixes.WithLabelValues(d.Kind).Inc()
		if i < 20 {
			s.Log.WarnContext(ctx, "routing state differs from PostgreSQL", "kind", d.Kind, "id", d.ID, "detail", d.Detail)
		}
	}
	s.Log.WarnContext(ctx, "rebuilding the routing state from PostgreSQL", "differences", len(drift), "kinds", kinds)
}

// pullFree lets every online agent with a free slot pull waiting tickets and records
// what they pulled.
func (s *Maintenance) pullFree(ctx context.Context, snap RouterSnapshot) (int, error) {
	loads := map[string]int{}
	for _, a := range snap.Assigned {
		loads[a.AgentID]++
	}
	n := 0
	for _, a := range snap.Agents {
		if a.Status != AgentOnline || loads[a.ID] >= a.Capacity {
			continue
		}
		pulled, err := s.Router.SetAgent(ctx, a.ID, a.Status, a.Capacity, a.Groups)
		if err != nil {
			return n, fmt.Errorf("router: %w", err)
		}
		s.applyPulled(ctx, pulled)
		n += len(pulled)
	}
	return n, nil
}

// routerAgentState is an agent as the router holds it.
type routerAgentState struct {
	status         AgentStatus
	capacity, load int
	groups         string // comma-joined, in order
}

// routerState is the router's Redis state as dump reads it.
type routerState struct {
	agents   map[string]routerAgentState
	assigned map[string]string          // ticket → agent
	waiting  map[string]bool            // tickets in at least one wait set
	avail    map[string]map[string]bool // group → agents in its free-agent set
	counters map[string][2]int          // group → load, capacity
}

// dump reads the routing state in two pipelined round trips of plain reads rather than
// one script, so Redis keeps serving routing decisions between them (a script over a
// large state would hold it for milliseconds). The reads are not one atomic snapshot:
// Reconcile only believes differences it finds twice.
func (r *RedisRouter) dump(ctx context.Context) (routerState, error) {
	st := routerState{agents: map[string]routerAgentState{}, assigned: map[string]string{}, waiting: map[string]bool{},
		avail: map[string]map[string]bool{}, counters: map[string][2]int{}}
	pipe := r.rdb.Pipeline()
	epoch := pipe.Exists(ctx, r.epoch)
	agents, groups := pipe.SMembers(ctx, r.tag+"agents"), pipe.SMembers(ctx, r.tag+"groups")
	asg := pipe.HGetAll(ctx, r.tag+"asg")
	if _, err := pipe.Exec(ctx); err != nil {
		return st, fmt.Errorf("router dump: %w", err)
	}
	if epoch.Val() == 0 {
		return st, fmt.Errorf("router dump: %w", ErrNoState)
	}
	for t, rec := range asg.Val() {
		st.assigned[t], _, _ = strings.Cut(rec, ",")
	}
	pipe = r.rdb.Pipeline()
	agentCmds := make(map[string]*redis.SliceCmd, len(agents.Val()))
	for _, id := range agents.Val() {
		agentCmds[id] = pipe.HMGet(ctx, r.tag+"a:"+id, "st", "cap", "load", "groups")
	}
	type groupCmds struct {
		wait, avail *redis.StringSliceCmd
		counter     *redis.SliceCmd
	}
	groupCmd := make(map[string]groupCmds, len(groups.Val()))
	for _, g := range groups.Val() {
		groupCmd[g] = groupCmds{pipe.ZRange(ctx, r.tag+"wait:"+g, 0, -1), pipe.ZRange(ctx, r.tag+"avail:"+g, 0, -1),
			pipe.HMGet(ctx, r.tag+"g:"+g, "load", "cap")}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return st, fmt.Errorf("router dump: %w", err)
	}
	for id, c := range agentCmds {
		v := c.Val()
		if len(v) == 4 && v[0] != nil {
			st.agents[id] = routerAgentState{status: AgentStatus(field(v[0])), capacity: atoi(field(v[1])),
				load: atoi(field(v[2])), groups: field(v[3])}
		}
	}
	for g, c := range groupCmd {
		for _, t := range c.wait.Val() {
			st.waiting[t] = true
		}
		for _, a := range c.avail.Val() {
			if st.avail[g] == nil {
				st.avail[g] = map[string]bool{}
			}
			st.avail[g][a] = true
		}
		if v := c.counter.Val(); len(v) == 2 {
			st.counters[g] = [2]int{atoi(field(v[0])), atoi(field(v[1]))}
		}
	}
	return st, nil
}

// field is an HMGET value as a string ("" when the field is missing).
func field(v any) string {
	s, _ := v.(string)
	return s
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// diffRouting lists how st differs from what a rebuild from snap would write, sorted.
func diffRouting(snap RouterSnapshot, st routerState) []Drift {
	var out []Drift
	add := func(kind, id, format string, args ...any) {
		out = append(out, Drift{Kind: kind, ID: id, Detail: fmt.Sprintf(format, args...)})
	}
	assigned, loads := map[string]string{}, map[string]int{}
	for _, a := range snap.Assigned {
		assigned[a.TicketID] = a.AgentID
		loads[a.AgentID]++
	}
	for t, ag := range st.assigned {
		if assigned[t] != ag {
			add("phantom_assignment", t, "redis assigns it to %s, postgres to %q", ag, assigned[t])
		}
	}
	for t, ag := range assigned {
		if _, ok := st.assigned[t]; !ok {
			add("missing_assignment", t, "postgres assigns it to %s, redis to nobody", ag)
		}
	}
	waiting := map[string]bool{}
	for _, w := range snap.Waiting {
		if len(w.Groups) == 0 {
			continue // no skill group exists: it waits for one to be created
		}
		waiting[w.TicketID] = true
		if !st.waiting[w.TicketID] {
			add("stranded_ticket", w.TicketID, "open in postgres, in no wait set")
		}
	}
	for t := range st.waiting {
		if !waiting[t] {
			add("stale_wait", t, "waiting in redis, not open in postgres")
		}
	}
	diffAgents(snap, st, loads, add)
	slices.SortFunc(out, func(a, b Drift) int {
		return strings.Compare(a.Kind+"\x00"+a.ID, b.Kind+"\x00"+b.ID)
	})
	return out
}

func diffAgents(snap RouterSnapshot, st routerState, loads map[string]int, add func(kind, id, format string, args ...any)) {
	known := map[string]bool{}
	sums := map[string][2]int{}
	for _, a := range snap.Agents {
		known[a.ID] = true
		want := routerAgentState{status: a.Status, capacity: a.Capacity, load: loads[a.ID],
			groups: strings.Join(uniqueGroups(a.Groups), ",")}
		got, ok := st.agents[a.ID]
		switch {
		case !ok:
			add("agent", a.ID, "missing in redis")
		case got.status != want.status || got.capacity != want.capacity || got.groups != want.groups:
			add("agent", a.ID, "redis %s %d [%s], postgres %s %d [%s]", got.status, got.capacity, got.groups,
				want.status, want.capacity, want.groups)
		}
		if ok && got.load != want.load {
			add("agent_load", a.ID, "redis %d, postgres %d", got.load, want.load)
		}
		if a.Status != AgentOnline {
			continue
		}
		for _, g := range uniqueGroups(a.Groups) {
			sums[g] = [2]int{sums[g][0] + want.load, sums[g][1] + a.Capacity}
			if want.load < a.Capacity && !st.avail[g][a.ID] {
				add("free_agent", a.ID, "free in %s but not offered there", g)
			}
		}
	}
	for id := range st.agents {
		if !known[id] {
			add("agent", id, "in redis, not in postgres")
		}
	}
	groups := maps.Clone(sums)
	maps.Copy(groups, st.counters)
	for g := range groups {
		if sums[g] != st.counters[g] {
			add("group_counter", g, "redis load/capacity %v, postgres %v", st.counters[g], sums[g])
		}
	}
}
