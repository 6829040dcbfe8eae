package embedded

import (
	"context"
	"fmt"
	"time"
)

// Restart policy of Supervise: attempts in a row, and the backoff between them (doubling
// from restartBackoff to restartMaxBackoff). About two minutes in all before giving up.
var (
	restartAttempts   = 12
	restartBackoff    = 250 * time.Millisecond
	restartMaxBackoff = 15 * time.Second
)

// Supervise restarts the server, on the same port, whenever it exits without Stop (a
// kill -9, the OOM killer, a crash), until ctx ends or Stop is called. Clients reconnect
// on their own. When restartAttempts starts in a row fail it gives up: Healthy then
// reports that only a restart of this process can help. It returns when ctx ends, after
// Stop, or on giving up; on an attached server it returns at once.
func (p *Postgres) Supervise(ctx context.Context) {
	for {
		p.mu.Lock()
		proc, stopping := p.proc, p.stopping
		p.mu.Unlock()
		if proc == nil || stopping || p.attached {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-proc.done:
		}
		if p.isStopping() || ctx.Err() != nil {
			return
		}
		p.logger.Error("embedded: PostgreSQL exited unexpectedly; restarting it", "pid", proc.cmd.Process.Pid,
			"exit", fmt.Sprint(proc.err), "addr", fmt.Sprintf("127.0.0.1:%d", p.Port()), "log", p.logPath)
		if err := p.restart(ctx); err != nil {
			p.mu.Lock()
			p.gaveUp = err
			p.mu.Unlock()
			p.logger.Error("embedded: gave up restarting PostgreSQL; restart switchboard", "attempts", restartAttempts, "err", err)
			return
		}
	}
}

// restart starts the server again on its port, with backoff between failed attempts.
func (p *Postgres) restart(ctx context.Context) error {
	down := time.Now()
	backoff := restartBackoff
	var err error
	for attempt := 1; attempt <= restartAttempts; attempt++ {
		actx, cancel := context.WithTimeout(ctx, startTimeout)
		err = p.start(actx, p.Port())
		cancel()
		if err == nil {
			p.logger.Info("embedded: PostgreSQL restarted", "addr", fmt.Sprintf("127.0.0.1:%d", p.Port()),
				"attempt", attempt, "down_for", time.Since(down).Round(time.Millisecond))
			return nil
		}
		if ctx.Err() != nil || p.isStopping() {
			return nil // shutting down: not a failure of the server
		}
		p.logger.Warn("embedded: PostgreSQL did not restart; retrying", "attempt", attempt, "retry_in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, restartMaxBackoff)
	}
	return err
}

func (p *Postgres) isStopping() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopping
}

// Healthy is a liveness check: it fails only when Supervise gave up restarting the
// server, which a restart of this process (and so of its server) may cure. A server
// that is down and being restarted is not unhealthy, only unready.
func (p *Postgres) Healthy(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gaveUp != nil {
		return fmt.Errorf("embedded: PostgreSQL could not be restarted: %w", p.gaveUp)
	}
	return nil
}
