package kb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{
		"faq.csv": true, "guide.md": true, "page.HTML": true, "notes.txt": true, "faq.json": true,
		"": false, "../faq.csv": false, "a/b.md": false, `a\b.md`: false, ".hidden.md": false, "tool.exe": false, "faq": false,
	} {
		err := CheckName(name)
		if (err == nil) != ok || (err != nil && !errors.Is(err, ErrUnsupported)) {
			t.Errorf("CheckName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

// TestJobsIngestUploadsAndRefuseBrokenOnes: a job keeps the uploaded file under Dir,
// ingests it and commits a generation; a job with a file that does not parse fails
// without touching the index or the kept documents.
func TestJobsIngestUploadsAndRefuseBrokenOnes(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	index, uploads := filepath.Join(base, "index"), filepath.Join(base, "uploads")
	var committed []Generation
	jobs := NewJobs(ctx, JobsOptions{Dir: uploads,
		Open:      func(context.Context) (Index, error) { return NewEmbedded(index) },
		Committed: func(_ context.Context, g Generation) { committed = append(committed, g) }})
	run := func(files map[string]string) Job {
		t.Helper()
		staged, err := jobs.Stage()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for n, c := range files {
			writeFile(t, filepath.Join(staged, n), c)
			names = append(names, n)
		}
		job, err := jobs.Start(staged, names)
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if job, _ = jobs.Job(job.ID); job.State == JobDone || job.State == JobFailed {
				break
			}
		}
		return job
	}
	job := run(map[string]string{"faq.csv": "question,answer\nA?,a.\n"})
	if job.State != JobDone || job.Generation != 1 || job.Stats.Added != 2 || len(committed) != 1 { // the question and its answer
		t.Fatalf("job %+v, committed %+v", job, committed)
	}
	if _, err := os.Stat(filepath.Join(uploads, "faq.csv")); err != nil {
		t.Fatalf("the upload was not kept: %v", err)
	}
	job = run(map[string]string{"faq.csv": "question,answer\nA?,a.\nB?,b.\n", "broken.json": "{not json"})
	if job.State != JobFailed || job.Error == "" || len(committed) != 1 {
		t.Fatalf("broken upload: %+v", job)
	}
	if raw, _ := os.ReadFile(filepath.Join(uploads, "faq.csv")); string(raw) != "question,answer\nA?,a.\n" {
		t.Fatalf("a failed job replaced a kept document: %q", raw)
	}
	if _, err := jobs.Job("nope"); !errors.Is(err, ErrNoJob) {
		t.Fatalf("unknown job: %v", err)
	}
	// the same name again replaces the document's chunks
	job = run(map[string]string{"faq.csv": "question,answer\nB?,b.\n"})
	g, _ := EmbeddedSource{Dir: index}.Generation(ctx)
	if job.State != JobDone || job.Stats.Updated != 2 || g.N != 2 || g.Chunks != 2 || g.Documents != 1 {
		t.Fatalf("re-upload: %+v, generation %+v", job, g)
	}
}

// TestJobPanicFailsTheJobOnly: a panic while ingesting (here in the index) fails that
// job with an error and leaves the process and later jobs alone.
func TestJobPanicFailsTheJobOnly(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	calls := 0
	jobs := NewJobs(ctx, JobsOptions{Dir: filepath.Join(base, "uploads"),
		Open: func(context.Context) (Index, error) {
			if calls++; calls == 1 {
				panic("index exploded")
			}
			return NewEmbedded(filepath.Join(base, "index"))
		}})
	for i, want := range []string{JobFailed, JobDone} {
		staged, err := jobs.Stage()
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(staged, "faq.csv"), "question,answer\nA?,a.\n")
		job, err := jobs.Start(staged, []string{"faq.csv"})
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if job, _ = jobs.Job(job.ID); job.State == JobDone || job.State == JobFailed {
				break
			}
		}
		if job.State != want || (want == JobFailed) != strings.Contains(job.Error, "index exploded") {
			t.Fatalf("job %d: %+v, want %s", i, job, want)
		}
	}
	jobs.Wait()
}
