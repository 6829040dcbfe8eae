package embedded

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNotInstalled reports that the binaries of a service (PostgreSQL server, redis-server)
// are not installed on this machine; the wrapping error says what to install.
var ErrNotInstalled = errors.New("embedded: service binaries not installed")

// postgresBinaries are the programs a usable PostgreSQL bin directory must hold.
var postgresBinaries = []string{"initdb", "pg_ctl", "postgres"}

// FindPostgres returns the directory holding initdb, pg_ctl and postgres. It looks on PATH
// (following symlinks to the real directory), then at `pg_config --bindir`, then in
// /usr/lib/postgresql/*/bin (newest version first). The error wraps ErrNotInstalled and
// names the package to install.
func FindPostgres() (string, error) {
	return findPostgres(postgresCandidates())
}

// postgresCandidates lists the bin directories to try, in order of preference.
func postgresCandidates() []string {
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	dirs = append(dirs, debianBinDirs()...)
	return append(dirs, "/usr/local/pgsql/bin")
}

// findPostgres returns the first of dirs that holds every PostgreSQL server binary.
func findPostgres(dirs []string) (string, error) {
	for _, d := range dirs {
		if hasPostgresBinaries(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w: PostgreSQL server programs (%s) were not found on PATH, via "+
		"`pg_config --bindir` or in /usr/lib/postgresql/*/bin; install them with "+
		"`apt-get install -y postgresql` (Debian/Ubuntu) or `dnf install -y postgresql-server` (Fedora/RHEL)",
		ErrNotInstalled, strings.Join(postgresBinaries, ", "))
}

// hasPostgresBinaries reports whether dir holds executable initdb, pg_ctl and postgres.
func hasPostgresBinaries(dir string) bool {
	if dir == "" {
		return false
	}
	for _, name := range postgresBinaries {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// debianBinDirs returns /usr/lib/postgresql/<version>/bin directories, newest first.
func debianBinDirs() []string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.SliceStable(dirs, func(i, j int) bool {
		return versionOf(dirs[i]) > versionOf(dirs[j])
	})
	return dirs
}

// versionOf turns ".../postgresql/9.6/bin" into 9.6 and ".../16/bin" into 16 (0 if unknown).
func versionOf(binDir string) float64 {
	v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	if err != nil {
		return 0
	}
	return v
}

// binDirFor prefers the binaries of the major version that created an existing cluster in
// dataDir (Debian installs versions side by side), else the newest found by FindPostgres.
func binDirFor(dataDir string) (string, error) {
	if raw, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION")); err == nil {
		dir := filepath.Join("/usr/lib/postgresql", strings.TrimSpace(string(raw)), "bin")
		if hasPostgresBinaries(dir) {
			return dir, nil
		}
	}
	return FindPostgres()
}

// FindRedisServer returns the path of the redis-server program (PATH, then the usual
// install locations). The error wraps ErrNotInstalled and names the package to install.
func FindRedisServer() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: redis-server was not found on PATH or in /usr/bin, /usr/local/bin; "+
		"install it with `apt-get install -y redis-server` (Debian/Ubuntu) or `dnf install -y redis` (Fedora/RHEL)",
		ErrNotInstalled)
}
