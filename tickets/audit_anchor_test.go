package tickets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/switchboard-cs/switchboard/internal/fieldcrypt"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// appendN appends n events as actor.
func appendN(t *testing.T, s *Store, n int, actor string) {
	t.Helper()
	for i := range n {
		if err := s.AppendAudit(context.Background(), nil, actor, "test.event", fmt.Sprint(i), map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
}

// asOwner runs statements with the audit triggers switched off, as an owner of the
// table (the test's superuser) could.
func asOwner(t *testing.T, pool *pgxpool.Pool, stmts ...string) {
	t.Helper()
	all := append([]string{`ALTER TABLE audit_events DISABLE TRIGGER USER`, `ALTER TABLE audit_chain DISABLE TRIGGER USER`}, stmts...)
	all = append(all, `ALTER TABLE audit_events ENABLE TRIGGER USER`, `ALTER TABLE audit_chain ENABLE TRIGGER USER`)
	for _, q := range all {
		if _, err := pool.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestAuditTamperingIsDetected: with an anchor exported, each way an owner of the table
// could rewrite history is caught: removing the tail, removing a prefix, and
// recomputing the whole chain with plain SHA-256 (with or without moving the recorded
// switch point); and the chain alone (without anchors) already refuses the recomputed
// chain.
func TestAuditTamperingIsDetected(t *testing.T) {
	sqlTamper := func(stmts ...string) func(*testing.T, *pgxpool.Pool) {
		return func(t *testing.T, pool *pgxpool.Pool) { asOwner(t, pool, stmts...) }
	}
	tests := []struct {
		name       string
		tamper     func(*testing.T, *pgxpool.Pool)
		noAnchorOK bool // the chain alone does not show it; only the anchor does
		want       string
	}{
		{"tail removed", sqlTamper(`DELETE FROM audit_events WHERE id > (SELECT max(id) - 3 FROM audit_events)`), true, "is missing"},
		{"prefix removed", sqlTamper(`DELETE FROM audit_events WHERE id < (SELECT min(id) + 3 FROM audit_events)`), true, "prefix was removed"},
		{"recomputed with SHA-256", recomputeSHA256(false), false, "unkeyed"},
		{"recomputed with SHA-256, switch point moved", recomputeSHA256(true), true, "has changed"},
		{"one event rewritten", sqlTamper(`UPDATE audit_events SET actor = 'mallory' WHERE id = (SELECT min(id) + 4 FROM audit_events)`), false, "does not match"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pool := migratedPool(t)
			s := NewStore(pool, nil, testKeyRing(t))
			ctx := context.Background()
			a := NewAnchorer(s, AnchorOptions{File: filepath.Join(t.TempDir(), "audit-anchors.jsonl")})
			appendN(t, s, 10, "alice")
			anchor, ok, err := a.Anchor(ctx, "manual")
			if err != nil || !ok || anchor.Count != 10 {
				t.Fatalf("anchor: %+v %v %v", anchor, ok, err)
			}
			if rep, err := a.Verify(ctx); err != nil || rep.Checked != 10 || rep.AnchorsChecked != 1 {
				t.Fatalf("verify before tampering: %+v, %v", rep, err)
			}
			tc.tamper(t, pool)
			_, err = s.VerifyAudit(ctx)
			if tc.noAnchorOK != (err == nil) {
				t.Errorf("chain alone: err %v, want an error: %v", err, !tc.noAnchorOK)
			}
			_, err = a.Verify(ctx)
			if !errors.Is(err, ErrAuditChain) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("verify with anchors: %v, want ErrAuditChain mentioning %q", err, tc.want)
			}
			// Anchoring afterwards refuses, or at least does not cover it up.
			if _, _, err := a.Anchor(ctx, "manual"); err == nil {
				if _, err := a.Verify(ctx); !errors.Is(err, ErrAuditChain) {
					t.Errorf("a new anchor covered up the tampering: verify says %v", err)
				}
			} else if !errors.Is(err, ErrAuditChain) {
				t.Errorf("anchor: %v, want ErrAuditChain", err)
			}
		})
	}
}

// recomputeSHA256 returns a tampering that rewrites every event as the unkeyed SHA-256
// chain of earlier versions, as someone without the key ring can; with moveSwitch it
// also moves the recorded switch point past the last event.
func recomputeSHA256(moveSwitch bool) func(*testing.T, *pgxpool.Pool) {
	return func(t *testing.T, pool *pgxpool.Pool) {
		ctx := context.Background()
		events, err := auditPage(ctx, pool, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var stmts []string
		prev := make([]byte, 32)
		for _, e := range events {
			e.KeyID = ""
			h := legacyAuditHash(prev, e)
			stmts = append(stmts, fmt.Sprintf(`UPDATE audit_events SET key_id = NULL, prev_hash = '\x%x', hash = '\x%x' WHERE id = %d`, prev, h, e.ID))
			prev = h
		}
		if moveSwitch {
			stmts = append(stmts, `UPDATE audit_chain SET legacy_until = (SELECT max(id) FROM audit_events)`)
		}
		asOwner(t, pool, stmts...)
	}
}

// rotatedTestRing is testKeyRing after a rotation: k1 retired, k2 active.
func rotatedTestRing(t testing.TB) *fieldcrypt.KeyRing {
	t.Helper()
	k1, k2 := make([]byte, 32), make([]byte, 32)
	for i := range k1 {
		k1[i], k2[i] = byte(i), byte(100+i)
	}
	ring, err := fieldcrypt.New(map[string][]byte{"k1": k1, "k2": k2}, "k2", []byte("index-key-index-key-index-key-32"))
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

func TestAuditTruncateAndChangesRefused(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	appendN(t, s, 3, "bob")
	ctx := context.Background()
	for _, q := range []string{
		`TRUNCATE audit_events`,
		`TRUNCATE audit_chain`,
		`UPDATE audit_chain SET legacy_until = 99`,
		`DELETE FROM audit_chain`,
		`INSERT INTO audit_events (actor, action, prev_hash, hash) VALUES ('x', 'y', '\x00', '\x01')`,
		`INSERT INTO audit_events (actor, action, prev_hash, hash, key_id) VALUES ('x', 'y', '\x00', '\x01', 'k1')`,
	} {
		if _, err := pool.Exec(ctx, q); err == nil {
			t.Errorf("%s succeeded", q)
		}
	}
	if n, err := s.VerifyAudit(ctx); err != nil || n != 3 {
		t.Fatalf("verify: %d, %v", n, err)
	}
}

// TestAuditChainSwitchesFromLegacy: events chained by earlier versions (plain SHA-256)
// keep verifying up to the switch point recorded by the migration; new events are keyed,
// with the key id of the active key, also across a rotation.
func TestAuditChainSwitchesFromLegacy(t *testing.T) {
	dsn := testenv.PG(t)
	ctx := context.Background()
	pre := testenv.Pool(t, dsn)
	db := stdlib.OpenDBFromPool(pre)
	defer db.Close()
	dir, _ := fs.Sub(migrations, "migrations")
	p, err := goose.NewProvider(goose.DialectPostgres, db, dir, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	// Up to the migration before the keyed chain, wherever it sits in the sequence.
	keyed, err := fs.Glob(dir, "*_audit_keyed_chain.sql")
	if err != nil || len(keyed) != 1 {
		t.Fatalf("the keyed-chain migration: %v %v", keyed, err)
	}
	before, err := strconv.ParseInt(strings.SplitN(keyed[0], "_", 2)[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, before-1); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		e, _ := newAuditEvent("legacy", "old.event", fmt.Sprint(i), nil)
		if _, err := db.ExecContext(ctx, `SELECT audit_append($1, $2, $3, $4, $5, $6)`,
			e.At, e.Actor, e.Action, e.Target, string(e.Detail), auditTail(e)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	pool := testenv.Pool(t, dsn)
	ring := testKeyRing(t)
	s := NewStore(pool, nil, ring)
	appendN(t, s, 2, "new")
	rotated := rotatedTestRing(t)
	appendN(t, NewStore(pool, nil, rotated), 2, "after-rotation")
	rep, err := NewStore(pool, nil, rotated).VerifyAuditReport(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(AuditReport{Checked: 7, OldestID: 1, HeadID: 7, LegacyUntil: 3}, rep); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	events, _ := s.AuditLog(ctx, 0, 100)
	var keys []string
	for _, e := range events {
		keys = append(keys, e.KeyID)
	}
	if diff := cmp.Diff([]string{"", "", "", "k1", "k1", "k2", "k2"}, keys); diff != "" {
		t.Errorf("key ids (-want +got):\n%s", diff)
	}
	// The old ring alone cannot verify events made under the rotated key.
	if _, err := s.VerifyAudit(ctx); err == nil {
		t.Error("a ring without the new key verified its events")
	}
}

// TestAuditRetentionAnchorsTheBoundary: events older than the retention go, the rest
// verifies against the retention anchor, and removing more of the prefix afterwards is
// still caught.
func TestAuditRetentionAnchorsTheBoundary(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	old := time.Now().Add(-400 * 24 * time.Hour)
	auditClock = func() time.Time { return old }
	appendN(t, s, 5, "old")
	auditClock = time.Now
	appendN(t, s, 4, "new")
	a := NewAnchorer(s, AnchorOptions{File: filepath.Join(t.TempDir(), "anchors.jsonl")})
	if _, _, err := a.Anchor(ctx, "periodic"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PurgeOlderThan(ctx, 100*24*time.Hour); !errors.Is(err, ErrInvalid) {
		t.Errorf("a retention under 180 days: %v, want ErrInvalid", err)
	}
	n, err := a.PurgeOlderThan(ctx, 365*24*time.Hour)
	if err != nil || n != 5 {
		t.Fatalf("purge: %d, %v; want 5", n, err)
	}
	rep, err := a.Verify(ctx)
	if err != nil || rep.Checked != 4 || rep.OldestID != 6 {
		t.Fatalf("verify after purge: %+v, %v", rep, err)
	}
	if n, err := a.PurgeOlderThan(ctx, 365*24*time.Hour); err != nil || n != 0 {
		t.Errorf("second purge: %d, %v", n, err)
	}
	anchors, _ := ReadAnchors(a.opts.File)
	if got := anchors[len(anchors)-1]; got.Reason != "retention" || got.FirstID != 6 || got.Count != 4 {
		t.Errorf("last anchor %+v, want the retention boundary at 6 with 4 events", got)
	}
	asOwner(t, pool, `DELETE FROM audit_events WHERE id = 6`)
	if _, err := a.Verify(ctx); !errors.Is(err, ErrAuditChain) {
		t.Errorf("removing the new first event after the purge: %v, want ErrAuditChain", err)
	}
}

func TestReadAnchorsIgnoresATornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.jsonl")
	if err := appendSynced(path, []byte(`{"head_id":3,"head_hash":"ab"}`+"\n"+`{"head_id":4,"he`)); err != nil {
		t.Fatal(err)
	}
	got, err := ReadAnchors(path)
	if err != nil || len(got) != 1 || got[0].HeadID != 3 {
		t.Fatalf("ReadAnchors = %+v, %v", got, err)
	}
	if err := appendSynced(path, []byte("\n{}\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAnchors(path); err == nil {
		t.Error("a broken line in the middle was accepted")
	}
}
