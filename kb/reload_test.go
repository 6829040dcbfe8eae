package kb

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// answerFrom asks r and returns the answer's text ("" when nothing matched well enough
// for a server to answer).
func answerFrom(t *testing.T, r *Retriever, q string) string {
	t.Helper()
	a, err := r.Answer(context.Background(), q)
	if err != nil {
		t.Fatalf("answer %q: %v", q, err)
	}
	if a.Confidence < 0.35 {
		return ""
	}
	return a.Text
}

// ingestCommit ingests path into the writer index under dir and commits a generation.
func ingestCommit(t *testing.T, dir, path string) Generation {
	t.Helper()
	ctx := context.Background()
	w, err := NewEmbedded(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Ingest(ctx, w, NewLexicalEmbedder(), path, nil); err != nil {
		t.Fatal(err)
	}
	g, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func newTestReloader(t *testing.T, dir string, reg prometheus.Registerer, log *slog.Logger) *Reloader[*Retriever] {
	t.Helper()
	r, err := NewReloader(context.Background(), ReloaderOptions[*Retriever]{
		Source: EmbeddedSource{Dir: dir}, Backend: "embedded", Log: log, Registerer: reg,
		Build: func(_ context.Context, idx Index, _ Generation) (*Retriever, error) {
			return NewRetriever(idx, NewLexicalEmbedder()), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReloaderSwapsCommittedGenerations: a server's reloader serves what was committed
// when it started, picks up each newly committed generation on its next check (the
// component a request already holds keeps answering from the old one), ignores an index
// file written without a commit, and refuses a corrupt generation while the last good
// one keeps serving.
func TestReloaderSwapsCommittedGenerations(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	dir := filepath.Join(base, "index")
	docs := filepath.Join(base, "docs")
	writeFile(t, filepath.Join(docs, "faq.csv"), "question,answer\nHow do I reset my password?,Use the Forgot password link.\n")
	g1 := ingestCommit(t, dir, docs)
	if g1.N != 1 || g1.Chunks != 2 || g1.Documents != 1 || g1.Snapshot == "" { // question and answer
		t.Fatalf("first commit %+v", g1)
	}
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	r := newTestReloader(t, dir, reg, slog.New(slog.NewTextHandler(&logs, nil)))
	old := r.Current()
	if got := answerFrom(t, old, "How long does a refund take?"); got != "" {
		t.Fatalf("refund answered before it was ingested: %q", got)
	}

	writeFile(t, filepath.Join(docs, "refund.csv"), "question,answer\nHow long does a refund take?,Five working days.\n")
	g2 := ingestCommit(t, dir, docs)
	if err := r.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if got := answerFrom(t, r.Current(), "How long does a refund take?"); got != "Five working days." {
		t.Fatalf("after the reload: %q", got)
	}
	if got := answerFrom(t, old, "How long does a refund take?"); got != "" {
		t.Fatalf("the component a request holds changed under it: %q", got)
	}
	if st := r.Status(); st.Generation != g2.N || st.Chunks != 4 || st.Documents != 2 || st.LastError != "" {
		t.Fatalf("status %+v", st)
	}
	if !strings.Contains(logs.String(), "generation=2 chunks=4") {
		t.Errorf("no reload log line:\n%s", logs.String())
	}

	// an ingest still writing (file changed, no commit yet) is not picked up
	w, _ := NewEmbedded(dir)
	writeFile(t, filepath.Join(docs, "ship.csv"), "question,answer\nDo you ship abroad?,Yes.\n")
	if _, err := Ingest(ctx, w, NewLexicalEmbedder(), docs, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Check(ctx); err != nil || r.Status().Generation != 2 {
		t.Fatalf("uncommitted change: %v, %+v", err, r.Status())
	}

	// a corrupt generation: the manifest names a file that does not decode
	garbage := []byte("not a gob snapshot")
	os.WriteFile(filepath.Join(dir, snapshotFile), garbage, 0o600)
	hash, _ := hashFile(filepath.Join(dir, snapshotFile))
	writeManifest(dir, g2.Next(3, 3, hash))
	err := r.Check(ctx)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt generation: %v", err)
	}
	if got := answerFrom(t, r.Current(), "How long does a refund take?"); got != "Five working days." {
		t.Fatalf("the old generation stopped serving: %q", got)
	}
	st := r.Status()
	if st.Generation != 2 || st.Refused != 3 || !strings.Contains(st.LastError, "generation 3 refused") {
		t.Fatalf("status after a refused generation %+v", st)
	}
	r.Check(ctx) // the same broken generation is not retried at once, nor logged again
	if n := strings.Count(logs.String(), "knowledge base reload failed"); n != 1 {
		t.Errorf("%d failure log lines, want 1:\n%s", n, logs.String())
	}
	for name, want := range map[string]float64{"switchboard_kb_generation": 2, "switchboard_kb_chunks": 4, "switchboard_kb_documents": 2} {
		if got := gaugeValue(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := testutil.ToFloat64(r.m.reloads.WithLabelValues("refused")); got != 1 {
		t.Errorf("refused reloads %v", got)
	}

	// the next good commit (a fresh ingest over the damaged file) is served again
	os.Remove(filepath.Join(dir, snapshotFile))
	g4 := ingestCommit(t, dir, docs)
	if err := r.Check(ctx); err != nil || r.Status().Generation != g4.N || r.Status().Refused != 0 {
		t.Fatalf("after a good commit: %v %+v", err, r.Status())
	}
	if got := answerFrom(t, r.Current(), "Do you ship abroad?"); got != "Yes." {
		t.Fatalf("generation %d: %q", g4.N, got)
	}
}

// TestStaleIndexFile: a server never serves a file that is not the committed one,
// except when it starts (it has nothing older to serve).
func TestStaleIndexFile(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	dir := filepath.Join(base, "index")
	writeFile(t, filepath.Join(base, "a.csv"), "question,answer\nA?,a.\n")
	ingestCommit(t, dir, filepath.Join(base, "a.csv"))
	w, _ := NewEmbedded(dir)
	writeFile(t, filepath.Join(base, "b.csv"), "question,answer\nB?,b.\n")
	Ingest(ctx, w, NewLexicalEmbedder(), filepath.Join(base, "b.csv"), nil)
	if _, _, err := (EmbeddedSource{Dir: dir}).Open(ctx, false); !errors.Is(err, ErrStale) {
		t.Fatalf("strict open of a stale file: %v", err)
	}
	idx, g, err := (EmbeddedSource{Dir: dir}).Open(ctx, true)
	if err != nil || g.N != 1 || g.Chunks != 4 || idx.(*Embedded).Len() != 4 {
		t.Fatalf("lenient open: %v %+v", err, g)
	}
}

func gaugeValue(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// TestReloaderSwapUnderLoad answers from many goroutines while generations are swapped
// in: every answer comes whole from one generation, none fails (run with -race).
func TestReloaderSwapUnderLoad(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	dir := filepath.Join(base, "index")
	faq := filepath.Join(base, "faq.csv")
	writeFile(t, faq, "question,answer\nHow long does a refund take?,Answer 0.\n")
	ingestCommit(t, dir, faq)
	r := newTestReloader(t, dir, nil, nil)
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for range 4 {
		go func() {
			for {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				a, err := r.Current().Answer(ctx, "How long does a refund take?")
				if err == nil && !strings.HasPrefix(a.Text, "Answer ") {
					err = errors.New("answer " + a.Text)
				}
				if err != nil {
					errs <- err
					return
				}
				_ = r.Status()
			}
		}()
	}
	for i := 1; i <= 5; i++ {
		writeFile(t, faq, "question,answer\nHow long does a refund take?,Answer "+string(rune('0'+i))+".\n")
		ingestCommit(t, dir, faq)
		if err := r.Check(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := answerFrom(t, r.Current(), "How long does a refund take?"); got != "Answer 5." {
		t.Fatalf("last generation answers %q", got)
	}
}
