package embedded

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// initCluster makes dataDir hold a PostgreSQL cluster owned by owner. An existing cluster
// (PG_VERSION present) is kept as is; a missing or empty directory is initialised by
// running initdb in a sibling temporary directory and renaming it into place, so a crash
// during initdb never leaves a half-built cluster behind. A non-empty directory without a
// cluster is refused rather than touched.
func initCluster(ctx context.Context, binDir, dataDir string, owner *osUser, fast bool, logger *slog.Logger) error {
	if err := owner.ensureTraversable(dataDir, logger); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err == nil {
		return owner.chownTree(dataDir)
	}
	entries, err := os.ReadDir(dataDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("embedded: read data directory: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("embedded: %s is not empty and holds no PostgreSQL cluster (no PG_VERSION); "+
			"refusing to initialise over it", dataDir)
	}
	parent := filepath.Dir(dataDir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("embedded: create parent of data directory: %w", err)
	}
	if err := owner.ensureTraversable(dataDir, logger); err != nil {
		return err
	}
	return runInitdb(ctx, binDir, dataDir, owner, fast, logger)
}

// runInitdb initialises a cluster (UTF8, trust authentication, superuser postgres) in a
// temporary sibling of dataDir and renames it to dataDir.
func runInitdb(ctx context.Context, binDir, dataDir string, owner *osUser, fast bool, logger *slog.Logger) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dataDir), "."+filepath.Base(dataDir)+".initdb-")
	if err != nil {
		return fmt.Errorf("embedded: create initdb directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := owner.chownTree(tmp); err != nil {
		return fmt.Errorf("embedded: hand initdb directory to postgres: %w", err)
	}
	args := []string{"-D", tmp, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"}
	if fast {
		args = append(args, "--no-sync")
	}
	logger.Info("embedded: initialising PostgreSQL cluster", "data_dir", dataDir)
	cmd := owner.command(tmp, filepath.Join(binDir, "initdb"), args...)
	out, err := runWithContext(ctx, cmd)
	if err != nil {
		return fmt.Errorf("embedded: initdb failed: %w\n%s", err, out)
	}
	if err := os.Remove(dataDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("embedded: replace empty data directory: %w", err)
	}
	if err := os.Rename(tmp, dataDir); err != nil {
		return fmt.Errorf("embedded: move initialised cluster into place: %w", err)
	}
	return nil
}
