package kb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ErrNoDocument is returned for a document key the knowledge base does not hold.
var ErrNoDocument = errors.New("kb: no such document")

// Job kinds.
const (
	JobIngest = "ingest" // uploaded documents ingested
	JobDelete = "delete" // a document removed
)

// DocumentInfo is one document of the knowledge base as its editors see it.
type DocumentInfo struct {
	// Key names the document in DELETE /v1/kb/documents/:id: the first 16 hex digits of
	// the SHA-256 of Path.
	Key    string `json:"id"`
	Name   string `json:"name"`   // its file name
	Path   string `json:"path"`   // what it was ingested from (its document id)
	Chunks int    `json:"chunks"` // the passages and FAQ entries it gave
	// Uploaded: it came through POST /v1/kb/documents and is kept under the uploads
	// folder; otherwise `kb ingest` brought it from Path.
	Uploaded bool `json:"uploaded"`
}

// documentKey is a document's key (DocumentInfo.Key).
func documentKey(docID string) string {
	sum := sha256.Sum256([]byte(docID))
	return hex.EncodeToString(sum[:8])
}

// Documents lists the documents of the index the jobs write, by name, with how many
// chunks each holds. The index must list its chunks (Hasher).
func (j *Jobs) Documents(ctx context.Context) ([]DocumentInfo, error) {
	_, hashes, err := j.openListing(ctx)
	if err != nil {
		return nil, err
	}
	byDoc := map[string]int{}
	for id := range hashes {
		byDoc[DocIDOf(id)]++
	}
	uploads := j.uploadsID()
	out := make([]DocumentInfo, 0, len(byDoc))
	for doc, n := range byDoc {
		out = append(out, DocumentInfo{Key: documentKey(doc), Name: path.Base(doc), Path: doc, Chunks: n,
			Uploaded: strings.HasPrefix(doc, uploads+"/")})
	}
	slices.SortFunc(out, func(a, b DocumentInfo) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
	return out, nil
}

// openListing opens the index the jobs write and lists its chunks.
func (j *Jobs) openListing(ctx context.Context) (Index, map[string]string, error) {
	idx, err := j.o.Open(ctx)
	if err != nil {
		return nil, nil, err
	}
	h, ok := idx.(Hasher)
	if !ok {
		return nil, nil, fmt.Errorf("kb: index %T does not list its chunks", idx)
	}
	hashes, err := h.Hashes(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("kb: list chunks: %w", err)
	}
	return idx, hashes, nil
}

// uploadsID is the document id prefix of uploaded documents: Dir as an absolute slash
// path, as Ingest names them.
func (j *Jobs) uploadsID() string {
	abs, err := filepath.Abs(j.o.Dir)
	if err != nil {
		abs = j.o.Dir
	}
	return filepath.ToSlash(abs)
}

// Delete queues a job that removes the document key (DocumentInfo.Key) from the index,
// and its kept file when it was uploaded, and commits a generation like an ingest, so
// that every server reloads without it (ErrNoDocument for an unknown key). A document
// `kb ingest` brought comes back when its folder is ingested again.
func (j *Jobs) Delete(ctx context.Context, key string) (Job, error) {
	docs, err := j.Documents(ctx)
	if err != nil {
		return Job{}, err
	}
	i := slices.IndexFunc(docs, func(d DocumentInfo) bool { return d.Key == key })
	if i < 0 {
		return Job{}, fmt.Errorf("%w: %q", ErrNoDocument, key)
	}
	doc := docs[i]
	return j.queue(&Job{Kind: JobDelete, Files: []string{doc.Name}, Total: 1}, func(job *Job) (Generation, error) {
		return j.remove(job, doc)
	}), nil
}

// remove deletes doc's chunks, commits the change, then removes its kept upload.
func (j *Jobs) remove(job *Job, doc DocumentInfo) (Generation, error) {
	ctx := j.ctx
	idx, hashes, err := j.openListing(ctx)
	if err != nil {
		return Generation{}, err
	}
	committer, ok := idx.(Committer)
	if !ok {
		return Generation{}, fmt.Errorf("kb: index %T keeps no generations", idx)
	}
	var ids []string
	for id := range hashes {
		if DocIDOf(id) == doc.Path {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var g Generation
	if len(ids) > 0 {
		if err := idx.Delete(ctx, ids); err != nil {
			return Generation{}, fmt.Errorf("kb: delete %s: %w", doc.Name, err)
		}
		if g, err = committer.Commit(ctx); err != nil {
			return Generation{}, err
		}
		if j.o.Committed != nil {
			j.o.Committed(ctx, g)
		}
	}
	if doc.Uploaded {
		err := os.Remove(filepath.FromSlash(doc.Path))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			j.o.Log.Warn("knowledge-base document deleted from the index; its kept upload stays", "document", doc.Name, "err", err)
		}
	}
	j.update(job, func(x *Job) { x.Done, x.Stats = 1, IngestStats{Files: 1, Deleted: len(ids)} })
	return g, nil
}

// queue registers job and runs work for it in the background, one job at a time.
func (j *Jobs) queue(job *Job, work func(*Job) (Generation, error)) Job {
	job.ID, job.State, job.CreatedAt = newJobID(), JobQueued, time.Now().UTC()
	j.mu.Lock()
	j.jobs[job.ID] = job
	j.order = append(j.order, job.ID)
	for len(j.order) > keptJobs {
		delete(j.jobs, j.order[0])
		j.order = j.order[1:]
	}
	snap := *job
	j.mu.Unlock()
	j.wg.Go(func() { j.execute(job, work) })
	return snap
}
