package kb

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// maxFileBytes bounds the size of one ingested file.
const maxFileBytes = 64 << 20

// flushPoints is how many changed points Ingest buffers before one Upsert.
const flushPoints = 2048

// IngestStats counts what one Ingest run did, by chunk.
type IngestStats struct {
	Files     int `json:"files"`
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Deleted   int `json:"deleted"`
}

// Ingest reads a file or every supported file under a folder (FAQ .csv/.json, Markdown,
// HTML, plain text; hidden entries skipped), chunks it, and brings idx in line with it:
// new chunks are added, chunks whose content hash changed are replaced, unchanged ones
// are left alone, and chunks of documents under path that vanished or shrank are
// deleted. Chunk ids are the document's absolute slash path + "#" + ordinal. Incremental
// behaviour needs idx to implement Hasher; without it every chunk is upserted (counted
// as Added) and nothing is deleted. progress, when not nil, is called after each file
// with the number of files done and the total; the last call comes after the index has
// been updated. WithIngestDense adds dense vectors.
func Ingest(ctx context.Context, idx Index, emb *LexicalEmbedder, path string, progress func(done, total int), opts ...IngestOption) (IngestStats, error) {
	root, files, err := listFiles(path)
	if err != nil {
		return IngestStats{}, err
	}
	existing := map[string]string{}
	if h, ok := idx.(Hasher); ok {
		if existing, err = h.Hashes(ctx); err != nil {
			return IngestStats{}, fmt.Errorf("kb: ingest: list hashes: %w", err)
		}
	}
	run := &ingestRun{idx: idx, emb: emb, existing: existing, seen: map[string]bool{}}
	for _, o := range opts {
		o(run)
	}
	run.stats.Files = len(files)
	for i, f := range files {
		if err := run.file(ctx, root, f); err != nil {
			return run.stats, err
		}
		if progress != nil && i < len(files)-1 {
			progress(i+1, len(files))
		}
	}
	if err := run.finish(ctx, root, len(files) == 1 && files[0] == root); err != nil {
		return run.stats, err
	}
	if progress != nil {
		progress(len(files), len(files))
	}
	return run.stats, nil
}

// listFiles returns the absolute root and the sorted supported files under it.
func listFiles(path string) (string, []string, error) {
	root, err := filepath.Abs(path)
	if err != nil {
		return "", nil, fmt.Errorf("kb: ingest %s: %w", path, err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return "", nil, fmt.Errorf("kb: ingest: %w", err)
	}
	if !fi.IsDir() {
		if formatOf(root) == "" {
			return "", nil, fmt.Errorf("%w: %s (want .csv, .json, .md, .html or .txt)", ErrUnsupported, path)
		}
		return root, []string{root}, nil
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && formatOf(p) != "" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", nil, fmt.Errorf("kb: ingest: walk %s: %w", path, err)
	}
	sort.Strings(files)
	return root, files, nil
}

// IngestOption changes how Ingest embeds chunks.
type IngestOption func(*ingestRun)

// WithIngestDense gives every added or changed chunk a dense vector from enc (in batches
// when enc implements BatchEncoder). When enc implements Fingerprinter its fingerprint is
// part of each chunk's hash, so switching encoders re-embeds everything on the next
// ingest.
func WithIngestDense(enc DenseEncoder) IngestOption {
	return func(r *ingestRun) { r.dense = enc }
}

// denseBatch is how many chunks one dense encoder call embeds.
const denseBatch = 32

// ingestRun carries the state of one Ingest call.
type ingestRun struct {
	idx      Index
	emb      *LexicalEmbedder
	dense    DenseEncoder
	existing map[string]string
	seen     map[string]bool
	batch    []Point
	stats    IngestStats
}

// file parses one file, turns it into points and queues those whose hash changed.
func (r *ingestRun) file(ctx context.Context, root, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("kb: ingest: %w", err)
	}
	data, err := readAllLimited(f, maxFileBytes)
	f.Close()
	if err != nil {
		return fmt.Errorf("kb: ingest %s: %w", path, err)
	}
	doc, err := parseDocument(formatOf(path), filepath.Base(path), data)
	if err != nil {
		return fmt.Errorf("kb: ingest %s: %w", path, err)
	}
	points, err := r.points(doc, filepath.ToSlash(path), sourceOf(root, path))
	if err != nil {
		return fmt.Errorf("kb: ingest %s: %w", path, err)
	}
	for _, p := range points {
		r.seen[p.Chunk.ID] = true
		old, known := r.existing[p.Chunk.ID]
		switch {
		case known && old == p.Hash:
			r.stats.Unchanged++
			continue
		case known:
			r.stats.Updated++
		default:
			r.stats.Added++
		}
		r.batch = append(r.batch, p)
	}
	if len(r.batch) >= flushPoints {
		return r.flush(ctx)
	}
	return nil
}

func (r *ingestRun) flush(ctx context.Context) error {
	if len(r.batch) == 0 {
		return nil
	}
	if err := r.embedDense(ctx); err != nil {
		return err
	}
	if err := r.idx.Upsert(ctx, r.batch); err != nil {
		return fmt.Errorf("kb: ingest: upsert: %w", err)
	}
	r.batch = r.batch[:0]
	return nil
}

// embedDense fills the dense vectors of the queued points.
func (r *ingestRun) embedDense(ctx context.Context) error {
	if r.dense == nil {
		return nil
	}
	for start := 0; start < len(r.batch); start += denseBatch {
		part := r.batch[start:min(start+denseBatch, len(r.batch))]
		texts := make([]string, len(part))
		for i, p := range part {
			texts[i] = embedText(p.Chunk)
		}
		vecs, err := encodeTexts(ctx, r.dense, texts)
		if err != nil {
			return fmt.Errorf("kb: ingest: dense encoder: %w", err)
		}
		if len(vecs) != len(part) {
			return fmt.Errorf("kb: ingest: dense encoder returned %d vectors for %d texts", len(vecs), len(part))
		}
		for i := range part {
			part[i].Dense = vecs[i]
		}
	}
	return nil
}

// finish upserts what is queued and deletes stored chunks of documents under root that
// this run did not produce.
func (r *ingestRun) finish(ctx context.Context, root string, single bool) error {
	if err := r.flush(ctx); err != nil {
		return err
	}
	rootID := filepath.ToSlash(root)
	var gone []string
	for id := range r.existing {
		doc := DocIDOf(id)
		inScope := doc == rootID || (!single && strings.HasPrefix(doc, rootID+"/"))
		if inScope && !r.seen[id] {
			gone = append(gone, id)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	sort.Strings(gone)
	if err := r.idx.Delete(ctx, gone); err != nil {
		return fmt.Errorf("kb: ingest: delete: %w", err)
	}
	r.stats.Deleted = len(gone)
	return nil
}

// DocIDOf returns the document id part of a chunk id ("…/faq.csv#12" → "…/faq.csv").
func DocIDOf(chunkID string) string {
	if i := strings.LastIndexByte(chunkID, '#'); i >= 0 {
		return chunkID[:i]
	}
	return chunkID
}

// sourceOf names a file for citations: its path below the ingested folder's parent.
func sourceOf(root, path string) string {
	if root == path {
		return filepath.Base(path)
	}
	rel, err := filepath.Rel(filepath.Dir(root), path)
	if err != nil {
		return filepath.Base(path)
	}
	return filepath.ToSlash(rel)
}

// points turns a parsed document into chunks with vectors and hashes.
func (r *ingestRun) points(doc document, docID, source string) ([]Point, error) {
	var chunks []Chunk
	kinds := map[int]string{} // chunk → kind, where not the document's
	if doc.Kind == "faq" {
		answered := map[string]bool{}
		for _, e := range doc.FAQ {
			for _, q := range e.phrasings() {
				chunks = append(chunks, Chunk{Title: e.Question, Text: q, Answer: e.Answer})
			}
			// the answer is searchable too, once however many entries give it: a customer
			// may use its words, not the question's
			if !answered[e.Answer] {
				answered[e.Answer] = true
				kinds[len(chunks)] = KindFAQAnswer
				chunks = append(chunks, Chunk{Title: e.Question, Text: e.Answer, Answer: e.Answer})
			}
		}
	} else {
		parts, err := splitProse(doc.Text)
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			chunks = append(chunks, Chunk{Title: doc.Title, Text: p})
		}
	}
	points := make([]Point, len(chunks))
	for i, c := range chunks {
		c.ID, c.DocID, c.Source = docID+"#"+strconv.Itoa(i), docID, source
		c.Meta = map[string]string{"kind": cmp.Or(kinds[i], doc.Kind), "lang": Language(c.Text)}
		points[i] = Point{Chunk: c, Hash: r.hash(c), Sparse: r.emb.Document(embedText(c))}
	}
	return points, nil
}

// KindFAQAnswer is the kind (Chunk.Meta["kind"]) of the chunk holding an FAQ entry's
// answer text, beside the chunks of its question's phrasings (kind "faq").
const KindFAQAnswer = "faq_answer"

// embedText is what gets embedded: one phrasing of an FAQ entry's question, or its
// answer; title and passage for prose.
func embedText(c Chunk) string {
	if c.Answer != "" || c.Title == c.Text {
		return c.Text
	}
	return c.Title + "\n" + c.Text
}

// hash covers the chunk's content and the embedder's parameters, so changing either
// re-embeds the chunk. Source is left out: it depends on which folder was ingested, and
// ingesting one file of a folder on its own must not count as a change.
func (r *ingestRun) hash(c Chunk) string {
	h := sha256.New()
	fmt.Fprintf(h, "%g|%g|%g|%t\x00", r.emb.K1, r.emb.B, r.emb.avgLen(), r.emb.StopWords)
	if f, ok := r.dense.(Fingerprinter); ok {
		fmt.Fprintf(h, "dense:%s\x00", f.Fingerprint())
	} else if r.dense != nil {
		h.Write([]byte("dense\x00"))
	}
	for _, s := range []string{c.Title, c.Text, c.Answer, c.Meta["kind"]} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Language returns "zh" when at least a fifth of the letters of text are CJK, else "en".
func Language(text string) string {
	if cjk, letters := scripts(text); letters > 0 && cjk*5 >= letters {
		return "zh"
	}
	return "en"
}

// speaks reports whether text can answer a customer writing in lang: Chinese when at
// least a fifth of its letters are CJK (as Language decides), English when at least half
// are not; text without letters speaks every language.
func speaks(text, lang string) bool {
	cjk, letters := scripts(text)
	switch {
	case letters == 0:
		return true
	case lang == "zh":
		return cjk*5 >= letters
	default:
		return (letters-cjk)*2 >= letters
	}
}

// scripts counts the CJK characters and all letters of text.
func scripts(text string) (cjk, letters int) {
	for _, r := range text {
		switch {
		case isCJK(r):
			cjk++
			letters++
		case unicode.IsLetter(r):
			letters++
		}
	}
	return cjk, letters
}

// Changed reports whether the run added, replaced or deleted any chunk (and so needs a
// new generation).
func (s IngestStats) Changed() bool { return s.Added+s.Updated+s.Deleted > 0 }
