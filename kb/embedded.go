package kb

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
)

// rrfK is the rank constant of Reciprocal Rank Fusion: score = Σ 1/(rrfK + rank).
const rrfK = 60

// Embedded is the in-process Index: an inverted index (term → postings) with document
// frequencies for IDF, optional dense vectors searched by brute-force cosine, payload
// filters by Meta equality, and a snapshot on disk rewritten atomically after every
// change. It is safe for concurrent use; searches run in parallel under a read lock.
type Embedded struct {
	dir string

	persistMu    sync.Mutex // serialises snapshots so that the newest state is written last
	snapshotHash string     // SHA-256 of the snapshot this process wrote last (under persistMu)

	mu       sync.RWMutex
	slots    []slot
	byID     map[string]uint32
	postings map[uint32]*termPostings
	df       map[uint32]int32
	live     int
	dead     int
	accPool  sync.Pool
}

// slot holds one stored point; slots are never reused, dead ones vanish on compaction.
type slot struct {
	point Point
	alive bool
}

// termPostings is the posting list of one term, ordered by slot (slots only grow), with
// an upper bound of its weights for pruning.
type termPostings struct {
	list []posting
	maxW float32
}

type posting struct {
	slot uint32
	w    float32
}

// accumulator is per-query scratch space, pooled so that searches do not allocate per
// posting.
type accumulator struct {
	scores  []float32
	touched []uint32
}

// NewEmbedded opens the embedded index persisted under dir, creating dir when needed and
// loading the last snapshot. An empty dir keeps the index in memory only.
func NewEmbedded(dir string) (*Embedded, error) {
	x := newEmbedded(dir)
	if dir == "" {
		return x, nil
	}
	points, _, err := loadSnapshot(dir)
	if err != nil {
		return nil, err
	}
	for _, p := range points {
		x.insertLocked(p)
	}
	return x, nil
}

func newEmbedded(dir string) *Embedded {
	x := &Embedded{
		dir:      dir,
		byID:     make(map[string]uint32),
		postings: make(map[uint32]*termPostings),
		df:       make(map[uint32]int32),
	}
	x.accPool.New = func() any { return &accumulator{} }
	return x
}

// Len returns the number of stored chunks.
func (x *Embedded) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.live
}

// Upsert inserts or replaces points by Chunk.ID and persists the index.
func (x *Embedded) Upsert(ctx context.Context, points []Point) error {
	clean := make([]Point, len(points))
	for i, p := range points {
		c, err := clonePoint(p)
		if err != nil {
			return err
		}
		clean[i] = c
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return x.mutate(func() {
		for _, p := range clean {
			x.removeLocked(p.Chunk.ID)
			x.insertLocked(p)
		}
	})
}

// Delete removes the chunks with the given ids and persists the index.
func (x *Embedded) Delete(ctx context.Context, ids []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return x.mutate(func() {
		for _, id := range ids {
			x.removeLocked(id)
		}
	})
}

// Hashes returns chunk id → content hash for every stored chunk.
func (x *Embedded) Hashes(ctx context.Context) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make(map[string]string, x.live)
	for _, s := range x.slots {
		if s.alive {
			out[s.point.Chunk.ID] = s.point.Hash
		}
	}
	return out, nil
}

// mutate applies change under the write lock, compacts when many slots are dead, then
// writes a snapshot of the new state.
func (x *Embedded) mutate(change func()) error {
	x.persistMu.Lock()
	defer x.persistMu.Unlock()
	x.mu.Lock()
	change()
	if x.dead > 1024 && x.dead > x.live {
		x.compactLocked()
	}
	var snapshot []Point
	if x.dir != "" {
		snapshot = x.pointsLocked()
	}
	x.mu.Unlock()
	if x.dir == "" {
		return nil
	}
	hash, err := writeSnapshot(x.dir, snapshot)
	if err != nil {
		return err
	}
	x.snapshotHash = hash
	return nil
}

func (x *Embedded) pointsLocked() []Point {
	out := make([]Point, 0, x.live)
	for _, s := range x.slots {
		if s.alive {
			out = append(out, s.point)
		}
	}
	return out
}

func (x *Embedded) insertLocked(p Point) {
	id := uint32(len(x.slots))
	x.slots = append(x.slots, slot{point: p, alive: true})
	x.byID[p.Chunk.ID] = id
	for i, t := range p.Sparse.Indices {
		tp := x.postings[t]
		if tp == nil {
			tp = &termPostings{}
			x.postings[t] = tp
		}
		w := p.Sparse.Values[i]
		tp.list = append(tp.list, posting{slot: id, w: w})
		tp.maxW = max(tp.maxW, w)
		x.df[t]++
	}
	x.live++
}

// removeLocked tombstones a chunk; its postings stay until compaction but no longer
// count in document frequencies and are skipped by searches.
func (x *Embedded) removeLocked(id string) {
	s, ok := x.byID[id]
	if !ok {
		return
	}
	delete(x.byID, id)
	x.slots[s].alive = false
	for _, t := range x.slots[s].point.Sparse.Indices {
		if x.df[t]--; x.df[t] <= 0 {
			delete(x.df, t)
		}
	}
	x.slots[s].point = Point{}
	x.live--
	x.dead++
}

// compactLocked rebuilds slots and postings from the live points.
func (x *Embedded) compactLocked() {
	points := x.pointsLocked()
	x.slots = make([]slot, 0, len(points))
	x.byID = make(map[string]uint32, len(points))
	x.postings = make(map[uint32]*termPostings)
	x.df = make(map[uint32]int32)
	x.live, x.dead = 0, 0
	for _, p := range points {
		x.insertLocked(p)
	}
}

// clonePoint validates p and copies everything the caller could later mutate; the dense
// vector is normalised to unit length for cosine similarity.
func clonePoint(p Point) (Point, error) {
	if p.Chunk.ID == "" {
		return Point{}, fmt.Errorf("%w: empty chunk id", ErrInvalidPoint)
	}
	if err := checkSparse(p.Sparse); err != nil {
		return Point{}, fmt.Errorf("%w: chunk %q: %w", ErrInvalidPoint, p.Chunk.ID, err)
	}
	c := p
	c.Sparse = SparseVector{Indices: slices.Clone(p.Sparse.Indices), Values: slices.Clone(p.Sparse.Values)}
	if p.Chunk.Meta != nil {
		c.Chunk.Meta = make(map[string]string, len(p.Chunk.Meta))
		for k, v := range p.Chunk.Meta {
			c.Chunk.Meta[k] = v
		}
	}
	c.Dense = normalize(p.Dense)
	return c, nil
}

func checkSparse(v SparseVector) error {
	if len(v.Indices) != len(v.Values) {
		return fmt.Errorf("%d indices but %d values", len(v.Indices), len(v.Values))
	}
	for i := 1; i < len(v.Indices); i++ {
		if v.Indices[i] <= v.Indices[i-1] {
			return fmt.Errorf("sparse indices not strictly ascending at %d", i)
		}
	}
	for _, w := range v.Values {
		if !(w > 0) || math.IsInf(float64(w), 0) {
			return fmt.Errorf("sparse weight %v is not a positive number", w)
		}
	}
	return nil
}

// normalize returns a unit-length copy of v, or nil for an empty or zero vector.
func normalize(v []float32) []float32 {
	var sum float64
	for _, f := range v {
		sum += float64(f) * float64(f)
	}
	if sum == 0 || math.IsNaN(sum) || math.IsInf(sum, 0) {
		return nil
	}
	inv := 1 / math.Sqrt(sum)
	out := make([]float32, len(v))
	for i, f := range v {
		out[i] = float32(float64(f) * inv)
	}
	return out
}
