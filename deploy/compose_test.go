package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"
)

// loadCompose loads compose.yaml as `docker compose` would, strictly: schema validation
// (unknown keys fail), interpolation from env alone (not the caller's environment),
// normalisation and the consistency check.
func loadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for k, v := range env {
		pairs = append(pairs, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(wd, "compose.yaml")},
		cli.WithWorkingDirectory(wd), cli.WithEnv(pairs), cli.WithInterpolation(true),
		cli.WithNormalization(true), cli.WithConsistency(true), cli.WithResolvedPaths(true))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := opts.LoadProject(ctx)
	if err != nil {
		t.Fatalf("compose.yaml does not load strictly: %v", err)
	}
	return p
}

// TestComposeFile checks what deploy/compose.yaml promises: the services, two
// Switchboard replicas built from deploy/Dockerfile with the shared secrets and external
// PostgreSQL and Redis, a healthcheck on every service, the volumes (PostgreSQL's data,
// the shared key ring, Prometheus' configuration and rules, Grafana's provisioning and
// dashboards), and ports bound to localhost only.
func TestComposeFile(t *testing.T) {
	p := loadCompose(t, nil)
	if p.Name != "switchboard" {
		t.Errorf("project name %q, want switchboard", p.Name)
	}
	names := p.ServiceNames()
	slices.Sort(names)
	want := []string{"grafana", "postgres", "prometheus", "qdrant", "redis", "switchboard-1", "switchboard-2"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Fatalf("services (-want +got):\n%s", diff)
	}
	for _, name := range names {
		s := p.Services[name]
		if s.HealthCheck == nil || len(s.HealthCheck.Test) < 2 || s.HealthCheck.Disable {
			t.Errorf("%s: no healthcheck", name)
		}
		if s.Image == "" {
			t.Errorf("%s: no image", name)
		}
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s: port %d published on %q, want 127.0.0.1 only", name, port.Target, port.HostIP)
			}
		}
	}

	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]string{}
	for _, name := range []string{"switchboard-1", "switchboard-2"} {
		s := p.Services[name]
		t.Run(name, func(t *testing.T) {
			checkReplica(t, s, repo)
			if len(s.Ports) != 1 || s.Ports[0].Target != 8080 {
				t.Fatalf("ports %+v, want one to 8080", s.Ports)
			}
			ports[name] = s.Ports[0].Published
		})
	}
	if ports["switchboard-1"] == ports["switchboard-2"] {
		t.Errorf("both replicas publish host port %q", ports["switchboard-1"])
	}
	// The replicas come from one anchor: apart from their ports and own data volume
	// they are the same service.
	a, b := p.Services["switchboard-1"], p.Services["switchboard-2"]
	a.Name, a.Ports, a.Volumes, a.ContainerName = "", nil, nil, ""
	b.Name, b.Ports, b.Volumes, b.ContainerName = "", nil, nil, ""
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("replicas differ beyond ports and volumes (-1 +2):\n%s", diff)
	}

	checkMounts(t, p, map[string][]composeMount{
		"postgres":   {{"volume", "postgres-data", "/var/lib/postgresql/data", false}},
		"qdrant":     {{"volume", "qdrant-data", "/qdrant/storage", false}},
		"prometheus": {{"bind", filepath.Join(repo, "deploy/prometheus/prometheus.yml"), "/etc/prometheus/prometheus.yml", true}, {"bind", filepath.Join(repo, "deploy/prometheus/alerts.yml"), "/etc/prometheus/alerts.yml", true}, {"volume", "prometheus-data", "/prometheus", false}},
		"grafana":    {{"bind", filepath.Join(repo, "deploy/grafana/provisioning"), "/etc/grafana/provisioning", true}, {"bind", filepath.Join(repo, "deploy/grafana/dashboards"), "/var/lib/grafana/dashboards", true}, {"volume", "grafana-data", "/var/lib/grafana", false}},
	})
	for _, f := range []string{"deploy/prometheus/prometheus.yml", "deploy/prometheus/alerts.yml", "deploy/Dockerfile"} {
		if _, err := os.Stat(filepath.Join(repo, f)); err != nil {
			t.Errorf("compose.yaml refers to %s: %v", f, err)
		}
	}
	pg := p.Services["postgres"].Environment
	if v := pg["POSTGRES_DB"]; v == nil || *v != "switchboard" {
		t.Errorf("postgres: POSTGRES_DB %v, want switchboard", v)
	}
	if !strings.Contains(*a.Environment["SWITCHBOARD_PG_DSN"], "switchboard:"+*pg["POSTGRES_PASSWORD"]+"@postgres:5432/switchboard") {
		t.Errorf("the replicas' DSN %q does not match the postgres service's user, password and database", *a.Environment["SWITCHBOARD_PG_DSN"])
	}
	for _, img := range []struct{ service, prefix string }{
		{"postgres", "docker.io/library/postgres:15"}, {"redis", "docker.io/library/redis:7"},
		{"qdrant", "docker.io/qdrant/qdrant:v1"}, {"prometheus", "docker.io/prom/prometheus:v"}, {"grafana", "docker.io/grafana/grafana:1"},
	} {
		if got := p.Services[img.service].Image; !strings.HasPrefix(got, img.prefix) || strings.HasSuffix(got, ":latest") {
			t.Errorf("%s: image %q, want a pinned %s… tag", img.service, got, img.prefix)
		}
	}
}

// checkReplica checks one Switchboard replica of compose.yaml.
func checkReplica(t *testing.T, s types.ServiceConfig, repo string) {
	t.Helper()
	if s.Build == nil || s.Build.Context != repo || s.Build.Dockerfile != "deploy/Dockerfile" || s.Build.Target != "full" {
		t.Errorf("build %+v, want deploy/Dockerfile (target full) in the repository root", s.Build)
	}
	if s.Image != "localhost/switchboard:full" {
		t.Errorf("image %q", s.Image)
	}
	if !s.ReadOnly || !slices.Contains(s.Tmpfs, "/tmp") {
		t.Errorf("read_only %v, tmpfs %v: want a read-only root with /tmp on a tmpfs", s.ReadOnly, s.Tmpfs)
	}
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	for k, want := range map[string]string{
		"SWITCHBOARD_REDIS_ADDR":             "redis:6379",
		"SWITCHBOARD_KB_QDRANT_ADDR":         "qdrant:6334",
		"SWITCHBOARD_SECURITY_KEY_RING_FILE": "/var/lib/switchboard/keys/keyring.json",
	} {
		if env[k] != want {
			t.Errorf("%s=%q, want %q", k, env[k], want)
		}
	}
	if len(env["SWITCHBOARD_JWT_SECRET"]) < 32 || env["SWITCHBOARD_KEYRING_KEK"] == "" || !strings.HasPrefix(env["SWITCHBOARD_PG_DSN"], "postgres://") {
		t.Errorf("the replicas need a JWT secret of 32 bytes or more, a KEK and a DSN: %v", env)
	}
	for _, dep := range []string{"postgres", "redis"} {
		if d, ok := s.DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("depends_on %s: %+v, want service_healthy", dep, d)
		}
	}
	if s.Restart != "unless-stopped" {
		t.Errorf("restart %q", s.Restart)
	}
	want := []composeMount{{"volume", s.Name + "-data", "/var/lib/switchboard", false}, {"volume", "switchboard-keys", "/var/lib/switchboard/keys", false}}
	if diff := cmp.Diff(want, composeMounts(s)); diff != "" {
		t.Errorf("volumes (-want +got):\n%s", diff)
	}
	if hc := strings.Join(s.HealthCheck.Test, " "); !strings.Contains(hc, "/readyz") {
		t.Errorf("healthcheck %q does not ask /readyz", hc)
	}
}

// TestComposeFileInterpolation checks the variables the container test and operators
// set: the image, the host ports, and an empty Qdrant address (embedded index).
func TestComposeFileInterpolation(t *testing.T) {
	p := loadCompose(t, map[string]string{"SWITCHBOARD_IMAGE": "localhost/switchboard:slim", "SWITCHBOARD_PORT_1": "18081",
		"SWITCHBOARD_PORT_2": "18082", "SWITCHBOARD_KB_QDRANT_ADDR": "", "POSTGRES_PASSWORD": "s3cret"})
	got := map[string]string{}
	for _, name := range []string{"switchboard-1", "switchboard-2"} {
		s := p.Services[name]
		got[name+" image"] = s.Image
		got[name+" port"] = s.Ports[0].Published
		got[name+" qdrant"] = *s.Environment["SWITCHBOARD_KB_QDRANT_ADDR"]
		got[name+" dsn"] = *s.Environment["SWITCHBOARD_PG_DSN"]
	}
	dsn := "postgres://switchboard:s3cret@postgres:5432/switchboard?sslmode=disable"
	want := map[string]string{
		"switchboard-1 image": "localhost/switchboard:slim", "switchboard-2 image": "localhost/switchboard:slim",
		"switchboard-1 port": "18081", "switchboard-2 port": "18082",
		"switchboard-1 qdrant": "", "switchboard-2 qdrant": "",
		"switchboard-1 dsn": dsn, "switchboard-2 dsn": dsn,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("interpolated (-want +got):\n%s", diff)
	}
}

type composeMount struct {
	Type, Source, Target string
	ReadOnly             bool
}

func composeMounts(s types.ServiceConfig) []composeMount {
	var out []composeMount
	for _, v := range s.Volumes {
		out = append(out, composeMount{v.Type, v.Source, v.Target, v.ReadOnly})
	}
	slices.SortFunc(out, func(a, b composeMount) int { return strings.Compare(a.Target, b.Target) })
	return out
}

func checkMounts(t *testing.T, p *types.Project, want map[string][]composeMount) {
	t.Helper()
	for name, w := range want {
		slices.SortFunc(w, func(a, b composeMount) int { return strings.Compare(a.Target, b.Target) })
		if diff := cmp.Diff(w, composeMounts(p.Services[name])); diff != "" {
			t.Errorf("%s volumes (-want +got):\n%s", name, diff)
		}
	}
}
