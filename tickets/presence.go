package tickets

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Presence: an agent counts as connected while a heartbeat is fresh — the console's
// WebSocket sends one every third of the TTL, API-only agents call the REST heartbeat,
// and setting a status counts as one. The sweeper sets agents whose presence lapsed
// offline, in PostgreSQL and in the router, so nothing new is routed to an absent agent;
// the tickets they hold stay theirs. Presence lives in Redis under the router's hash tag
// ({P}:presence, a ZSET of agent → expiry in unix ms); an in-process Redis comes back
// empty after a restart, so every agent is offline until they reconnect.

// DefaultPresenceTTL is how long a heartbeat keeps an agent present when
// ServiceOptions.PresenceTTL is zero.
const DefaultPresenceTTL = time.Minute

// KeepPresent records a heartbeat of agentID: it counts as connected for PresenceTTL.
// It touches Redis only, so a socket may call it for any subject.
func (s *Directory) KeepPresent(ctx context.Context, agentID string) error {
	if err := s.Router.TouchPresence(ctx, agentID, s.Now().Add(s.PresenceTTL)); err != nil {
		return fmt.Errorf("presence of %s: %w", agentID, err)
	}
	return nil
}

// Heartbeat is the REST heartbeat of an API-only agent: KeepPresent, then the agent as
// stored (ErrNotFound when the subject is no agent).
func (s *Directory) Heartbeat(ctx context.Context, agentID string) (Agent, error) {
	a, err := s.store.GetAgent(ctx, agentID)
	if err != nil {
		return Agent{}, err
	}
	return a, s.KeepPresent(ctx, agentID)
}

// SignOut sets the agent offline and forgets its presence (the console calls it when
// the agent signs out); the tickets the agent holds stay theirs.
func (s *Directory) SignOut(ctx context.Context, agentID string) (Agent, error) {
	return s.SetAgentStatus(ctx, agentID, AgentOffline, -1)
}

// SweepPresence sets every agent who is online or away without a live presence
// offline, in PostgreSQL and in the router, and returns their ids. An agent whose
// status changes meanwhile is left alone. Idempotent; RunPresenceSweeper runs it on one
// replica at a time.
func (s *Directory) SweepPresence(ctx context.Context) ([]string, error) {
	// PostgreSQL first, then Redis: a status change touches presence before it writes,
	// so an agent going online now is either seen present or changed since our read.
	cands, err := s.store.presenceCandidates(ctx)
	if err != nil || len(cands) == 0 {
		return nil, err
	}
	present, err := s.Router.Present(ctx, s.Now())
	if err != nil {
		return nil, err
	}
	var lapsed []string
	for _, c := range cands {
		if present[c.ID] {
			continue
		}
		a, ok, err := s.store.lapseAgent(ctx, c)
		if err != nil {
			return lapsed, err
		}
		if !ok {
			continue
		}
		s.Metrics.PresenceLapsed.Inc()
		s.Log.InfoContext(ctx, "agent presence lapsed; set offline (held tickets stay theirs)", "agent", a.ID, "was", c.Status, "load", a.Load)
		lapsed = append(lapsed, a.ID)
		if err := s.syncAgent(ctx, a); err != nil {
			return lapsed, err
		}
	}
	return lapsed, nil
}

// RunPresenceSweeper sweeps every interval until ctx ends; of several replicas one
// sweeps per interval (a Redis lease).
func (s *Directory) RunPresenceSweeper(ctx context.Context, every time.Duration) {
	runLeased(ctx, s.Router, s.Log, "presence", every, func(ctx context.Context) error {
		_, err := s.SweepPresence(ctx)
		return err
	})
}

// presenceCandidate is an agent the sweeper may set offline, as it was read.
type presenceCandidate struct {
	ID        string
	Status    AgentStatus
	UpdatedAt time.Time
}

func (s *TicketRecords) presenceCandidates(ctx context.Context) ([]presenceCandidate, error) {
	rows, err := s.primary.Query(ctx, `SELECT id, status, updated_at FROM agents WHERE status <> 'offline' ORDER BY id`)
	if err != nil {
		return nil, mapPgErr(err, "agents")
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[presenceCandidate])
	return out, mapPgErr(err, "agents")
}

// lapseAgent sets c offline unless the agent changed since c was read (ok false).
func (s *TicketRecords) lapseAgent(ctx context.Context, c presenceCandidate) (Agent, bool, error) {
	a, err := scanAgent(s.primary.QueryRow(ctx, `WITH a AS (
			UPDATE agents SET status = 'offline', updated_at = now()
			WHERE id = $1 AND status = $2 AND updated_at = $3 RETURNING *)
		SELECT `+agentCols+` FROM a`, c.ID, c.Status, c.UpdatedAt))
	if errors.Is(err, pgx.ErrNoRows) {
		return Agent{}, false, nil
	}
	return a, err == nil, mapPgErr(err, "agent "+c.ID)
}

func (r *RedisRouter) presenceKey() string { return r.tag + "presence" }

// TouchPresence marks agentID as connected until until.
func (r *RedisRouter) TouchPresence(ctx context.Context, agentID string, until time.Time) error {
	return r.rdb.ZAdd(ctx, r.presenceKey(), redis.Z{Score: float64(until.UnixMilli()), Member: agentID}).Err()
}

// DropPresence forgets agentID's presence (sign-out).
func (r *RedisRouter) DropPresence(ctx context.Context, agentID string) error {
	return r.rdb.ZRem(ctx, r.presenceKey(), agentID).Err()
}

// Present returns the agents connected at now and forgets those whose presence lapsed.
func (r *RedisRouter) Present(ctx context.Context, now time.Time) (map[string]bool, error) {
	var live *redis.StringSliceCmd
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, r.presenceKey(), "-inf", strconv.FormatInt(now.UnixMilli(), 10))
		live = p.ZRange(ctx, r.presenceKey(), 0, -1)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("router presence: %w", err)
	}
	out := make(map[string]bool, len(live.Val()))
	for _, id := range live.Val() {
		out[id] = true
	}
	return out, nil
}
