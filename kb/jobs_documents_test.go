package kb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestJobsListAndDeleteDocuments: the documents of the index are listed by name with
// their chunk counts, uploaded ones told from those `kb ingest` brought; deleting one is
// a job that removes its chunks (and its kept upload), commits a generation and tells
// Committed, as an ingest does; an unknown key is ErrNoDocument.
func TestJobsListAndDeleteDocuments(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	index, uploads := filepath.Join(base, "index"), filepath.Join(base, "uploads")
	var committed []Generation
	jobs := NewJobs(ctx, JobsOptions{Dir: uploads,
		Open:      func(context.Context) (Index, error) { return NewEmbedded(index) },
		Committed: func(_ context.Context, g Generation) { committed = append(committed, g) }})
	defer jobs.Wait()
	// one document as `kb ingest` brings it, two uploaded
	cli := filepath.Join(base, "docs", "guide.md")
	writeFile(t, cli, "# Guide\n\nCards arrive within five working days.\n")
	idx, err := NewEmbedded(index)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Ingest(ctx, idx, NewLexicalEmbedder(), cli, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := idx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wait := func(job Job) Job {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if job, _ = jobs.Job(job.ID); job.State == JobDone || job.State == JobFailed {
				return job
			}
		}
		t.Fatalf("job %+v did not finish", job)
		return job
	}
	staged, err := jobs.Stage()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(staged, "faq.csv"), "question,answer\nA?,a.\nB?,b.\n")
	writeFile(t, filepath.Join(staged, "Returns.txt"), "Returns are free within 30 days.")
	job, err := jobs.Start(staged, []string{"faq.csv", "Returns.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if job = wait(job); job.State != JobDone || job.Kind != JobIngest {
		t.Fatalf("upload %+v", job)
	}
	docs, err := jobs.Documents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name     string
		Chunks   int
		Uploaded bool
	}
	var got []row
	for _, d := range docs {
		got = append(got, row{d.Name, d.Chunks, d.Uploaded})
		if d.Key != documentKey(d.Path) || len(d.Key) != 16 {
			t.Errorf("document %+v: key is not the hash of its path", d)
		}
	}
	want := []row{{"faq.csv", 4, true}, {"guide.md", 1, false}, {"Returns.txt", 1, true}} // FAQ: two questions, two answers
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("documents (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		name    string
		doc     int // in docs
		deleted int
		left    []string
	}{
		{"an uploaded document", 0, 4, []string{"guide.md", "Returns.txt"}},
		{"a document kb ingest brought", 1, 1, []string{"Returns.txt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(committed)
			job, err := jobs.Delete(ctx, docs[tc.doc].Key)
			if err != nil {
				t.Fatal(err)
			}
			job = wait(job)
			if job.State != JobDone || job.Kind != JobDelete || job.Stats.Deleted != tc.deleted || job.Done != 1 ||
				len(committed) != before+1 || job.Generation != committed[len(committed)-1].N {
				t.Fatalf("delete job %+v, committed %+v", job, committed)
			}
			left, err := jobs.Documents(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, d := range left {
				names = append(names, d.Name)
			}
			if diff := cmp.Diff(tc.left, names); diff != "" {
				t.Errorf("documents left (-want +got):\n%s", diff)
			}
			g, _ := EmbeddedSource{Dir: index}.Generation(ctx)
			if g.Documents != len(tc.left) {
				t.Errorf("committed generation %+v, want %d documents", g, len(tc.left))
			}
		})
	}
	if _, err := os.Stat(filepath.Join(uploads, "faq.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the deleted upload is still kept: %v", err)
	}
	if _, err := os.Stat(cli); err != nil {
		t.Errorf("the document kb ingest read was removed from its folder: %v", err)
	}
	if _, err := jobs.Delete(ctx, docs[0].Key); !errors.Is(err, ErrNoDocument) {
		t.Errorf("deleting it again: %v, want ErrNoDocument", err)
	}
}
