package tickets

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// chainless hides the key ring's audit chain keys, so every audit append fails.
type chainless struct{ FieldCrypter }

// adminChanges are the audited admin changes, each with how to tell whether it landed.
func adminChanges(ts *testService) []struct {
	name   string
	change func(ctx context.Context) error
	landed func(ctx context.Context) bool
} {
	return []struct {
		name   string
		change func(ctx context.Context) error
		landed func(ctx context.Context) bool
	}{
		{"skill_group.put", func(ctx context.Context) error {
			_, err := ts.PutSkillGroup(ctx, "sam", SkillGroup{ID: "vip"})
			return err
		}, func(ctx context.Context) bool {
			g, _ := ts.store.SkillGroups(ctx)
			return len(g) == 2
		}},
		{"sla_policy.put", func(ctx context.Context) error {
			return ts.PutSLAPolicy(ctx, "sam", SLAPolicy{Priority: PriorityLow, FirstResponseMinutes: 7, ResolutionMinutes: 70})
		}, func(ctx context.Context) bool {
			p, _ := ts.store.SLAPolicies(ctx)
			return p[PriorityLow].FirstResponseMinutes == 7
		}},
		{"routing.weights", func(ctx context.Context) error {
			return ts.PutWeights(ctx, "sam", Weights{VIP: 1, Skill: 2, Load: 3, Wait: 4})
		}, func(ctx context.Context) bool {
			_, ok, _ := ts.store.RoutingWeights(ctx)
			return ok
		}},
		{"agent.put", func(ctx context.Context) error {
			_, err := ts.PutAgent(ctx, "sam", Agent{ID: "bob", Groups: []string{"support"}, Capacity: 2})
			return err
		}, func(ctx context.Context) bool {
			_, err := ts.store.GetAgent(ctx, "bob")
			return err == nil
		}},
		{"canned.put", func(ctx context.Context) error {
			_, err := ts.PutCanned(ctx, Actor{ID: "sam", Supervisor: true}, CannedResponse{Shortcut: "hi", Body: "Hi {{customer.name}}"}, true)
			return err
		}, func(ctx context.Context) bool {
			c, _ := ts.CannedResponses(ctx, "sam")
			return len(c) == 1
		}},
		{"agent.status", func(ctx context.Context) error {
			_, err := ts.SetAgentStatusBy(ctx, "alice", "alice", AgentOnline, 5)
			return err
		}, func(ctx context.Context) bool {
			a, _ := ts.store.GetAgent(ctx, "alice")
			return a.Status == AgentOnline && a.Capacity == 5
		}},
	}
}

// seedAdmin makes the group and agent the admin changes build on (unaudited).
func seedAdmin(t *testing.T, ts *testService) {
	t.Helper()
	ctx := context.Background()
	if err := ts.store.PutSkillGroup(ctx, SkillGroup{ID: "support", Name: "support"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.PutAgent(ctx, Agent{ID: "alice", Name: "alice", Groups: []string{"support"}, Capacity: 1}); err != nil {
		t.Fatal(err)
	}
}

// TestAdminChangesRollBackWhenTheAuditFails: an admin change whose audit event cannot
// be appended does not happen.
func TestAdminChangesRollBackWhenTheAuditFails(t *testing.T) {
	ts := newTestService(t)
	seedAdmin(t, ts)
	ts.store = NewStore(ts.store.Pool(), nil, chainless{testKeyRing(t)})
	ctx := context.Background()
	for _, c := range adminChanges(ts) {
		if err := c.change(ctx); err == nil {
			t.Errorf("%s: succeeded without its audit event", c.name)
		}
		if c.landed(ctx) {
			t.Errorf("%s: the change stayed although its audit event failed", c.name)
		}
	}
	if n, _ := ts.store.VerifyAudit(ctx); n != 0 {
		t.Errorf("%d audit events, want none", n)
	}
}

// TestAdminChangesAreAudited: each admin change leaves its audit event.
func TestAdminChangesAreAudited(t *testing.T) {
	ts := newTestService(t)
	seedAdmin(t, ts)
	ctx := context.Background()
	var want []string
	for _, c := range adminChanges(ts) {
		if err := c.change(ctx); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !c.landed(ctx) {
			t.Errorf("%s: the change did not land", c.name)
		}
		want = append(want, c.name)
	}
	events, err := ts.store.AuditLog(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, e.Action)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit actions (-want +got):\n%s", diff)
	}
	if _, err := ts.store.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
}
