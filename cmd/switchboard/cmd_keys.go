package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/switchboard-cs/switchboard/internal/fieldcrypt"
	"github.com/switchboard-cs/switchboard/tickets"
)

func keysCmd(f *rootFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "The key ring: rotate the data key and re-encrypt what it protects"}
	var quiet, reencrypt bool
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new data key active (audited) and re-encrypt every encrypted column under it",
		Long: `Adds a fresh data key to the key ring (security.key_ring_file, sealed with
SWITCHBOARD_KEYRING_KEK when set) and makes it the active one; older keys stay on the ring,
so everything still decrypts, and the audit chain keeps verifying (its keys follow the key
ids). Running servers take the new key on within a minute. The rotation is audited as
keys.rotate. Then every encrypted column (contact fields, names, token vault, stashed
media) is rewritten under the new key, with progress shown; the blind-index key is not
rotated. Run "switchboard keys reencrypt" to finish an interrupted re-encryption, or to
catch values a server wrote under the old key before it saw the new one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withData(cmd, f, func(a *app) error {
				if err := a.openTickets(cmd.Context()); err != nil {
					return err
				}
				old := a.ring.ActiveKeyID()
				id, err := a.ring.Rotate(a.cfg.KeyRingPath())
				if err != nil {
					return err
				}
				if err := a.store.AppendAudit(cmd.Context(), nil, "cli", "keys.rotate", "key:"+id, map[string]string{"previous": old}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "key %s is active (was %s)\n", id, old)
				if !reencrypt {
					return nil
				}
				return runReencrypt(cmd.Context(), a.store, cmd.OutOrStdout(), cmd.ErrOrStderr(), quiet)
			})
		},
	}
	rotate.Flags().BoolVar(&reencrypt, "reencrypt", true, "re-encrypt every encrypted column under the new key right away")
	rotate.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	reenc := &cobra.Command{
		Use:   "reencrypt",
		Short: "Rewrite every encrypted column still under an older key with the active key (resumable)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withData(cmd, f, func(a *app) error {
				if err := a.openTickets(cmd.Context()); err != nil {
					return err
				}
				return runReencrypt(cmd.Context(), a.store, cmd.OutOrStdout(), cmd.ErrOrStderr(), quiet)
			})
		},
	}
	reenc.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	cmd.AddCommand(rotate, reenc)
	return cmd
}

// runReencrypt seals names still in plaintext, then re-encrypts with a progress bar
// per column on errOut.
func runReencrypt(ctx context.Context, st *tickets.Store, out, errOut io.Writer, quiet bool) error {
	sealed, err := st.SealNames(ctx)
	if err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	progress := func(table, column string, done, total int64) {
		if quiet || total == 0 {
			return
		}
		if done == 0 {
			if bar != nil {
				_ = bar.Finish()
			}
			bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(errOut),
				progressbar.OptionSetDescription(table+"."+column), progressbar.OptionShowCount())
		}
		_ = bar.Set64(done)
	}
	n, err := st.Reencrypt(ctx, progress)
	if bar != nil {
		_ = bar.Finish()
	}
	fmt.Fprintf(out, "re-encrypted %d values under the active key; sealed %d plaintext names\n", n, sealed)
	return err
}

// watchKeyRing re-reads the key ring every interval, so a server takes on a rotation
// made by `switchboard keys rotate` (new values are then sealed with the new key).
func watchKeyRing(ctx context.Context, ring *fieldcrypt.KeyRing, interval time.Duration, log *slog.Logger) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if changed, err := ring.Reload(); err != nil {
			log.Error("key ring reload", "err", err)
		} else if changed {
			log.Info("key ring reloaded", "active", ring.ActiveKeyID())
		}
	}
}
