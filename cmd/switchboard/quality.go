package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/nlp/quality"
	"github.com/switchboard-cs/switchboard/nlp/sentiment"
	"github.com/switchboard-cs/switchboard/tickets"
)

// qualityInspector adapts nlp/quality to the ticket core's ReplyInspector: each skill
// group's rules (those saved from the admin page, else quality.rules_file, else the
// built-in ones), personal data found by the redactor the pipeline uses. What it
// returns names the data's kind, never the data.
type qualityInspector struct {
	finder quality.PIIFinder
	// hostile, when set (the sentiment model of quality.sentiment_model), reads the
	// rudeness the rules' cues miss.
	hostile quality.HostilityScorer
	// base are the rules of quality.rules_file (or the built-in ones): baseYAML is the
	// file's text, baseSource "file" or "built-in".
	base                 quality.RuleSet
	baseYAML, baseSource string
	// stored reads the rules saved from the admin page (nil: never looked for); they
	// are read again at most every rulesRecheck.
	stored    rulesStore
	mu        sync.Mutex
	set       quality.RuleSet
	version   int64 // of the stored rules in force; 0: base
	checkedAt time.Time
	checkers  map[string]*quality.Checker
}

// rulesStore reads the rule set saved from the admin page (*tickets.Store).
type rulesStore interface {
	StoredQualityRules(ctx context.Context) (tickets.QualityRules, bool, error)
}

// rulesRecheck is how soon a rule set saved on one replica is in force on the others.
const rulesRecheck = 5 * time.Second

func newQualityInspector(qc config.QualityConfig, red *pii.Redactor) (*qualityInspector, error) {
	set := quality.RuleSet{Default: quality.DefaultRules()}
	if qc.RulesFile != "" {
		raw, err := os.ReadFile(qc.RulesFile)
		if err != nil {
			return nil, fmt.Errorf("quality.rules_file: %w", err)
		}
		if set, err = quality.ParseRuleSet(raw); err != nil {
			return nil, fmt.Errorf("quality.rules_file %s: %w", qc.RulesFile, err)
		}
	}
	q := &qualityInspector{base: set, set: set, baseSource: "built-in", checkers: map[string]*quality.Checker{}}
	if qc.RulesFile != "" {
		raw, _ := os.ReadFile(qc.RulesFile)
		q.baseYAML, q.baseSource = string(raw), "file"
	}
	if red != nil {
		q.finder = red
	}
	return q, nil
}

// refresh puts the stored rules in force when they changed (at most every
// rulesRecheck); a failed read keeps the rules in force.
func (q *qualityInspector) refresh(ctx context.Context) {
	q.mu.Lock()
	due := q.stored != nil && time.Since(q.checkedAt) >= rulesRecheck
	if due {
		q.checkedAt = time.Now()
	}
	q.mu.Unlock()
	if !due {
		return
	}
	doc, found, err := q.stored.StoredQualityRules(ctx)
	if err != nil {
		return
	}
	q.apply(doc, found)
}

// apply puts doc's rules in force (found), or the base rules (not found).
func (q *qualityInspector) apply(doc tickets.QualityRules, found bool) {
	set, version := q.base, int64(0)
	if found {
		parsed, err := quality.ParseRuleSet([]byte(doc.YAML))
		if err != nil {
			return // validated when saved: only a newer build's rules could fail here
		}
		set, version = parsed, doc.Version
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	// only forward: a read from before a save must not undo it
	if (found && version <= q.version) || (!found && q.version == 0) {
		return
	}
	q.set, q.version, q.checkers = set, version, map[string]*quality.Checker{}
}

func (q *qualityInspector) checker(group string) *quality.Checker {
	q.mu.Lock()
	defer q.mu.Unlock()
	c, ok := q.checkers[group]
	if !ok {
		c = quality.NewChecker(q.set.For(group), q.finder)
		if q.hostile != nil {
			c = c.WithHostility(q.hostile, 0)
		}
		q.checkers[group] = c
	}
	return c
}

func (q *qualityInspector) InspectReply(ctx context.Context, group, text string, at tickets.ReplyPosition) (tickets.ReplyQuality, error) {
	pos := quality.Middle
	switch at {
	case tickets.PositionFirst:
		pos = quality.First
	case tickets.PositionLast:
		pos = quality.Last
	}
	q.refresh(ctx)
	res, err := q.checker(group).Check(ctx, quality.Reply{Text: text, Position: pos})
	if err != nil {
		return tickets.ReplyQuality{}, err
	}
	out := tickets.ReplyQuality{Score: res.Score, Findings: make([]tickets.QualityFinding, 0, len(res.Findings))}
	for _, f := range res.Findings {
		out.Findings = append(out.Findings, tickets.QualityFinding{Check: string(f.Check), Cue: f.Cue, Kind: f.Kind})
	}
	return out, nil
}

// qualityRulesEditor serves the admin page's rule editing: the rules in force and, on a
// save, the new rules validated, stored (audited) and put in force at once here (the
// other replicas within rulesRecheck).
type qualityRulesEditor struct {
	insp *qualityInspector
	svc  *tickets.Service
}

func (e qualityRulesEditor) QualityRules(ctx context.Context) (tickets.QualityRules, error) {
	builtIn, err := yaml.Marshal(map[string]quality.Rules{"default": quality.DefaultRules()})
	if err != nil {
		return tickets.QualityRules{}, err
	}
	doc, found, err := e.insp.stored.StoredQualityRules(ctx)
	if err != nil {
		return tickets.QualityRules{}, err
	}
	if !found {
		doc = tickets.QualityRules{YAML: e.insp.baseYAML, Source: e.insp.baseSource}
	}
	doc.BuiltIn = string(builtIn)
	return doc, nil
}

func (e qualityRulesEditor) SetQualityRules(ctx context.Context, actor tickets.Actor, text string) (tickets.QualityRules, error) {
	if strings.TrimSpace(text) == "" {
		return tickets.QualityRules{}, fmt.Errorf("%w: the rules are empty; `default: {}` keeps the built-in ones", tickets.ErrInvalid)
	}
	if _, err := quality.ParseRuleSet([]byte(text)); err != nil {
		return tickets.QualityRules{}, fmt.Errorf("%w: %v", tickets.ErrInvalid, err)
	}
	doc, err := e.svc.SaveQualityRules(ctx, actor, text)
	if err != nil {
		return tickets.QualityRules{}, err
	}
	e.insp.apply(doc, true)
	return e.QualityRules(ctx)
}

// loadSentiment loads quality.sentiment_model when its file exists (`quality train`
// writes it; make run does): nil when it is off or absent, an error when it is there
// but unreadable.
func loadSentiment(cfg config.Config) (*sentiment.Model, error) {
	path := cfg.SentimentModel()
	if path == "" {
		return nil, nil
	}
	m, err := sentiment.LoadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("quality.sentiment_model: %w (switchboard quality train writes it anew)", err)
	}
	return m, nil
}
