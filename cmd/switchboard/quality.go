package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/nlp/quality"
	"github.com/switchboard-cs/switchboard/nlp/sentiment"
	"github.com/switchboard-cs/switchboard/tickets"
)

// qualityInspector adapts nlp/quality to the ticket core's ReplyInspector: each skill
// group's rules (quality.rules_file, else the built-in ones), personal data found by
// the redactor the pipeline uses. What it returns names the data's kind, never the data.
type qualityInspector struct {
	set    quality.RuleSet
	finder quality.PIIFinder
	// hostile, when set (the sentiment model of quality.sentiment_model), reads the
	// rudeness the rules' cues miss.
	hostile  quality.HostilityScorer
	mu       sync.Mutex
	checkers map[string]*quality.Checker
}

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
	q := &qualityInspector{set: set, checkers: map[string]*quality.Checker{}}
	if red != nil {
		q.finder = red
	}
	return q, nil
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
