package embedded

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// osUser is the account PostgreSQL runs as when the caller is root.
type osUser struct {
	name     string
	uid, gid uint32
}

// serverOwner returns the "postgres" OS user when running as root (PostgreSQL refuses to
// run as root), or nil when the server can run as the current user.
func serverOwner() (*osUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("embedded: PostgreSQL refuses to run as root and there is no OS user "+
			"\"postgres\" to run it as (the postgresql package creates it; or `useradd --system postgres`): %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("embedded: unexpected uid/gid %q/%q for user postgres", u.Uid, u.Gid)
	}
	return &osUser{name: u.Username, uid: uint32(uid), gid: uint32(gid)}, nil
}

// command builds a command that runs as u (as the caller when u is nil), in its own
// process group so a terminal's Ctrl-C reaches the Go program first, with PG* variables
// removed from the environment so they cannot redirect initdb or postgres.
func (u *osUser) command(dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = envWithoutPG(os.Environ())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if u != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: u.uid, Gid: u.gid}
	}
	return cmd
}

// envWithoutPG drops PGDATA, PGPORT, PGHOST and the other libpq/server variables.
func envWithoutPG(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "PG") {
			out = append(out, kv)
		}
	}
	return out
}

// chownTree gives dir and everything below it to u (nothing to do when u is nil).
func (u *osUser) chownTree(dir string) error {
	if u == nil {
		return nil
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Uid == u.uid && st.Gid == u.gid {
			return nil
		}
		return os.Lchown(path, int(u.uid), int(u.gid))
	})
}

// ensureTraversable lets u reach dir: every ancestor of dir that u may not search gets the
// search (x) bit for u's class (owner, group or other) — never read or write. Directories
// made by os.MkdirTemp (mode 0700, owned by root) are the usual case.
func (u *osUser) ensureTraversable(dir string, logger *slog.Logger) error {
	if u == nil {
		return nil
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if err := u.grantSearch(d, logger); err != nil {
			return err
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// grantSearch adds the one search bit u needs on dir, if it is missing.
func (u *osUser) grantSearch(dir string, logger *slog.Logger) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	var bit fs.FileMode = 0o001
	switch {
	case st.Uid == u.uid:
		bit = 0o100
	case st.Gid == u.gid:
		bit = 0o010
	}
	if fi.Mode().Perm()&bit != 0 {
		return nil
	}
	logger.Warn("embedded: granting search permission so the postgres user can reach its data directory",
		"dir", dir, "mode", fi.Mode().Perm()|bit)
	if err := os.Chmod(dir, fi.Mode().Perm()|bit); err != nil {
		return fmt.Errorf("embedded: user %s cannot reach the data directory through %s: %w", u.name, dir, err)
	}
	return nil
}
