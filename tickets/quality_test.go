package tickets

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeInspector scores a reply 100, less 30 for a digit (standing in for a phone
// number), and records what it was asked.
type fakeInspector struct {
	mu    sync.Mutex
	asked []string
	fail  bool
}

func (f *fakeInspector) InspectReply(_ context.Context, group, text string, pos ReplyPosition) (ReplyQuality, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, group+"|"+text+"|"+string(pos))
	if f.fail {
		return ReplyQuality{}, errors.New("inspector down")
	}
	if strings.ContainsAny(text, "0123456789") {
		return ReplyQuality{Score: 70, Findings: []QualityFinding{{Check: "pii", Kind: "PHONE"}}}, nil
	}
	return ReplyQuality{Score: 100}, nil
}

// TestAgentRepliesAreInspected: every reply an agent sends is scored under its ticket's
// group — the first as first, later ones as middle — on the text the customer got (not
// the redacted copy), and stored without the data; an inspection that fails leaves
// the reply sent and is counted.
func TestAgentRepliesAreInspected(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	insp := &fakeInspector{}
	ts.Inspector = insp
	ctx := context.Background()
	tk := createFor(t, ts, "c1", "alice", "billing")
	alice := Actor{ID: "alice"}
	_, m1, err := ts.Reply(ctx, alice, tk.ID, "Hello! I will call you on 13812345678.")
	if err != nil {
		t.Fatal(err)
	}
	_, m2, err := ts.Reply(ctx, alice, tk.ID, "It is fixed now.")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"billing|Hello! I will call you on 13812345678.|first", "billing|It is fixed now.|middle"}
	if diff := cmp.Diff(want, insp.asked); diff != "" {
		t.Errorf("inspector asked (-want +got):\n%s", diff)
	}
	got, err := ts.store.ReplyQualities(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantStored := []StoredReplyQuality{
		{MessageID: m1.ID, TicketID: tk.ID, AgentID: "alice", GroupID: "billing", Position: "first",
			ReplyQuality: ReplyQuality{Score: 70, Findings: []QualityFinding{{Check: "pii", Kind: "PHONE"}}}},
		{MessageID: m2.ID, TicketID: tk.ID, AgentID: "alice", GroupID: "billing", Position: "middle",
			ReplyQuality: ReplyQuality{Score: 100, Findings: []QualityFinding{}}},
	}
	if diff := cmp.Diff(wantStored, got); diff != "" {
		t.Errorf("stored inspections (-want +got):\n%s", diff)
	}
	var raw int
	if err := ts.store.primary.QueryRow(ctx, `SELECT count(*) FROM reply_quality WHERE findings::text LIKE '%13812345678%'`).Scan(&raw); err != nil || raw != 0 {
		t.Errorf("the phone number is stored with the findings (%d rows, %v)", raw, err)
	}
	if n := testutil.ToFloat64(ts.Metrics.QualityFindings.WithLabelValues("pii", "billing")); n != 1 {
		t.Errorf("pii findings counted %v, want 1", n)
	}

	insp.fail = true
	if _, _, err := ts.Reply(ctx, alice, tk.ID, "One more thing."); err != nil {
		t.Fatalf("a reply failed with its inspection: %v", err)
	}
	if n := testutil.ToFloat64(ts.Metrics.QualityFailures); n != 1 {
		t.Errorf("failed inspections counted %v, want 1", n)
	}
	if got, _ := ts.store.ReplyQualities(ctx, tk.ID); len(got) != 2 {
		t.Errorf("%d stored inspections after a failed one, want 2", len(got))
	}
}
