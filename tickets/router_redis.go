package tickets

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key layout. Every key of one router carries the same hash tag {<prefix>}, so every
// script touches a single slot and runs unchanged on Redis Cluster. The trade-off: one
// router's whole routing domain lives on one shard (one CPU on one node); deployments
// that outgrow it run several routers with different prefixes (e.g. per region).
//
//	{P}:epoch         exists once state is built; scripts answer NOSTATE without it
//	{P}:rebuild       short-lived SET NX lock held by the process rebuilding the state
//	{P}:stale         set by Invalidate until the next rebuild (a routine rebuild, not a loss)
//	{P}:a:<agent>     hash st, cap, load, groups (comma-joined)
//	{P}:avail:<group> ZSET of online agents with a free slot, scored by load/cap
//	{P}:g:<group>     hash load, cap summed over the group's online agents
//	{P}:wait:<group>  ZSET of waiting tickets scored by priority score (lower first)
//	{P}:t:<ticket>    hash of a waiting ticket: vip, created, groups, skill matches, priority score
//	{P}:asg           hash ticket → "agent,group,seq,<breakdown>" (a ticket holds one slot at most)
//	{P}:seq           event counter returned with every assign/enqueue
//	{P}:presence      ZSET agent → unix ms until which the agent counts as connected (presence.go)
//	{P}:lease:<name>  short-lived SET NX lease of the one process running a sweep (presence, reconcile)
//	{P}:agents, {P}:groups  sets of ids, so a rebuild can delete everything
//
// Scripts get {P}:epoch as their only KEYS entry — enough for go-redis to send them to
// the node owning the slot — and derive the other names from the prefix; Redis Cluster
// accepts that because every key they touch hashes to that same slot. Ties in the
// ZSETs fall to the member id (least-loaded agents and equal priority scores).
//
//go:embed router_lua/*.lua
var routerLua embed.FS

var (
	scriptRoute    = loadRouterScript("route.lua")
	scriptRelease  = loadRouterScript("release.lua")
	scriptSetAgent = loadRouterScript("set_agent.lua")
	scriptClaim    = loadRouterScript("claim.lua")
	scriptCanClaim = loadRouterScript("claimable.lua")
	scriptAssignTo = loadRouterScript("assign_to.lua")
	scriptForget   = loadRouterScript("forget.lua")
	scriptRead     = loadRouterScript("read.lua")
	scriptWipe     = loadRouterScript("wipe.lua")
	scriptUnlock   = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)
)

func loadRouterScript(name string) *redis.Script {
	common, err := routerLua.ReadFile("router_lua/common.lua")
	if err != nil {
		panic(err)
	}
	body, err := routerLua.ReadFile("router_lua/" + name)
	if err != nil {
		panic(err)
	}
	return redis.NewScript(string(common) + "\n" + string(body))
}

// RouterOptions configure a RedisRouter; zero fields take the documented defaults.
type RouterOptions struct {
	Prefix       string                                            // key prefix and hash tag; default "sb"
	Weights      Weights                                           // default DefaultWeights()
	VIPBoost     time.Duration                                     // priority-score bonus per VIP tier; default 15m
	AgingHorizon time.Duration                                     // waiting time at which aging reaches 1; default 30m
	Now          func() time.Time                                  // default time.Now
	Snapshot     func(ctx context.Context) (RouterSnapshot, error) // rebuild source (PostgreSQL); may be nil
	Logger       *slog.Logger                                      // default discards

	// ClaimOverflow is how many tickets beyond its capacity an agent may take by an
	// explicit Claim; automatic routing and pulls never exceed the capacity. 0: none.
	ClaimOverflow int
}

// GroupCandidate is a skill group eligible for a ticket and how well it matches (0..1).
type GroupCandidate struct {
	ID         string
	SkillMatch float64
}

// RouteRequest asks the router to place one ticket. Waiting order comes from Deadline
// (the SLA due time, which already reflects Priority) and VIPTier; a zero Deadline
// counts as CreatedAt + 24h (the store's default when no SLA applies).
type RouteRequest struct {
	TicketID  string
	Groups    []GroupCandidate
	VIPTier   int
	Priority  Priority
	CreatedAt time.Time
	Deadline  time.Time
}

// RouteResult is one routing event: an assignment (Assigned) or a ticket left waiting.
// Reason is "route", "pull", "claim" or "transfer" for assignments, "wait" otherwise.
type RouteResult struct {
	Assigned bool
	TicketID string
	AgentID  string
	GroupID  string
	Load     int
	Capacity int
	Seq      int64
	Reason   string
	Score    Breakdown
}

// RouterSnapshot is the state a router rebuilds from (read from PostgreSQL).
type RouterSnapshot struct {
	Agents   []RouterAgent
	Waiting  []RouterWaiting
	Assigned []RouterAssigned
}

// RouterAgent is an agent's presence, capacity and groups in a snapshot.
type RouterAgent struct {
	ID       string
	Status   AgentStatus
	Capacity int
	Groups   []string
}

// RouterWaiting is a ticket waiting for an agent in a snapshot.
type RouterWaiting struct {
	TicketID  string
	Groups    []GroupCandidate
	VIPTier   int
	CreatedAt time.Time
	Deadline  time.Time
}

// RouterAssigned is a ticket holding one of an agent's slots in a snapshot.
type RouterAssigned struct {
	TicketID string
	AgentID  string
}

// RedisRouter is the weighted router of docs/architecture.md ("Routing"): its state lives in Redis and each
// decision is one Lua script (one round trip), so several processes share it safely.
type RedisRouter struct {
	rdb     redis.UniversalClient
	opts    RouterOptions
	weights atomic.Pointer[routerWeights]
	tag     string // "{prefix}:"
	epoch   string
	lock    string
}

// NewRedisRouter returns a router over rdb (standalone, Cluster or miniredis).
func NewRedisRouter(rdb redis.UniversalClient, opts RouterOptions) *RedisRouter {
	if opts.Prefix == "" {
		opts.Prefix = "sb"
	}
	if opts.Weights == (Weights{}) {
		opts.Weights = DefaultWeights()
	}
	if opts.VIPBoost == 0 {
		opts.VIPBoost = 15 * time.Minute
	}
	if opts.AgingHorizon == 0 {
		opts.AgingHorizon = 30 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	tag := "{" + opts.Prefix + "}:"
	r := &RedisRouter{rdb: rdb, opts: opts, tag: tag, epoch: tag + "epoch", lock: tag + "rebuild"}
	r.SetWeights(opts.Weights)
	return r
}

// routerWeights keeps the weights with their script arguments formatted once.
type routerWeights struct {
	w    Weights
	args [4]string
}

// SetWeights replaces the score weights used by later decisions; safe for concurrent use.
func (r *RedisRouter) SetWeights(w Weights) {
	r.weights.Store(&routerWeights{w: w, args: [4]string{fmtFloat(w.VIP), fmtFloat(w.Skill), fmtFloat(w.Load), fmtFloat(w.Wait)}})
}

// Weights returns the current score weights.
func (r *RedisRouter) Weights() Weights { return r.weights.Load().w }

// Route assigns a ticket to the least-loaded free agent of its best-scoring group, or
// leaves it waiting in every candidate group. Routing an assigned ticket again returns
// that assignment; routing a waiting ticket again re-queues it with the new request.
func (r *RedisRouter) Route(ctx context.Context, req RouteRequest) (RouteResult, error) {
	if req.TicketID == "" || len(req.Groups) == 0 {
		return RouteResult{}, fmt.Errorf("route: ticket id and at least one group required: %w", ErrInvalid)
	}
	created := req.CreatedAt
	if created.IsZero() {
		created = r.opts.Now()
	}
	deadline := req.Deadline
	if deadline.IsZero() {
		deadline = created.Add(24 * time.Hour)
	}
	args := []any{req.TicketID, clampVIP(req.VIPTier), created.UnixMilli(),
		fmtFloat(priorityScore(deadline, req.VIPTier, r.opts.VIPBoost))}
	for i, g := range req.Groups {
		if err := checkGroupID(g.ID); err != nil {
			return RouteResult{}, fmt.Errorf("route %s: %w", req.TicketID, err)
		}
		if !slices.ContainsFunc(req.Groups[:i], func(p GroupCandidate) bool { return p.ID == g.ID }) {
			args = append(args, g.ID, fmtFloat(g.SkillMatch))
		}
	}
	return r.one(ctx, "route", scriptRoute, args...)
}

// SetAgent records an agent's presence, capacity and groups. Going online, raising the
// capacity or joining groups pulls waiting tickets into free slots; those are returned.
func (r *RedisRouter) SetAgent(ctx context.Context, agentID string, status AgentStatus, capacity int, groups []string) ([]RouteResult, error) {
	if err := checkAgentID(agentID); err != nil || !status.Valid() || capacity < 0 {
		return nil, fmt.Errorf("set agent %q: id without commas, status and capacity ≥ 0 required: %w", agentID, ErrInvalid)
	}
	for _, g := range groups {
		if err := checkGroupID(g); err != nil {
			return nil, fmt.Errorf("set agent %s: %w", agentID, err)
		}
	}
	groups = uniqueGroups(groups)
	return r.many(ctx, "set agent", scriptSetAgent, agentID, string(status), capacity, strings.Join(groups, ","))
}

// Release frees the slot ticketID holds on agentID and, in the same atomic step, pulls
// the best waiting tickets of the agent's groups into it (none when the agent is not
// online). A ticket not assigned to that agent is ErrNotFound.
func (r *RedisRouter) Release(ctx context.Context, agentID, ticketID string) ([]RouteResult, error) {
	return r.many(ctx, "release", scriptRelease, agentID, ticketID)
}

// Claim lets an agent take a specific waiting ticket, even at capacity: up to
// ClaimOverflow tickets beyond it. ErrNoCapacity when the agent is not online or holds
// capacity + ClaimOverflow tickets, ErrNotFound when the ticket is not waiting,
// ErrConflict when it is assigned to someone else, ErrForbidden when the agent is in
// none of its groups. Claiming a ticket the agent already holds returns that assignment.
func (r *RedisRouter) Claim(ctx context.Context, agentID, ticketID string) (RouteResult, error) {
	return r.one(ctx, "claim", scriptClaim, agentID, ticketID, max(r.opts.ClaimOverflow, 0))
}

// Claimable reports for each ticket whether Claim by agentID would succeed now: the
// ticket waits in one of the agent's groups and the agent is online with room for a
// claim. Unknown agents and tickets are simply not claimable.
func (r *RedisRouter) Claimable(ctx context.Context, agentID string, ticketIDs []string) ([]bool, error) {
	out := make([]bool, len(ticketIDs))
	if len(ticketIDs) == 0 {
		return out, nil
	}
	args := make([]any, 0, 2+len(ticketIDs))
	args = append(args, agentID, max(r.opts.ClaimOverflow, 0))
	for _, id := range ticketIDs {
		args = append(args, id)
	}
	res, err := r.eval(ctx, "claimable", scriptCanClaim, args...)
	if err != nil {
		return nil, err
	}
	v, ok := res.([]any)
	if !ok || len(v) != len(ticketIDs) {
		return nil, fmt.Errorf("router claimable: unexpected reply %T", res)
	}
	for i, x := range v {
		n, _ := x.(int64)
		out[i] = n == 1
	}
	return out, nil
}

// AssignTo assigns a ticket directly to an agent via groupID (empty: the agent's first
// group), e.g. on transfer after the previous holder released it. ErrNoCapacity when
// the agent is full or not online; ErrConflict when another agent holds the ticket.
func (r *RedisRouter) AssignTo(ctx context.Context, agentID, ticketID, groupID string) (RouteResult, error) {
	if groupID != "" {
		if err := checkGroupID(groupID); err != nil {
			return RouteResult{}, fmt.Errorf("assign %s: %w", ticketID, err)
		}
	}
	return r.one(ctx, "assign", scriptAssignTo, agentID, ticketID, groupID)
}

// Forget drops a waiting ticket from every wait set; unknown tickets are a no-op and an
// assigned ticket is ErrConflict (release it instead).
func (r *RedisRouter) Forget(ctx context.Context, ticketID string) error {
	_, err := r.eval(ctx, "forget", scriptForget, ticketID)
	return err
}

// QueueDepth is the number of tickets waiting in a group.
func (r *RedisRouter) QueueDepth(ctx context.Context, groupID string) (int64, error) {
	n, _, err := r.read(ctx, "q", groupID)
	return int64(n), err
}

// GroupLoad sums load and capacity over a group's online agents.
func (r *RedisRouter) GroupLoad(ctx context.Context, groupID string) (load, capacity int, err error) {
	return r.read(ctx, "g", groupID)
}

// AgentLoad is an agent's current load and capacity; ErrNotFound for unknown agents.
func (r *RedisRouter) AgentLoad(ctx context.Context, agentID string) (load, capacity int, err error) {
	return r.read(ctx, "a", agentID)
}

func (r *RedisRouter) read(ctx context.Context, kind, id string) (int, int, error) {
	res, err := r.eval(ctx, "read", scriptRead, kind, id)
	if err != nil {
		return 0, 0, err
	}
	v, ok := res.([]any)
	if !ok || len(v) != 2 {
		return 0, 0, fmt.Errorf("router read: unexpected reply %T", res)
	}
	a, _ := v[0].(int64)
	b, _ := v[1].(int64)
	return int(a), int(b), nil
}

func (r *RedisRouter) one(ctx context.Context, op string, s *redis.Script, args ...any) (RouteResult, error) {
	res, err := r.many(ctx, op, s, args...)
	if err != nil {
		return RouteResult{}, err
	}
	if len(res) != 1 {
		return RouteResult{}, fmt.Errorf("router %s: %d results, want 1", op, len(res))
	}
	return res[0], nil
}

func (r *RedisRouter) many(ctx context.Context, op string, s *redis.Script, args ...any) ([]RouteResult, error) {
	res, err := r.eval(ctx, op, s, args...)
	if err != nil {
		return nil, err
	}
	out, err := parseResults(res)
	if err != nil {
		return nil, fmt.Errorf("router %s: %w", op, err)
	}
	return out, nil
}

// eval runs a script with the common header; on NOSTATE it rebuilds from
// opts.Snapshot (when set) and retries once.
func (r *RedisRouter) eval(ctx context.Context, op string, s *redis.Script, args ...any) (any, error) {
	res, err := r.evalOnce(ctx, s, args)
	if errors.Is(err, ErrNoState) && r.opts.Snapshot != nil {
		r.logRebuild(ctx, op)
		if rerr := r.recoverState(ctx); rerr != nil {
			return nil, fmt.Errorf("router %s: %w", op, rerr)
		}
		res, err = r.evalOnce(ctx, s, args)
	}
	if err != nil {
		return nil, fmt.Errorf("router %s: %w", op, err)
	}
	return res, nil
}

func (r *RedisRouter) evalOnce(ctx context.Context, s *redis.Script, args []any) (any, error) {
	w := r.weights.Load()
	full := make([]any, 0, 7+len(args))
	full = append(full, r.tag, r.opts.Now().UnixMilli(), w.args[0], w.args[1], w.args[2], w.args[3],
		r.opts.AgingHorizon.Milliseconds())
	full = append(full, args...)
	res, err := s.Run(ctx, r.rdb, []string{r.epoch}, full...).Result()
	return res, mapScriptErr(err)
}

// mapScriptErr turns the scripts' error codes into the package sentinels.
func mapScriptErr(err error) error {
	var rerr redis.Error
	if err == nil || !errors.As(err, &rerr) {
		return err
	}
	msg := rerr.Error()
	for code, sentinel := range map[string]error{
		"NOSTATE": ErrNoState, "NOTFOUND": ErrNotFound, "CONFLICT": ErrConflict,
		"NOCAPACITY": ErrNoCapacity, "FORBIDDEN": ErrForbidden,
	} {
		if strings.HasPrefix(msg, code+" ") {
			return fmt.Errorf("%s: %w", strings.TrimPrefix(msg, code+" "), sentinel)
		}
	}
	return err
}
