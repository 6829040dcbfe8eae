package tickets

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditAnchor is the state of the audit chain exported outside PostgreSQL (a log line,
// an append-only file, optionally a URL or a command). Verification later requires the
// anchored head to be unchanged and the anchored prefix to be whole, so removing the
// tail, removing a prefix or recomputing the chain is caught even by someone who owns
// the table.
type AuditAnchor struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"` // periodic, manual, retention
	// HeadID and HeadHash are the latest event (verified before anchoring).
	HeadID   int64  `json:"head_id"`
	HeadHash string `json:"head_hash"` // hex
	// FirstID is the oldest event kept and FirstPrev its link; Count is the number of
	// events from FirstID to HeadID.
	FirstID   int64  `json:"first_id"`
	FirstPrev string `json:"first_prev_hash"` // hex
	Count     int64  `json:"count"`
	// LegacyUntil is the last event chained with plain SHA-256 (the switch point).
	LegacyUntil int64 `json:"legacy_until"`
}

// AuditReport is what a verification checked.
type AuditReport struct {
	Checked        int          `json:"checked"`
	OldestID       int64        `json:"oldest_id"`
	HeadID         int64        `json:"head_id"`
	LegacyUntil    int64        `json:"legacy_until"`
	AnchorsChecked int          `json:"anchors_checked"`
	LatestAnchor   *AuditAnchor `json:"latest_anchor,omitempty"`
}

// latestAnchor is the anchor with the highest head (the last such line wins).
func latestAnchor(anchors []AuditAnchor) *AuditAnchor {
	var out *AuditAnchor
	for i := range anchors {
		if out == nil || anchors[i].HeadID >= out.HeadID {
			out = &anchors[i]
		}
	}
	return out
}

// legacyUntil reads the switch point recorded by migration 00016.
func (s *AuditTrail) legacyUntil(ctx context.Context) (int64, error) {
	var n int64
	err := s.primary.QueryRow(ctx, `SELECT legacy_until FROM audit_chain`).Scan(&n)
	return n, mapPgErr(err, "audit chain")
}

// walkAudit checks, in id order, every event with id > after: the first must link to
// prev (nil: to whatever it names), each later one to the one before. visit (may be
// nil) sees each checked event. It returns the last event checked and the count.
func (s *AuditTrail) walkAudit(ctx context.Context, after int64, prev []byte, legacy int64, visit func(AuditEvent) error) (AuditEvent, int, error) {
	var last AuditEvent
	n := 0
	for {
		page, err := auditPage(ctx, s.primary, after, 1000)
		if err != nil || len(page) == 0 {
			return last, n, err
		}
		for _, e := range page {
			if prev == nil {
				prev = e.PrevHash
			}
			if err := s.checkEvent(e, prev, legacy); err != nil {
				return last, n, err
			}
			if visit != nil {
				if err := visit(e); err != nil {
					return last, n, err
				}
			}
			prev, after, last = e.Hash, e.ID, e
			n++
		}
	}
}

// VerifyAuditReport walks the whole chain from the oldest event kept (reading the
// primary) and checks it against anchors: every anchored event still present must be
// unchanged, the latest anchor's head must be present, the chain must not start after
// the latest anchor's first event, the events between them must all be there, and the
// switch point must be the anchored one. Failures wrap ErrAuditChain.
func (s *AuditTrail) VerifyAuditReport(ctx context.Context, anchors []AuditAnchor) (AuditReport, error) {
	var rep AuditReport
	var err error
	if rep.LegacyUntil, err = s.legacyUntil(ctx); err != nil {
		return rep, err
	}
	latest := latestAnchor(anchors)
	rep.LatestAnchor = latest
	want := map[int64]string{}
	for _, a := range anchors {
		want[a.HeadID] = a.HeadHash
	}
	var inLatest int64
	visit := func(e AuditEvent) error {
		if rep.Checked == 0 {
			rep.OldestID = e.ID
			if latest != nil && e.ID == latest.FirstID && hex.EncodeToString(e.PrevHash) != latest.FirstPrev {
				return fmt.Errorf("event %d links to another predecessor than anchored on %s: %w", e.ID, latest.At.Format(time.RFC3339), ErrAuditChain)
			}
		}
		if h, ok := want[e.ID]; ok {
			if hex.EncodeToString(e.Hash) != h {
				return fmt.Errorf("anchored event %d has changed: %w", e.ID, ErrAuditChain)
			}
			delete(want, e.ID)
			rep.AnchorsChecked++
		}
		if latest != nil && e.ID >= latest.FirstID && e.ID <= latest.HeadID {
			inLatest++
		}
		rep.Checked++
		return nil
	}
	last, _, err := s.walkAudit(ctx, 0, nil, rep.LegacyUntil, visit)
	rep.HeadID = last.ID
	if err != nil || latest == nil {
		return rep, err
	}
	return rep, checkAgainstAnchor(rep, *latest, want, inLatest)
}

// checkAgainstAnchor reports what the walk found missing compared to the latest anchor.
func checkAgainstAnchor(rep AuditReport, latest AuditAnchor, missing map[int64]string, inLatest int64) error {
	when := latest.At.Format(time.RFC3339)
	switch {
	case rep.Checked == 0:
		return fmt.Errorf("the audit log is empty but was anchored with %d events on %s: %w", latest.Count, when, ErrAuditChain)
	case rep.OldestID > latest.FirstID:
		return fmt.Errorf("the chain now starts at event %d, the anchor of %s starts it at event %d: an anchored prefix was removed: %w",
			rep.OldestID, when, latest.FirstID, ErrAuditChain)
	case rep.LegacyUntil != latest.LegacyUntil:
		return fmt.Errorf("the switch to the keyed chain is now after event %d, anchored after event %d: %w",
			rep.LegacyUntil, latest.LegacyUntil, ErrAuditChain)
	}
	for id := range missing {
		if id >= rep.OldestID {
			return fmt.Errorf("anchored event %d is missing (the tail was removed?): %w", id, ErrAuditChain)
		}
	}
	if inLatest != latest.Count {
		return fmt.Errorf("the anchor of %s counts %d events from %d to %d, the log holds %d: %w",
			when, latest.Count, latest.FirstID, latest.HeadID, inLatest, ErrAuditChain)
	}
	return nil
}

// verifySince checks the events after anchor a (or, with a nil, the whole chain) and
// returns the last event checked (the zero event when there are none).
func (s *AuditTrail) verifySince(ctx context.Context, a *AuditAnchor) (AuditEvent, error) {
	legacy, err := s.legacyUntil(ctx)
	if err != nil {
		return AuditEvent{}, err
	}
	if a == nil {
		last, _, err := s.walkAudit(ctx, 0, nil, legacy, nil)
		return last, err
	}
	head, err := hex.DecodeString(a.HeadHash)
	if err != nil {
		return AuditEvent{}, fmt.Errorf("anchor of %s: head hash: %w", a.At.Format(time.RFC3339), err)
	}
	var stored []byte
	err = s.primary.QueryRow(ctx, `SELECT hash FROM audit_events WHERE id = $1`, a.HeadID).Scan(&stored)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && !bytes.Equal(stored, head) {
		return AuditEvent{}, fmt.Errorf("anchored event %d is missing or changed: %w", a.HeadID, ErrAuditChain)
	}
	if err != nil {
		return AuditEvent{}, mapPgErr(err, "audit")
	}
	last, n, err := s.walkAudit(ctx, a.HeadID, head, legacy, nil)
	if err == nil && n == 0 {
		last = AuditEvent{ID: a.HeadID, Hash: head}
	}
	return last, err
}

// anchorAt describes the chain from firstID (0: the oldest event kept) to head, which
// the caller has verified.
func (s *AuditTrail) anchorAt(ctx context.Context, head AuditEvent, firstID int64) (AuditAnchor, error) {
	a := AuditAnchor{HeadID: head.ID, HeadHash: hex.EncodeToString(head.Hash)}
	var firstPrev []byte
	err := s.primary.QueryRow(ctx, `WITH f AS (
			SELECT id, prev_hash FROM audit_events WHERE id >= $1 ORDER BY id LIMIT 1)
		SELECT f.id, f.prev_hash, (SELECT count(*) FROM audit_events WHERE id >= f.id AND id <= $2), c.legacy_until
		FROM f, audit_chain c`, firstID, head.ID).Scan(&a.FirstID, &firstPrev, &a.Count, &a.LegacyUntil)
	if err != nil {
		return AuditAnchor{}, mapPgErr(err, "audit anchor")
	}
	a.FirstPrev = hex.EncodeToString(firstPrev)
	return a, nil
}
