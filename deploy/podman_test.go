package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// podman runs podman (and podman-compose, debootstrap) for the container test with a
// containers.conf of its own: the runc runtime (crun refuses hybrid cgroups), explicit
// ulimits no higher than this process may grant (no CAP_SYS_RESOURCE), cgroupfs and file
// events (no systemd), and netavark, whose aardvark-dns lets the compose services find
// each other by name (with CNI podman 4.3 needs the dnsname plugin Debian lacks). See
// ../shared/reviews/containers.md.
type podman struct {
	t   *testing.T
	ctx context.Context
	env []string
}

// newPodman finds the tools; under SWITCHBOARD_CONTAINER_TEST=1 a missing one fails.
func newPodman(t *testing.T, ctx context.Context) *podman {
	t.Helper()
	for _, tool := range []string{"podman", "podman-compose", "debootstrap", "runc"} {
		if _, err := exec.LookPath(tool); err != nil {
			if _, err := os.Stat("/usr/sbin/" + tool); err != nil {
				t.Fatalf("%s is missing: run scripts/install-container-deps.sh as root (make test-containers does)", tool)
			}
		}
	}
	var nofile, nproc syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	const rlimitNproc = 6 // RLIMIT_NPROC on Linux
	if err := syscall.Getrlimit(rlimitNproc, &nproc); err != nil {
		t.Fatal(err)
	}
	// podman lowers its own NPROC to 32768 before starting a container, so children
	// cannot be given more
	np := min(nproc.Max, 32768)
	conf := filepath.Join(t.TempDir(), "containers.conf")
	body := fmt.Sprintf("[containers]\ndefault_ulimits = [\"nofile=%d:%d\", \"nproc=%d:%d\"]\n"+
		"[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n"+
		"[network]\nnetwork_backend = \"netavark\"\n",
		nofile.Max, nofile.Max, np, np)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "CONTAINERS_CONF="+conf, "PATH="+os.Getenv("PATH")+":/usr/sbin:/sbin")
	return &podman{t: t, ctx: ctx, env: env}
}

// exec runs name args with the test's environment plus extra and returns its output
// (stdout and stderr).
func (p *podman) exec(extra []string, stdin []byte, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(p.ctx, name, args...)
	cmd.Env = append(append([]string{}, p.env...), extra...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// must runs podman args and fails the test when it fails.
func (p *podman) must(args ...string) string {
	p.t.Helper()
	out, err := p.exec(nil, nil, "podman", args...)
	if err != nil {
		p.t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, tail(out, 4000))
	}
	return strings.TrimSpace(out)
}

// stdout runs podman args and returns what it wrote on standard output alone.
func (p *podman) stdout(args ...string) string {
	p.t.Helper()
	cmd := exec.CommandContext(p.ctx, "podman", args...)
	cmd.Env = p.env
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Run(); err != nil {
		p.t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, tail(errs.String(), 4000))
	}
	return strings.TrimSpace(out.String())
}

// quiet runs podman args and only logs a failure (cleanup).
func (p *podman) quiet(args ...string) {
	if out, err := p.exec(nil, nil, "podman", args...); err != nil {
		p.t.Logf("podman %s: %v\n%s", strings.Join(args, " "), err, tail(out, 1000))
	}
}

func (p *podman) imageExists(name string) bool {
	_, err := p.exec(nil, nil, "podman", "image", "exists", name)
	return err == nil
}

// build builds containerfile with the context dir into tag, with --pull=never: every
// base image is local (a stand-in, or one pulled beforehand).
func (p *podman) build(tag, containerfile, dir string, args ...string) {
	p.t.Helper()
	full := append([]string{"build", "--pull=never", "-f", containerfile, "-t", tag}, args...)
	p.must(append(full, dir)...)
}

// step runs fn and logs how long it took, so a long run shows where it is.
func step(t *testing.T, name string, fn func()) time.Duration {
	t.Helper()
	start := time.Now()
	t.Logf("%s: starting", name)
	fn()
	d := time.Since(start).Round(100 * time.Millisecond)
	t.Logf("%s: done in %s", name, d)
	return d
}

// standIns makes the base images deploy/Dockerfile and the compose stack name, where no
// registry is reachable: a debootstrap'd Debian bookworm minbase with the host's CA
// bundle (under the Dockerfile's DEBIAN_IMAGE), a Go toolchain image from this
// machine's GOROOT (GO_IMAGE), and PostgreSQL 15 and Redis 7 from Debian's packages
// (under the compose file's names). Each is kept between runs: an image that exists is
// not made again (`podman rmi` it to rebuild).
func (p *podman) standIns(debianImage, goImage, postgresImage, redisImage string) {
	t := p.t
	t.Helper()
	const minbase = "localhost/switchboard-standin/debian-minbase:bookworm"
	recipes, err := filepath.Abs("testdata/standins")
	if err != nil {
		t.Fatal(err)
	}
	if !p.imageExists(minbase) {
		step(t, "debootstrap bookworm minbase", func() {
			if os.Geteuid() != 0 {
				t.Fatalf("debootstrap needs root to make %s", minbase)
			}
			root := filepath.Join(t.TempDir(), "rootfs")
			if out, err := p.exec(nil, nil, "debootstrap", "--variant=minbase", "bookworm", root, "http://deb.debian.org/debian"); err != nil {
				t.Fatalf("debootstrap: %v\n%s", err, tail(out, 4000))
			}
			// Slim like Debian's -slim images: no package caches, lists, documentation or
			// translations, and dpkg told to leave the latter out of later installs too.
			script := `set -e; cd "$1"
rm -rf var/cache/apt/archives/*.deb var/lib/apt/lists/* usr/share/doc/* usr/share/man/* usr/share/info/* usr/share/locale/*
printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' 'path-exclude /usr/share/man/*' \
  'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' >etc/dpkg/dpkg.cfg.d/slim
tar --numeric-owner -c . | podman import --change 'CMD ["/bin/bash"]' - "$2"`
			if out, err := p.exec(nil, nil, "sh", "-c", script, "sh", root, minbase); err != nil {
				t.Fatalf("import the rootfs: %v\n%s", err, tail(out, 4000))
			}
			p.exec(nil, nil, "rm", "-rf", root) //nolint:errcheck // TempDir removes it too
		})
	}
	if !p.imageExists(debianImage) {
		step(t, "stand-in "+debianImage, func() {
			ctx := t.TempDir()
			ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
			if err != nil {
				t.Fatalf("the host CA bundle: %v", err)
			}
			if err := os.WriteFile(filepath.Join(ctx, "ca-certificates.crt"), ca, 0o644); err != nil {
				t.Fatal(err)
			}
			p.build(debianImage, filepath.Join(recipes, "debian.Containerfile"), ctx, "--build-arg", "BASE="+minbase)
		})
	}
	if !p.imageExists(goImage) {
		step(t, "stand-in "+goImage, func() {
			goroot, err := p.exec(nil, nil, "go", "env", "GOROOT")
			if err != nil {
				t.Fatalf("go env GOROOT: %v %s", err, goroot)
			}
			p.build(goImage, filepath.Join(recipes, "golang.Containerfile"), strings.TrimSpace(goroot), "--build-arg", "BASE="+debianImage)
		})
	}
	for _, s := range []struct{ image, recipe string }{{postgresImage, "postgres.Containerfile"}, {redisImage, "redis.Containerfile"}} {
		if !p.imageExists(s.image) {
			step(t, "stand-in "+s.image, func() {
				p.build(s.image, filepath.Join(recipes, s.recipe), recipes, "--build-arg", "BASE="+debianImage)
			})
		}
	}
}

// dockerfileArgs returns the default values of the Dockerfile's global ARGs.
func dockerfileArgs(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^ARG ([A-Z_]+)=(\S+)$`).FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = m[2]
	}
	return out
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
