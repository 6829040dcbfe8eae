package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/assist"
	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/kb"
)

// liveBrain answers with the brain of the newest good knowledge-base generation: each
// call takes the brain being served, so a reload never changes one under a request.
// It reports the generation it serves (gateway.KBStatus).
type liveBrain struct {
	*kb.Reloader[brain]
	parts brainParts
	jobs  *kb.Jobs // uploads through POST /v1/kb/documents
	pool  *pgxpool.Pool
	wake  chan struct{}
	log   *slog.Logger
}

// openLiveBrain loads the committed knowledge-base generation of cfg (the embedded
// index under kb.dir, or the Qdrant collection) and the brain over it. pool (may be
// nil) carries NOTIFY kb_changed both ways; uploads run until ctx ends.
func openLiveBrain(ctx context.Context, cfg config.Config, log *slog.Logger, reg prometheus.Registerer, pool *pgxpool.Pool) (*liveBrain, error) {
	parts, err := openBrainParts(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	var src kb.Source = kb.EmbeddedSource{Dir: cfg.KBDir()}
	backend := "embedded"
	writer := func(ctx context.Context) (kb.Index, error) { return openIndex(ctx, cfg, parts.enc) }
	if cfg.KB.QdrantAddr != "" {
		q, err := openQdrant(ctx, cfg, parts.enc)
		if err != nil {
			parts.close()
			return nil, err
		}
		src, backend = q, "qdrant"
		writer = func(context.Context) (kb.Index, error) { return q, nil }
	}
	r, err := kb.NewReloader(ctx, kb.ReloaderOptions[brain]{Source: src, Backend: backend, Log: log, Registerer: reg,
		Build: func(ctx context.Context, idx kb.Index, _ kb.Generation) (brain, error) { return parts.build(ctx, idx) }})
	if err != nil {
		parts.close()
		return nil, err
	}
	l := &liveBrain{Reloader: r, parts: parts, pool: pool, wake: make(chan struct{}, 1), log: log}
	l.jobs = kb.NewJobs(ctx, kb.JobsOptions{Dir: filepath.Join(cfg.KBDir(), "uploads"), Open: writer,
		Ingest: ingestOptionsFor(parts.enc), Log: log, Committed: l.committed})
	return l, nil
}

// committed tells this server and, through PostgreSQL, the others about a generation an
// upload committed.
func (l *liveBrain) committed(ctx context.Context, g kb.Generation) {
	l.Wake()
	if l.pool == nil {
		return
	}
	payload, _ := json.Marshal(map[string]any{"generation": g.N, "stamp": g.Stamp})
	if _, err := l.pool.Exec(ctx, "SELECT pg_notify($1, $2)", kbChangedChannel, string(payload)); err != nil {
		l.log.Warn("could not notify the other servers of a new knowledge-base generation; they poll for it", "generation", g.N, "err", err)
	}
}

// brain is the live brain as the pipeline and the suggestions route use it.
func (l *liveBrain) brain() brain { return brain{understand: l, answer: l} }

// assistant suggests agents' reply drafts: the answer of the knowledge base being served,
// the past resolutions in past compared by the dense encoder when there is one, and
// drafts by the language model when one is configured.
func (l *liveBrain) assistant(past assist.Resolutions) *assist.Assistant {
	a := &assist.Assistant{KB: l, Past: past}
	if l.parts.enc != nil {
		a.Dense = l.parts.enc
	}
	if l.parts.llm != nil {
		a.Writer = l.parts.llm
	}
	return a
}

// Understand classifies text with the brain being served.
func (l *liveBrain) Understand(ctx context.Context, text string) (flow.Understanding, error) {
	return l.Current().understand.Understand(ctx, text)
}

// Answer answers text from the knowledge-base generation being served.
func (l *liveBrain) Answer(ctx context.Context, text string) (flow.Answer, error) {
	return l.Current().answer.Answer(ctx, text)
}

// Wake makes the reloader check for a new generation now.
func (l *liveBrain) Wake() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run looks for new generations every interval and on NOTIFY kb_changed (with a pool),
// until ctx ends; then it waits for the upload jobs.
func (l *liveBrain) run(ctx context.Context, interval time.Duration) {
	if l.pool != nil {
		go listenNotify(ctx, l.pool, l.log, kbChangedChannel, l.Wake)
	}
	l.Run(ctx, interval, l.wake)
	l.jobs.Wait()
}

func (l *liveBrain) close() { l.parts.close() }

// listenNotify calls wake on every NOTIFY on channel (kb_changed, models_changed),
// reconnecting after a lost connection (and waking then too: a notification may have
// been missed).
func listenNotify(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, channel string, wake func()) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := listenOnce(ctx, pool, channel, wake)
		if ctx.Err() != nil {
			return
		}
		log.Warn("a NOTIFY listener lost its connection; polling meanwhile", "channel", channel, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
		wake()
	}
}

func listenOnce(ctx context.Context, pool *pgxpool.Pool, channel string, wake func()) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A LISTEN connection must not go back to the pool.
	pc := conn.Hijack()
	defer pc.Close(context.WithoutCancel(ctx))
	if _, err := pc.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	for {
		if _, err := pc.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}
