package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/embedded"
	"github.com/switchboard-cs/switchboard/tickets"
)

func auditCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify the audit log against its anchors, or anchor it now"}
	// withAudit runs fn with the audit anchorer of the configured database.
	withAudit := func(cmd *cobra.Command, fn func(*tickets.Anchorer) error) error {
		return withData(cmd, f, func(a *app) error {
			if err := a.openTickets(cmd.Context()); err != nil {
				return err
			}
			return fn(a.audit)
		})
	}
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit chain (keyed hashes) and that the anchors exported outside PostgreSQL still fit",
		Long: `Walks the whole audit log, checking each event's hash (HMAC under the key ring's
audit-chain key; plain SHA-256 before the recorded switch point), and checks it against
the anchors in audit.anchor_file: the latest anchored event must still be there with the
same hash, the log must not start after the anchored first event, and no event between
them may be missing. Exits non-zero when anything does not fit.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withAudit(cmd, func(an *tickets.Anchorer) error {
				rep, err := an.Verify(cmd.Context())
				out, _ := json.MarshalIndent(rep, "", "  ")
				fmt.Fprintln(cmd.OutOrStdout(), string(out))
				if err != nil {
					return err
				}
				if rep.LatestAnchor == nil {
					fmt.Fprintln(cmd.OutOrStdout(), "chain ok; no anchor yet (serve anchors every audit.anchor_interval, or run `switchboard audit anchor`)")
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "chain ok: %d events, the latest anchor (%s) fits\n", rep.Checked, rep.LatestAnchor.At.Format(time.RFC3339))
				return nil
			})
		},
	}
	anchor := &cobra.Command{
		Use:   "anchor",
		Short: "Verify the events since the latest anchor and export the head now (file, log, URL, command)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withAudit(cmd, func(an *tickets.Anchorer) error {
				a, ok, err := an.Anchor(cmd.Context(), "manual")
				if err != nil {
					return err
				}
				if !ok {
					fmt.Fprintln(cmd.OutOrStdout(), "the audit log is empty; nothing to anchor")
					return nil
				}
				out, _ := json.Marshal(a)
				fmt.Fprintln(cmd.OutOrStdout(), string(out))
				return nil
			})
		},
	}
	cmd.AddCommand(verify, anchor)
	return cmd
}

// newAnchorer builds the audit anchorer of a (called once per app: it registers metrics).
func (a *app) newAnchorer() *tickets.Anchorer {
	return tickets.NewAnchorer(a.store, tickets.AnchorOptions{File: a.cfg.AuditAnchorFile(), URL: a.cfg.Audit.AnchorURL,
		Command: a.cfg.Audit.AnchorCommand, Log: a.log, Registerer: a.registry})
}

// checkPostgresRole flags an application connection that owns the audit table (doctor).
func checkPostgresRole(ctx context.Context, cfg config.Config) check {
	c := check{Name: "postgres role"}
	if cfg.Postgres.DSN == "" {
		c.Status = "ok"
		c.Detail = fmt.Sprintf("embedded: the application connects as %s, which owns nothing; the superuser migrates "+
			"(passwords in %s)", embedded.AppRole, embedded.CredentialsFile(cfg.PGEmbeddedDir()))
		return c
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	pool, err := pgxpool.New(pctx, cfg.Postgres.DSN)
	if err != nil {
		c.Status, c.Detail = "unreachable", err.Error()
		return c
	}
	defer pool.Close()
	role, err := tickets.CurrentRole(pctx, pool)
	owns := false
	if err == nil {
		owns, err = tickets.OwnsAudit(pctx, pool)
	}
	switch {
	case err != nil && errors.Is(err, tickets.ErrNotFound):
		c.Status, c.Detail = "optional", "no audit table yet (run switchboard migrate)"
	case err != nil:
		c.Status, c.Detail = "unreachable", err.Error()
	case owns:
		c.Status = "insecure"
		c.Detail = fmt.Sprintf("postgres.dsn connects as %s, which owns the audit table or is a superuser: it could alter, "+
			"truncate or switch off the guards of the audit log", role)
		c.Fix = "create a role that owns nothing (CREATE ROLE switchboard_app LOGIN PASSWORD '…'), use it in postgres.dsn, " +
			"put the owner in postgres.owner_dsn, and run switchboard migrate (it grants the role what it needs)"
	default:
		c.Status, c.Detail = "ok", "postgres.dsn connects as "+role+", which does not own the audit table"
	}
	return c
}
