package tickets

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// AnchorOptions configure an Anchorer.
type AnchorOptions struct {
	// File is the append-only JSON-lines file anchors are written to (fsynced) and
	// verification reads them from. Required.
	File string
	// URL, when set, receives each anchor as a JSON POST (best effort).
	URL string
	// Command, when set, is run by /bin/sh with each anchor as JSON on its standard
	// input (best effort).
	Command string
	Client  *http.Client
	Log     *slog.Logger
	// Registerer takes the anchor metrics; nil registers nowhere.
	Registerer prometheus.Registerer
}

// Anchorer exports the audit chain's head outside PostgreSQL and verifies the chain
// against what it exported. Methods are safe for concurrent use.
type Anchorer struct {
	store   *Store
	opts    AnchorOptions
	mu      sync.Mutex // one anchor or purge at a time in this process
	anchors *prometheus.CounterVec
	purged  prometheus.Counter
}

// NewAnchorer returns an Anchorer for store.
func NewAnchorer(store *Store, opts AnchorOptions) *Anchorer {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 15 * time.Second}
	}
	a := &Anchorer{store: store, opts: opts,
		anchors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_audit_anchors_total",
			Help: "Audit chain anchors by result (ok, error: the chain did not verify or the anchor file could not be written).",
		}, []string{"result"}),
		purged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_audit_purged_events_total",
			Help: "Audit events removed by retention (after their boundary was anchored).",
		}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(a.anchors, a.purged)
	}
	return a
}

// ReadAnchors reads an anchor file; a missing file holds no anchors. A torn last line
// (a crash while appending) is ignored.
func ReadAnchors(path string) ([]AuditAnchor, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit anchors: %w", err)
	}
	var out []AuditAnchor
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var a AuditAnchor
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			if !bytes.HasSuffix(data, []byte("\n")) && line == bytes.Count(data, []byte("\n"))+1 {
				break // torn last line
			}
			return nil, fmt.Errorf("audit anchors: %s line %d: %w", path, line, err)
		}
		out = append(out, a)
	}
	return out, sc.Err()
}

// Verify checks the chain against the anchors in the file (see VerifyAuditReport).
func (a *Anchorer) Verify(ctx context.Context) (AuditReport, error) {
	anchors, err := ReadAnchors(a.opts.File)
	if err != nil {
		return AuditReport{}, err
	}
	return a.store.VerifyAuditReport(ctx, anchors)
}

// Anchor verifies the events added since the latest anchor, and that the chain still
// starts where that anchor says, and exports the head; so an anchor never covers up a
// removed tail or prefix or a recomputed chain (a rewritten event before the latest
// anchor stays visible to Verify, its HMAC no longer matching). An empty chain is not
// anchored (ok false). A periodic anchor is skipped when nothing changed since the
// latest one.
func (a *Anchorer) Anchor(ctx context.Context, reason string) (anchor AuditAnchor, ok bool, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.anchorLocked(ctx, reason, 0)
}

func (a *Anchorer) anchorLocked(ctx context.Context, reason string, firstID int64) (AuditAnchor, bool, error) {
	anchors, err := ReadAnchors(a.opts.File)
	if err != nil {
		return AuditAnchor{}, false, a.count(err)
	}
	latest := latestAnchor(anchors)
	head, err := a.store.verifySince(ctx, latest)
	if err != nil || head.ID == 0 {
		return AuditAnchor{}, false, a.count(err)
	}
	anchor, err := a.store.anchorAt(ctx, head, firstID)
	if err != nil {
		return AuditAnchor{}, false, a.count(err)
	}
	if latest != nil && firstID == 0 && anchor.FirstID > latest.FirstID {
		return AuditAnchor{}, false, a.count(fmt.Errorf("the chain now starts at event %d, the anchor of %s starts it at event %d: "+
			"an anchored prefix was removed: %w", anchor.FirstID, latest.At.Format(time.RFC3339), latest.FirstID, ErrAuditChain))
	}
	anchor.At, anchor.Reason = time.Now().UTC(), reason
	if reason == "periodic" && latest != nil && latest.HeadID == anchor.HeadID && latest.FirstID == anchor.FirstID {
		return *latest, true, nil
	}
	if err := a.export(ctx, anchor); err != nil {
		return AuditAnchor{}, false, a.count(err)
	}
	return anchor, true, a.count(nil)
}

// count records an anchoring outcome and returns err.
func (a *Anchorer) count(err error) error {
	if err != nil {
		a.anchors.WithLabelValues("error").Inc()
	} else {
		a.anchors.WithLabelValues("ok").Inc()
	}
	return err
}

// export writes anchor to the file (required), the log, and the URL and command when
// configured (failures there are logged, not returned).
func (a *Anchorer) export(ctx context.Context, anchor AuditAnchor) error {
	line, err := json.Marshal(anchor)
	if err != nil {
		return err
	}
	if err := appendSynced(a.opts.File, append(line, '\n')); err != nil {
		return fmt.Errorf("audit anchor file: %w", err)
	}
	a.opts.Log.Info("audit anchor", "reason", anchor.Reason, "head_id", anchor.HeadID, "head_hash", anchor.HeadHash,
		"first_id", anchor.FirstID, "count", anchor.Count, "legacy_until", anchor.LegacyUntil)
	if a.opts.URL != "" {
		if err := a.post(ctx, line); err != nil {
			a.opts.Log.Warn("audit anchor: POST to audit.anchor_url failed", "err", err)
		}
	}
	if a.opts.Command != "" {
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", a.opts.Command)
		cmd.Stdin = bytes.NewReader(line)
		if out, err := cmd.CombinedOutput(); err != nil {
			a.opts.Log.Warn("audit anchor: audit.anchor_command failed", "err", err, "output", string(bytes.TrimSpace(out)))
		}
	}
	return nil
}

func (a *Anchorer) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.opts.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.opts.Client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// appendSynced appends data to path (created 0600 with its directory 0700) and fsyncs it.
func appendSynced(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// PurgeOlderThan removes the audit events older than retention (at least 180 days, as
// the table's guard insists), a prefix of the chain, never the latest event. It first
// anchors the new oldest event, so verification still works from there. It returns how
// many events it removed.
func (a *Anchorer) PurgeOlderThan(ctx context.Context, retention time.Duration) (int64, error) {
	if retention < 180*24*time.Hour {
		return 0, fmt.Errorf("audit retention %s: at least 180 days: %w", retention, ErrInvalid)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var oldest, boundary *int64
	err := a.store.primary.QueryRow(ctx, `SELECT (SELECT min(id) FROM audit_events),
			coalesce((SELECT min(id) FROM audit_events WHERE at >= $1), (SELECT max(id) FROM audit_events))`,
		time.Now().Add(-retention)).Scan(&oldest, &boundary)
	if err != nil {
		return 0, mapPgErr(err, "audit retention")
	}
	if oldest == nil || *oldest >= *boundary {
		return 0, nil
	}
	if _, _, err := a.anchorLocked(ctx, "retention", *boundary); err != nil {
		return 0, fmt.Errorf("anchor before purging the audit log: %w", err)
	}
	var n int64
	if err := a.store.primary.QueryRow(ctx, `SELECT audit_purge($1)`, *boundary).Scan(&n); err != nil {
		return 0, mapPgErr(err, "audit retention")
	}
	a.purged.Add(float64(n))
	return n, nil
}

// Run anchors every interval until ctx ends; failures are logged at ERROR (a chain
// that does not verify is never anchored).
func (a *Anchorer) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, _, err := a.Anchor(ctx, "periodic"); err != nil && ctx.Err() == nil {
			a.opts.Log.Error("audit anchor failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
