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
// ({P}:presence, a ZSET of agent → expiry in unix ms). A Redis that restarts empty (the
// in-process one, or a crash without persistence) has lost every heartbeat: presence
// counts from {P}:presence:since, written by the first heartbeat or sweep that finds it
// missing, and nobody lapses until a TTL after it — the time a console takes to send a
// heartbeat again — so a Redis outage does not set every agent offline.

// DefaultPresenceTTL is how long a heartbeat keeps an agent present when
// ServiceOptions.PresenceTTL is zero.
const DefaultPresenceTTL = time.Minute

// KeepPresent records a heartbeat of agentID: it counts as connected for PresenceTTL.
// It touches Redis only, so a socket may call it for any subject.
func (s *Directory) KeepPresent(ctx context.Context, agentID string) error {
	now := s.Now()
	if err := s.Router.TouchPresence(ctx, agentID, now, now.Add(s.PresenceTTL)); err != nil {
		return fmt.Errorf("presence of %s: %w", agentID, err)
	}
	return nil
}

// Heartbeat is the REST heartbeat of an API-only agent: KeepPresent, then the agent as
// stored (ErrNotFound when the subject is no agent). While Redis is unavailable the
// heartbeat is accepted unrecorded: no sweep can run without Redis, and once it is back
// presence gives every agent a TTL to send the next one.
func (s *Directory) Heartbeat(ctx context.Context, agentID string) (Agent, error) {
	a, err := s.store.GetAgent(ctx, agentID)
	if err != nil {
		return Agent{}, err
	}
	if err := s.KeepPresent(ctx, agentID); err != nil {
		if !IsUnavailable(err) {
			return a, err
		}
		s.Log.WarnContext(ctx, "heartbeat not recorded: Redis unavailable", "agent", agentID, "err", err)
	}
	return a, nil
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
	now := s.Now()
	since, err := s.Router.presenceSince(ctx, now)
	if err != nil {
		return nil, err
	}
	if now.Sub(since) < s.PresenceTTL {
		return nil, nil // presence is younger than a TTL (Redis restarted): heartbeats are still coming in
	}
	present, err := s.Router.Present(ctx, now)
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

// presenceSinceKey holds the unix ms from which presence is known (see above).
func (r *RedisRouter) presenceSinceKey() string { return r.tag + "presence:since" }

// TouchPresence marks agentID as connected until until; now starts presence when
// Redis had none.
func (r *RedisRouter) TouchPresence(ctx context.Context, agentID string, now, until time.Time) error {
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SetNX(ctx, r.presenceSinceKey(), now.UnixMilli(), 0)
		p.ZAdd(ctx, r.presenceKey(), redis.Z{Score: float64(until.UnixMilli()), Member: agentID})
		return nil
	})
	return err
}

// presenceSince returns when presence started to be known, starting it at now when
// Redis had no record of it.
func (r *RedisRouter) presenceSince(ctx context.Context, now time.Time) (time.Time, error) {
	var since *redis.StringCmd
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SetNX(ctx, r.presenceSinceKey(), now.UnixMilli(), 0)
		since = p.Get(ctx, r.presenceSinceKey())
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("router presence: %w", err)
	}
	ms, err := since.Int64()
	if err != nil {
		return time.Time{}, fmt.Errorf("router presence since %q: %w", since.Val(), err)
	}
	return time.UnixMilli(ms), nil
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
