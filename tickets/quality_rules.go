package tickets

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// QualityRules is the quality inspection's rule set as the admin page edits it: YAML in
// quality.rules_file's format, and where the rules in force come from ("database" once
// saved there, else "file" or "built-in"). BuiltIn is the built-in rules as YAML, for
// reference.
type QualityRules struct {
	YAML      string     `json:"yaml"`
	Source    string     `json:"source"`
	Version   int64      `json:"version"`
	UpdatedBy string     `json:"updated_by,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
	BuiltIn   string     `json:"built_in"`
}

// maxRulesBytes bounds a rule set.
const maxRulesBytes = 256 << 10

// StoredQualityRules returns the rule set saved from the admin page; found is false
// when none was.
func (s *TicketRecords) StoredQualityRules(ctx context.Context) (QualityRules, bool, error) {
	var q QualityRules
	var at time.Time
	err := s.primary.QueryRow(ctx, `SELECT rules, version, updated_by, updated_at FROM quality_rules WHERE id = 1`).
		Scan(&q.YAML, &q.Version, &q.UpdatedBy, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return QualityRules{}, false, nil
	}
	if err != nil {
		return QualityRules{}, false, mapPgErr(err, "quality rules")
	}
	q.Source, q.UpdatedAt = "database", &at
	return q, true, nil
}

// SaveQualityRules stores a rule set (the caller validated it) in place of the file's,
// audited as quality.rules with its new version.
func (s *Service) SaveQualityRules(ctx context.Context, actor Actor, yaml string) (QualityRules, error) {
	if len(yaml) > maxRulesBytes {
		return QualityRules{}, fmt.Errorf("quality rules: %d bytes, at most %d: %w", len(yaml), maxRulesBytes, ErrInvalid)
	}
	var q QualityRules
	var at time.Time
	err := pgx.BeginFunc(ctx, s.store.primary, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO quality_rules (id, rules, version, updated_by) VALUES (1, $1, 1, $2)
			ON CONFLICT (id) DO UPDATE SET rules = EXCLUDED.rules, version = quality_rules.version + 1,
				updated_by = EXCLUDED.updated_by, updated_at = now()
			RETURNING rules, version, updated_by, updated_at`, yaml, actor.ID).Scan(&q.YAML, &q.Version, &q.UpdatedBy, &at)
		if err != nil {
			return err
		}
		return s.store.AppendAudit(ctx, tx, actor.ID, "quality.rules", "quality_rules", map[string]any{"version": q.Version, "bytes": len(yaml)})
	})
	if err != nil {
		return QualityRules{}, mapPgErr(err, "quality rules")
	}
	q.Source, q.UpdatedAt = "database", &at
	return q, nil
}
