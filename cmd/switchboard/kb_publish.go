package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/embedded"
	"github.com/switchboard-cs/switchboard/kb"
)

// kbChangedChannel is the PostgreSQL NOTIFY channel that tells servers a new
// knowledge-base generation is committed.
const kbChangedChannel = "kb_changed"

// publishFlags are the flags of commands that commit a knowledge-base generation.
type publishFlags struct {
	server string
	wait   time.Duration
}

func (p *publishFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.server, "server", "", "base URL of a running server to wait for (default: the server recorded in <data_dir>/serve.json)")
	cmd.Flags().DurationVar(&p.wait, "wait", 30*time.Second, "how long to wait until the running server serves the new generation (0: do not wait)")
}

// generations is an index that keeps generations (both backends).
type generations interface {
	kb.Committer
	Generation(ctx context.Context) (kb.Generation, error)
}

// publish commits a new generation of idx when the run changed something, tells the
// servers through PostgreSQL when it can, and waits until the running server serves it.
// Progress goes to standard error.
func publish(cmd *cobra.Command, cfg config.Config, idx kb.Index, changed bool, p publishFlags) (kb.Generation, error) {
	ctx, msg := cmd.Context(), cmd.ErrOrStderr()
	gens, ok := idx.(generations)
	if !ok {
		return kb.Generation{}, fmt.Errorf("the knowledge base %T keeps no generations", idx)
	}
	if !changed {
		g, err := gens.Generation(ctx)
		if err == nil {
			fmt.Fprintf(msg, "nothing changed: the knowledge base stays at generation %d\n", g.N)
		}
		return g, err
	}
	g, err := gens.Commit(ctx)
	if err != nil {
		return g, fmt.Errorf("commit the new knowledge-base generation: %w", err)
	}
	rec, hasRec := readServeRecord(cfg)
	notifyKBChanged(ctx, notifyDSN(ctx, cfg, rec), g, msg)
	base := p.server
	if base == "" && hasRec {
		base = rec.baseURL()
	}
	if base == "" || p.wait <= 0 {
		fmt.Fprintf(msg, "generation %d committed; no running server to wait for (none recorded in %s; pass --server URL): "+
			"servers sharing this knowledge base pick it up within %s\n", g.N, serveRecordPath(cfg), cfg.KB.ReloadInterval)
		return g, nil
	}
	return g, waitServed(ctx, cfg, strings.TrimRight(base, "/"), g, p.wait, msg)
}

// notifyKBChanged sends NOTIFY kb_changed on dsn (nothing without one); servers that
// listen reload at once instead of at their next poll.
// notifyDSN is where to send the change notice: the configured PostgreSQL, or the
// embedded PostgreSQL of the serve running on this data directory (its address is in
// the serve's record, its credentials beside its data); "" when there is neither.
func notifyDSN(ctx context.Context, cfg config.Config, rec serveRecord) string {
	if cfg.Postgres.DSN != "" {
		return cfg.Postgres.DSN
	}
	_, port, err := net.SplitHostPort(rec.PostgresAddr)
	if err != nil {
		return ""
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return ""
	}
	pg, err := embedded.AttachPostgres(ctx, embedded.PostgresOptions{DataDir: cfg.PGEmbeddedDir(), Port: p})
	if err != nil {
		return ""
	}
	return pg.AppDSN("switchboard")
}

func notifyKBChanged(ctx context.Context, dsn string, g kb.Generation, msg io.Writer) {
	if dsn == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	payload, _ := json.Marshal(map[string]any{"generation": g.N, "stamp": g.Stamp})
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		_, err = conn.Exec(ctx, "SELECT pg_notify($1, $2)", kbChangedChannel, string(payload))
		conn.Close(context.WithoutCancel(ctx))
	}
	if err != nil {
		fmt.Fprintf(msg, "could not notify servers through PostgreSQL (%v); they poll for generation %d instead\n", err, g.N)
	}
}

// waitServed polls the server's GET /v1/kb/status until it serves g, refuses it, or
// wait passes. A server that cannot be reached is reported, not an error: the
// generation is committed and servers find it on their own.
func waitServed(ctx context.Context, cfg config.Config, base string, g kb.Generation, wait time.Duration, msg io.Writer) error {
	tok, err := statusToken(cfg)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(wait)
	reached := false
	for {
		st, code, err := kbStatusOf(ctx, base, tok)
		switch {
		case err != nil && !reached:
			fmt.Fprintf(msg, "generation %d committed; no server reached at %s (%v): servers sharing this knowledge base pick it up within %s\n",
				g.N, base, err, cfg.KB.ReloadInterval)
			return nil
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			fmt.Fprintf(msg, "generation %d committed; the server at %s refused this command's token (HTTP %d: it signs tokens with another auth.jwt_secret), so whether it serves it is unknown\n",
				g.N, base, code)
			return nil
		case err == nil && code == http.StatusOK:
			reached = true
			if st.Generation > g.N || st.Generation == g.N && st.Stamp == g.Stamp {
				fmt.Fprintf(msg, "served by %s since generation %d (%d chunks, %d documents)\n", base, st.Generation, st.Chunks, st.Documents)
				return nil
			}
			if st.Refused == g.N && st.LastError != "" {
				return fmt.Errorf("the server at %s refused generation %d and keeps serving generation %d: %s", base, g.N, st.Generation, st.LastError)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server at %s still serves generation %d %s after generation %d was committed (last status HTTP %d, %v)",
				base, st.Generation, wait, g.N, code, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// statusToken is a short-lived supervisor token for GET /v1/kb/status, signed with the
// server's secret (the one `switchboard token` uses).
func statusToken(cfg config.Config) (string, error) {
	secret, err := jwtSecret(cfg)
	if err != nil {
		return "", fmt.Errorf("jwt secret: %w", err)
	}
	auth, err := gateway.NewAuth(secret, "", cfg.Auth.Issuer)
	if err != nil {
		return "", err
	}
	return auth.Issue("switchboard-kb-cli", gateway.RoleSupervisor, 2*time.Minute)
}

// kbStatusOf fetches the server's knowledge-base status.
func kbStatusOf(ctx context.Context, base, token string) (kb.Status, int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var st kb.Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/kb/status", nil)
	if err != nil {
		return st, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, resp.StatusCode, nil
	}
	return st, resp.StatusCode, json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st)
}

// serveRecord is what a running `serve` records about itself in <data_dir>/serve.json
// (the fields this command uses; a record of another command holding the directory is
// no server).
type serveRecord struct {
	PID      int    `json:"pid"`
	Command  string `json:"command"`
	URL      string `json:"url"`
	Addr     string `json:"addr"`
	HTTPAddr string `json:"http_addr"`
	TLS      bool   `json:"tls"`
	// PostgresAddr is the embedded PostgreSQL of the serve (internal/embedded.Instance).
	PostgresAddr string `json:"postgres_addr"`
}

func serveRecordPath(cfg config.Config) string { return filepath.Join(cfg.DataDir, "serve.json") }

// readServeRecord reads the record of the server running on cfg's data directory; a
// missing or unreadable record, or one whose process is gone, is no server.
func readServeRecord(cfg config.Config) (serveRecord, bool) {
	var r serveRecord
	raw, err := os.ReadFile(serveRecordPath(cfg))
	if err != nil || json.Unmarshal(raw, &r) != nil || r.Command != "" && r.Command != "serve" {
		return serveRecord{}, false
	}
	r.TLS = r.TLS || cfg.HTTP.TLSEnabled()
	if r.PID > 0 {
		if err := syscall.Kill(r.PID, 0); err != nil && !errors.Is(err, syscall.EPERM) {
			return serveRecord{}, false
		}
	}
	return r, true
}

// baseURL is the server's base URL; a wildcard listen address is reached on loopback.
func (r serveRecord) baseURL() string {
	if r.URL != "" {
		return r.URL
	}
	addr := cmp.Or(r.HTTPAddr, r.Addr)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if r.TLS {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}
