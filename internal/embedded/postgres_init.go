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

// initCluster makes dataDir hold a PostgreSQL cluster owned by owner and returns its
// credentials (see Credentials). An existing cluster (PG_VERSION present) is kept as is;
// a missing or empty directory is initialised by running initdb in a sibling temporary
// directory and renaming it into place, so a crash during initdb never leaves a
// half-built cluster behind. A non-empty directory without a cluster is refused rather
// than touched. An existing cluster met with new credentials (one from before passwords,
// or whose credentials file was lost) admits trust for its next start only, while
// ensureAuth sets the passwords.
func initCluster(ctx context.Context, binDir, dataDir string, owner *osUser, fast bool, logger *slog.Logger) (Credentials, error) {
	if err := owner.ensureTraversable(dataDir, logger); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Credentials{}, err
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err == nil {
		if err := owner.chownTree(dataDir); err != nil {
			return Credentials{}, err
		}
		creds, fresh, err := loadOrCreateCredentials(dataDir)
		if err == nil && fresh {
			logger.Warn("embedded: giving the PostgreSQL cluster generated passwords; it admits trust on 127.0.0.1 until they are set",
				"credentials", CredentialsFile(dataDir))
			_, err = writeHBA(dataDir, trustConf, owner)
		}
		return creds, err
	}
	entries, err := os.ReadDir(dataDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return Credentials{}, fmt.Errorf("embedded: read data directory: %w", err)
	case len(entries) > 0:
		return Credentials{}, fmt.Errorf("embedded: %s is not empty and holds no PostgreSQL cluster (no PG_VERSION); "+
			"refusing to initialise over it", dataDir)
	}
	parent := filepath.Dir(dataDir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return Credentials{}, fmt.Errorf("embedded: create parent of data directory: %w", err)
	}
	if err := owner.ensureTraversable(dataDir, logger); err != nil {
		return Credentials{}, err
	}
	creds, _, err := loadOrCreateCredentials(dataDir)
	if err != nil {
		return Credentials{}, err
	}
	return creds, runInitdb(ctx, binDir, dataDir, owner, fast, logger, creds.Superuser.Password)
}

// runInitdb initialises a cluster (UTF8, superuser postgres with password, scram-sha-256
// authentication) in a temporary sibling of dataDir and renames it to dataDir.
func runInitdb(ctx context.Context, binDir, dataDir string, owner *osUser, fast bool, logger *slog.Logger, password string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(dataDir), "."+filepath.Base(dataDir)+".initdb-")
	if err != nil {
		return fmt.Errorf("embedded: create initdb directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := owner.chownTree(tmp); err != nil {
		return fmt.Errorf("embedded: hand initdb directory to postgres: %w", err)
	}
	pwfile := tmp + ".pw"
	if err := writePrivate(pwfile, []byte(password+"\n"), owner); err != nil {
		return fmt.Errorf("embedded: write initdb password file: %w", err)
	}
	defer os.Remove(pwfile)
	args := []string{"-D", tmp, "-U", "postgres", "-A", "scram-sha-256", "--pwfile", pwfile, "-E", "UTF8", "--locale=C"}
	if fast {
		args = append(args, "--no-sync")
	}
	logger.Info("embedded: initialising PostgreSQL cluster", "data_dir", dataDir)
	cmd := owner.command(tmp, filepath.Join(binDir, "initdb"), args...)
	out, err := runWithContext(ctx, cmd)
	if err != nil {
		return fmt.Errorf("embedded: initdb failed: %w\n%s", err, out)
	}
	if _, err := writeHBA(tmp, hbaConf, owner); err != nil {
		return err
	}
	if err := os.Remove(dataDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("embedded: replace empty data directory: %w", err)
	}
	if err := os.Rename(tmp, dataDir); err != nil {
		return fmt.Errorf("embedded: move initialised cluster into place: %w", err)
	}
	return nil
}
