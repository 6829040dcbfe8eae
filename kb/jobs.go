package kb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// ErrNoJob is returned for an ingest job id this process does not know.
var ErrNoJob = errors.New("kb: no such ingest job")

// keptJobs is how many finished jobs Jobs remembers.
const keptJobs = 100

// Job states.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Job is one ingest of uploaded documents, or the removal of a document, and how far
// it got.
type Job struct {
	ID         string      `json:"id"`
	Kind       string      `json:"kind"` // JobIngest or JobDelete
	State      string      `json:"state"`
	Files      []string    `json:"files"`
	Done       int         `json:"done"`  // files ingested so far
	Total      int         `json:"total"` // files in the job
	Stats      IngestStats `json:"stats"`
	Generation uint64      `json:"generation,omitempty"` // committed by the job (0: nothing changed yet)
	Error      string      `json:"error,omitempty"`
	CreatedAt  time.Time   `json:"created_at"`
	FinishedAt time.Time   `json:"finished_at,omitzero"`
}

// JobsOptions configure NewJobs.
type JobsOptions struct {
	// Dir keeps the uploaded documents, one file per name: uploading a name again
	// replaces that document's chunks.
	Dir string
	// Open returns the index a job writes (for the embedded index, loaded from disk
	// afresh so that changes made meanwhile by the CLI are kept). It must implement
	// Committer.
	Open   func(ctx context.Context) (Index, error)
	Ingest []IngestOption
	// Committed (may be nil) learns each generation a job committed.
	Committed func(ctx context.Context, g Generation)
	Log       *slog.Logger
}

// Jobs runs ingests of uploaded documents in the background, one at a time, and
// remembers their progress. Its jobs live in this process only.
type Jobs struct {
	o   JobsOptions
	ctx context.Context
	wg  sync.WaitGroup
	run sync.Mutex // one ingest at a time

	mu    sync.Mutex
	jobs  map[string]*Job
	order []string
}

// NewJobs returns the job runner; jobs stop when ctx ends (Wait waits for them).
func NewJobs(ctx context.Context, o JobsOptions) *Jobs {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Jobs{o: o, ctx: ctx, jobs: map[string]*Job{}}
}

// Stage returns a new folder (under Dir) to put a job's files in before Start.
func (j *Jobs) Stage() (string, error) {
	if err := os.MkdirAll(j.o.Dir, 0o750); err != nil {
		return "", fmt.Errorf("kb: uploads folder: %w", err)
	}
	return os.MkdirTemp(j.o.Dir, ".incoming-")
}

// CheckName validates the file name of an uploaded document: a plain name of a
// supported format.
func CheckName(name string) error {
	if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("%w: file name %q (want a plain name such as faq.csv)", ErrUnsupported, name)
	}
	if formatOf(name) == "" {
		return fmt.Errorf("%w: %s (want .csv, .json, .md, .html or .txt)", ErrUnsupported, name)
	}
	return nil
}

// Start queues a job ingesting the named files that were put in staged (from Stage);
// the job owns staged from then on.
func (j *Jobs) Start(staged string, names []string) (Job, error) {
	for _, n := range names {
		if err := CheckName(n); err != nil {
			os.RemoveAll(staged)
			return Job{}, err
		}
	}
	return j.queue(&Job{Kind: JobIngest, Files: names, Total: len(names)}, func(job *Job) (Generation, error) {
		defer os.RemoveAll(staged)
		return j.ingest(job, staged)
	}), nil
}

// newJobID is a fresh random job id.
func newJobID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Job returns the state of job id.
func (j *Jobs) Job(id string) (Job, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	job, ok := j.jobs[id]
	if !ok {
		return Job{}, fmt.Errorf("%w: %q", ErrNoJob, id)
	}
	out := *job
	out.Files = append([]string(nil), job.Files...)
	return out, nil
}

// Wait waits for the running jobs (after the context given to NewJobs ended).
func (j *Jobs) Wait() { j.wg.Wait() }

// update changes job under the lock.
func (j *Jobs) update(job *Job, change func(*Job)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	change(job)
}

func (j *Jobs) execute(job *Job, work func(*Job) (Generation, error)) {
	j.run.Lock()
	defer j.run.Unlock()
	j.update(job, func(x *Job) { x.State = JobRunning })
	g, err := j.recovering(job, work)
	j.update(job, func(x *Job) {
		x.FinishedAt, x.State, x.Generation = time.Now().UTC(), JobDone, g.N
		if err != nil {
			x.State, x.Error = JobFailed, err.Error()
		}
	})
	if err != nil {
		j.o.Log.Warn("knowledge-base job failed", "job", job.ID, "kind", job.Kind, "err", err)
		return
	}
	j.o.Log.Info("knowledge-base job done", "job", job.ID, "kind", job.Kind, "files", job.Total, "generation", g.N)
}

// recovering runs work with a panic turned into the job's error (logged with its
// stack), so a document that crashes the parser fails its job, not the server.
func (j *Jobs) recovering(job *Job, work func(*Job) (Generation, error)) (g Generation, err error) {
	defer func() {
		if r := recover(); r != nil {
			j.o.Log.Error("recovered a panic", "where", "kb.job", "job", job.ID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			g, err = Generation{}, fmt.Errorf("kb: %s: internal error (%v)", job.Kind, r)
		}
	}()
	return work(job)
}

// ingest checks that every staged file parses, then moves each into Dir, ingests it
// and commits a generation when anything changed.
func (j *Jobs) ingest(job *Job, staged string) (Generation, error) {
	ctx := j.ctx
	for _, name := range job.Files {
		if err := checkParses(filepath.Join(staged, name)); err != nil {
			return Generation{}, err
		}
	}
	idx, err := j.o.Open(ctx)
	if err != nil {
		return Generation{}, err
	}
	committer, ok := idx.(Committer)
	if !ok {
		return Generation{}, fmt.Errorf("kb: index %T keeps no generations", idx)
	}
	var total IngestStats
	for _, name := range job.Files {
		dst := filepath.Join(j.o.Dir, name)
		if err := os.Rename(filepath.Join(staged, name), dst); err != nil {
			return Generation{}, fmt.Errorf("kb: keep upload %s: %w", name, err)
		}
		st, err := Ingest(ctx, idx, NewLexicalEmbedder(), dst, nil, j.o.Ingest...)
		total.Files += st.Files
		total.Added += st.Added
		total.Updated += st.Updated
		total.Unchanged += st.Unchanged
		total.Deleted += st.Deleted
		j.update(job, func(x *Job) { x.Done, x.Stats = x.Done+1, total })
		if err != nil {
			return Generation{}, err
		}
	}
	if !total.Changed() {
		return Generation{}, nil
	}
	g, err := committer.Commit(ctx)
	if err != nil {
		return Generation{}, err
	}
	if j.o.Committed != nil {
		j.o.Committed(ctx, g)
	}
	return g, nil
}

// checkParses reads and parses the document at path.
func checkParses(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("kb: upload: %w", err)
	}
	data, err := readAllLimited(f, maxFileBytes)
	f.Close()
	if err == nil {
		_, err = parseDocument(formatOf(path), filepath.Base(path), data)
	}
	if err != nil {
		return fmt.Errorf("kb: upload %s: %w", filepath.Base(path), err)
	}
	return nil
}
