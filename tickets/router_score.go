// This file holds the router's encodings: priority and breakdown values, the
// scripts' reply records, and how a snapshot is written into the scored Redis sets.

package tickets

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// priorityScore orders a group's waiting tickets (lower is served first): the SLA
// deadline in unix ms minus one VIPBoost per VIP tier. An earlier deadline, a higher
// tier and — since deadlines follow creation — a longer wait all lower it.
func priorityScore(deadline time.Time, vipTier int, boost time.Duration) float64 {
	return float64(deadline.UnixMilli() - int64(clampVIP(vipTier))*boost.Milliseconds())
}

// clampVIP keeps a VIP tier within 0..3, the range the score's vip/3 term assumes.
func clampVIP(tier int) int {
	return min(max(tier, 0), 3)
}

// fmtFloat renders a float so that Lua and Go parse back the same value.
func fmtFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "0"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// checkGroupID rejects ids the scripts cannot store in their comma-joined lists.
func checkGroupID(id string) error {
	if id == "" || strings.ContainsRune(id, ',') {
		return fmt.Errorf("group id %q: must be non-empty without commas: %w", id, ErrInvalid)
	}
	return nil
}

// uniqueGroups drops repeated group ids, keeping the first occurrence's position.
func uniqueGroups(groups []string) []string {
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// checkAgentID rejects ids the assignment records cannot hold.
func checkAgentID(id string) error {
	if id == "" || strings.ContainsRune(id, ',') {
		return fmt.Errorf("agent id %q: must be non-empty without commas: %w", id, ErrInvalid)
	}
	return nil
}

// parseBreakdown decodes the scripts' "vip,skill,load,wait,total,group_load,wV,wS,wL,wW".
// An empty string (an assignment restored from a snapshot) is a zero Breakdown.
func parseBreakdown(csv string) (Breakdown, error) {
	if csv == "" {
		return Breakdown{}, nil
	}
	parts := strings.Split(csv, ",")
	if len(parts) != 10 {
		return Breakdown{}, fmt.Errorf("breakdown %q: want 10 fields", csv)
	}
	var f [10]float64
	for i, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return Breakdown{}, fmt.Errorf("breakdown %q: %w", csv, err)
		}
		f[i] = v
	}
	return Breakdown{VIP: f[0], SkillMatch: f[1], Load: f[2], Wait: f[3], Total: f[4], GroupLoad: f[5],
		Weights: Weights{VIP: f[6], Skill: f[7], Load: f[8], Wait: f[9]}}, nil
}

// parseResults decodes script records of stride 8:
// kind, ticket, agent, group, load, cap, seq, breakdown.
func parseResults(res any) ([]RouteResult, error) {
	v, ok := res.([]any)
	if !ok || len(v)%8 != 0 {
		return nil, fmt.Errorf("unexpected reply %T", res)
	}
	out := make([]RouteResult, 0, len(v)/8)
	for i := 0; i < len(v); i += 8 {
		var f [8]string
		for j := range f {
			f[j] = replyString(v[i+j])
		}
		load, _ := strconv.Atoi(f[4])
		capacity, _ := strconv.Atoi(f[5])
		seq, _ := strconv.ParseInt(f[6], 10, 64)
		bd, err := parseBreakdown(f[7])
		if err != nil {
			return nil, err
		}
		out = append(out, RouteResult{Assigned: f[0] != "wait", Reason: f[0], TicketID: f[1], AgentID: f[2],
			GroupID: f[3], Load: load, Capacity: capacity, Seq: seq, Score: bd})
	}
	return out, nil
}

func replyString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	default:
		return fmt.Sprint(x)
	}
}

func (r *RedisRouter) writeAgents(b *rebuildBatch, snap RouterSnapshot) {
	ctx, tag := b.ctx, r.tag
	loads := make(map[string]int)
	for _, a := range snap.Assigned {
		loads[a.AgentID]++
	}
	sums := make(map[string][2]int)
	for _, a := range snap.Agents {
		load, groups := loads[a.ID], uniqueGroups(a.Groups)
		b.add(b.pipe.HSet(ctx, tag+"a:"+a.ID, "st", string(a.Status), "cap", a.Capacity, "load", load,
			"groups", strings.Join(groups, ",")))
		b.add(b.pipe.SAdd(ctx, tag+"agents", a.ID))
		for _, g := range groups {
			b.add(b.pipe.SAdd(ctx, tag+"groups", g))
			if a.Status != AgentOnline {
				continue
			}
			s := sums[g]
			sums[g] = [2]int{s[0] + load, s[1] + a.Capacity}
			if load < a.Capacity {
				b.add(b.pipe.ZAdd(ctx, tag+"avail:"+g, redis.Z{Score: float64(load) / float64(a.Capacity), Member: a.ID}))
			}
		}
	}
	for g, s := range sums {
		b.add(b.pipe.HSet(ctx, tag+"g:"+g, "load", s[0], "cap", s[1]))
	}
}

func (r *RedisRouter) writeWaiting(b *rebuildBatch, waiting []RouterWaiting) {
	ctx, tag := b.ctx, r.tag
	for _, w := range waiting {
		if len(w.Groups) == 0 {
			continue
		}
		created := w.CreatedAt
		if created.IsZero() {
			created = r.opts.Now()
		}
		deadline := w.Deadline
		if deadline.IsZero() {
			deadline = created.Add(24 * time.Hour)
		}
		ps := priorityScore(deadline, w.VIPTier, r.opts.VIPBoost)
		ids := make([]string, len(w.Groups))
		skills := make([]string, len(w.Groups))
		for i, g := range w.Groups {
			ids[i], skills[i] = g.ID, fmtFloat(g.SkillMatch)
			b.add(b.pipe.ZAdd(ctx, tag+"wait:"+g.ID, redis.Z{Score: ps, Member: w.TicketID}))
			b.add(b.pipe.SAdd(ctx, tag+"groups", g.ID))
		}
		b.add(b.pipe.HSet(ctx, tag+"t:"+w.TicketID, "v", clampVIP(w.VIPTier), "c", created.UnixMilli(),
			"g", strings.Join(ids, ","), "m", strings.Join(skills, ","), "ps", fmtFloat(ps)))
	}
}

// rebuildBatch sends a rebuild's writes in pipelined chunks and keeps the first error.
type rebuildBatch struct {
	ctx  context.Context
	pipe redis.Pipeliner
	n    int
	err  error
}

func (b *rebuildBatch) add(redis.Cmder) {
	b.n++
	if b.n >= 1000 {
		if err := b.flush(); err != nil && b.err == nil {
			b.err = err
		}
	}
}

func (b *rebuildBatch) flush() error {
	if b.n > 0 {
		_, err := b.pipe.Exec(b.ctx)
		b.n = 0
		if err != nil && b.err == nil {
			b.err = err
		}
	}
	return b.err
}

func validateSnapshot(snap RouterSnapshot) error {
	for _, a := range snap.Agents {
		if err := checkAgentID(a.ID); err != nil {
			return fmt.Errorf("router rebuild: %w", err)
		}
		for _, g := range a.Groups {
			if err := checkGroupID(g); err != nil {
				return fmt.Errorf("router rebuild: agent %s: %w", a.ID, err)
			}
		}
	}
	for _, a := range snap.Assigned {
		if err := checkAgentID(a.AgentID); err != nil {
			return fmt.Errorf("router rebuild: ticket %s: %w", a.TicketID, err)
		}
	}
	for _, w := range snap.Waiting {
		for _, g := range w.Groups {
			if err := checkGroupID(g.ID); err != nil {
				return fmt.Errorf("router rebuild: ticket %s: %w", w.TicketID, err)
			}
		}
	}
	return nil
}
