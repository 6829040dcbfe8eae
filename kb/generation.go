package kb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ErrStale is returned when the embedded index file no longer matches the generation
// its manifest names: a newer ingest is still writing, or the file was replaced by hand.
var ErrStale = errors.New("kb: index file does not match its generation manifest")

// Generation identifies one committed state of a knowledge base. Every ingest or
// training run that changed something commits a new one; a server reloads when the
// generation it finds is not the one it serves.
type Generation struct {
	N           uint64    `json:"generation"`
	Stamp       string    `json:"stamp,omitempty"` // random per commit, so two commits never look alike
	Chunks      int       `json:"chunks"`
	Documents   int       `json:"documents"`
	CommittedAt time.Time `json:"committed_at,omitzero"`
	// Snapshot is the SHA-256 of the embedded index file of this generation.
	Snapshot string `json:"snapshot_sha256,omitempty"`
}

// Same reports whether g and o are the same commit.
func (g Generation) Same(o Generation) bool { return g.N == o.N && g.Stamp == o.Stamp }

// Next is the generation after g with the given content and a fresh stamp.
func (g Generation) Next(chunks, documents int, snapshot string) Generation {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return Generation{N: g.N + 1, Stamp: hex.EncodeToString(b), Chunks: chunks, Documents: documents,
		CommittedAt: time.Now().UTC(), Snapshot: snapshot}
}

// Source is a knowledge base as a server reads it. Generation reads the committed
// marker (cheap; servers poll it); Open loads the committed generation and checks it.
// With lenient set, Open accepts an embedded index file that does not match its
// manifest (a starting server has nothing older to serve).
type Source interface {
	Generation(ctx context.Context) (Generation, error)
	Open(ctx context.Context, lenient bool) (Index, Generation, error)
}

// Committer records a new generation once the index has changed.
type Committer interface {
	Commit(ctx context.Context) (Generation, error)
}

// manifestFile names the generation manifest beside the embedded index snapshot.
const manifestFile = "generation.json"

// readManifest reads the manifest under dir; none yet is generation 0.
func readManifest(dir string) (Generation, error) {
	raw, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Generation{}, nil
	}
	if err != nil {
		return Generation{}, fmt.Errorf("kb: read generation: %w", err)
	}
	var g Generation
	if err := json.Unmarshal(raw, &g); err != nil {
		return Generation{}, fmt.Errorf("%w: %s: %w", ErrCorrupt, manifestFile, err)
	}
	return g, nil
}

// writeManifest replaces the manifest under dir atomically.
func writeManifest(dir string, g Generation) error {
	raw, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(dir, manifestFile, func(w io.Writer) error {
		_, err := w.Write(append(raw, '\n'))
		return err
	})
}

// Generation returns the generation committed under the index directory (0 when
// none has been committed or the index lives in memory only).
func (x *Embedded) Generation(context.Context) (Generation, error) {
	if x.dir == "" {
		return Generation{}, nil
	}
	return readManifest(x.dir)
}

// Commit records a new generation for what the index holds now, after its data: the
// manifest names the snapshot file by its hash, so a reader can tell a file written
// after the manifest (an ingest still running) from the committed one.
func (x *Embedded) Commit(ctx context.Context) (Generation, error) {
	if err := ctx.Err(); err != nil {
		return Generation{}, err
	}
	if x.dir == "" {
		return Generation{}, fmt.Errorf("kb: commit: the index is in memory only")
	}
	x.persistMu.Lock()
	defer x.persistMu.Unlock()
	old, err := readManifest(x.dir)
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return Generation{}, err
	}
	snap := x.snapshotHash
	if snap == "" {
		if snap, err = hashFile(filepath.Join(x.dir, snapshotFile)); err != nil {
			return Generation{}, err
		}
	}
	x.mu.RLock()
	chunks, docs := x.live, x.documentsLocked()
	x.mu.RUnlock()
	g := old.Next(chunks, docs, snap)
	if err := writeManifest(x.dir, g); err != nil {
		return Generation{}, fmt.Errorf("kb: commit generation: %w", err)
	}
	return g, nil
}

// documentsLocked counts the distinct documents of the live chunks.
func (x *Embedded) documentsLocked() int {
	docs := map[string]struct{}{}
	for _, s := range x.slots {
		if s.alive {
			docs[s.point.Chunk.DocID] = struct{}{}
		}
	}
	return len(docs)
}

// hashFile is the hex SHA-256 of the file at path ("" when there is none).
func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("kb: hash index: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("kb: hash index: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// EmbeddedSource is the embedded index under Dir as a server reads it: every Open loads
// a fresh in-memory copy that the server never writes.
type EmbeddedSource struct{ Dir string }

// Generation reads the manifest.
func (s EmbeddedSource) Generation(context.Context) (Generation, error) { return readManifest(s.Dir) }

// Open loads the snapshot and checks it against the manifest: the file's hash and its
// number of chunks must be the ones committed.
func (s EmbeddedSource) Open(ctx context.Context, lenient bool) (Index, Generation, error) {
	g, err := readManifest(s.Dir)
	if err != nil {
		return nil, Generation{}, err
	}
	points, hash, err := loadSnapshot(s.Dir)
	if err != nil {
		return nil, Generation{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Generation{}, err
	}
	if g.N > 0 && (hash != g.Snapshot || len(points) != g.Chunks) && !lenient {
		return nil, Generation{}, fmt.Errorf("%w: generation %d names %d chunks in a file with hash %.12s, found %d chunks with hash %.12s",
			ErrStale, g.N, g.Chunks, g.Snapshot, len(points), hash)
	}
	x := newEmbedded("")
	for _, p := range points {
		x.insertLocked(p)
	}
	g.Chunks, g.Documents, g.Snapshot = x.live, x.documentsLocked(), hash
	return x, g, nil
}
