package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// TestContainers builds both images of deploy/Dockerfile with podman and runs them for
// real: the slim and full images' `switchboard doctor` with a read-only root, the compose
// stack (PostgreSQL, Redis and both replicas) where a customer's message to replica 1
// reaches the agent's WebSocket on replica 2 as a push, and the Deployment with
// `podman play kube` as the chart renders it. No registry is needed: the base images are local stand-ins
// (podman_test.go). Runs only with SWITCHBOARD_CONTAINER_TEST=1 (`make
// test-containers`), and then a missing podman fails.
//
// Left out of the compose run: Qdrant and Grafana (neither is packaged by Debian, so no
// stand-in can be made without a registry; the replicas use their embedded knowledge
// index) and Prometheus (its configuration is checked by promtool in TestAlertRules).
func TestContainers(t *testing.T) {
	if os.Getenv("SWITCHBOARD_CONTAINER_TEST") != "1" {
		t.Skip("set SWITCHBOARD_CONTAINER_TEST=1 (make test-containers) to build and run the images with podman")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	t.Cleanup(cancel) // registered first, so it runs after the cleanups that tear down
	p := newPodman(t, ctx)
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	args := dockerfileArgs(t, filepath.Join(repo, "deploy/Dockerfile"))
	stack := loadCompose(t, nil)
	pgImage, redisImage := stack.Services["postgres"].Image, stack.Services["redis"].Image
	step(t, "stand-in base images", func() { p.standIns(args["DEBIAN_IMAGE"], args["GO_IMAGE"], pgImage, redisImage) })

	images := map[string]string{"slim": "localhost/switchboard-test:slim", "full": "localhost/switchboard-test:full"}
	epoch := sourceDateEpoch(p)
	for _, variant := range []string{"slim", "full"} {
		d := step(t, "build "+variant, func() {
			p.build(images[variant], filepath.Join(repo, "deploy/Dockerfile"), repo, "--target", variant, "--jobs", "2",
				"--timestamp", epoch, "--build-arg", "VERSION=test", "--build-arg", "REVISION="+revision(p))
		})
		size, _ := strconv.ParseInt(p.must("image", "inspect", "--format", "{{.Size}}", images[variant]), 10, 64)
		t.Logf("image %s: %.1f MB, built in %s", variant, float64(size)/1e6, d)
		checkImageConfig(t, p, images[variant])
	}
	step(t, "doctor in the slim and full images, read-only root", func() {
		checkDoctor(t, p, images["slim"], "slim")
		checkDoctor(t, p, images["full"], "full")
	})

	s := upStack(t, p, repo, images["full"])
	step(t, "a customer message on replica 1 reaches the agent on replica 2", func() { customerToAgent(t, p, s) })
	step(t, "the Deployment with podman play kube", func() { playKube(t, p, s, images["slim"]) })
	t.Logf("container test: %s in all", time.Since(begin).Round(time.Second))
}

// sourceDateEpoch is $SOURCE_DATE_EPOCH, else the last commit's time: the image's and
// its layers' timestamps.
func sourceDateEpoch(p *podman) string {
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		return v
	}
	if out, err := p.exec(nil, nil, "git", "log", "-1", "--format=%ct"); err == nil {
		return strings.TrimSpace(out)
	}
	return "0"
}

func revision(p *podman) string {
	if out, err := p.exec(nil, nil, "git", "rev-parse", "HEAD"); err == nil {
		return strings.TrimSpace(out)
	}
	return "unknown"
}

// checkImageConfig checks the image runs as uid 65532, exposes 8080, runs `switchboard
// serve` and carries the OCI labels.
func checkImageConfig(t *testing.T, p *podman, image string) {
	t.Helper()
	var cfg []struct {
		Config struct {
			User         string
			ExposedPorts map[string]struct{}
			Entrypoint   []string
			Cmd          []string
			Labels       map[string]string
			Env          []string
		}
	}
	if err := json.Unmarshal([]byte(p.must("image", "inspect", image)), &cfg); err != nil || len(cfg) != 1 {
		t.Fatalf("podman image inspect %s: %v", image, err)
	}
	c := cfg[0].Config
	_, exposed := c.ExposedPorts["8080/tcp"]
	got := fmt.Sprintf("user=%s entrypoint=%v cmd=%v 8080=%v source=%s", c.User, c.Entrypoint, c.Cmd,
		exposed, c.Labels["org.opencontainers.image.source"])
	want := "user=65532:65532 entrypoint=[switchboard] cmd=[serve] 8080=true source=https://github.com/switchboard-cs/switchboard"
	if got != want {
		t.Errorf("%s config: %s\nwant %s", image, got, want)
	}
}

// checkDoctor runs `switchboard doctor` in image with a read-only root filesystem, its
// data directory on a volume and /tmp on a tmpfs. PostgreSQL is unreachable on purpose
// (doctor then exits 1); what the image itself provides must be found.
func checkDoctor(t *testing.T, p *podman, image, variant string) {
	t.Helper()
	out, err := p.exec(nil, nil, "podman", "run", "--rm", "--read-only", "--tmpfs", "/tmp", "-v", "/var/lib/switchboard",
		"-e", "SWITCHBOARD_PG_DSN=postgres://none@127.0.0.1:1/none?connect_timeout=2", image, "doctor")
	if err == nil || !strings.Contains(out, "postgres") {
		t.Fatalf("%s doctor with no PostgreSQL: err %v\n%s", variant, err, out)
	}
	want := map[string]bool{
		`data dir\s+ok`:                 true,
		`ONNX Runtime \([^)]*\)\s+ok`:   true,
		`PocketSphinx \(speech\)\s+ok`:  variant == "full",
		`Vosk library \(speech\)\s+ok`:  variant == "full",
		`speech \([^)]*\)\s+ok\s+en:`:   variant == "full",
		`redis-server \(tests, bench\)`: true,
	}
	for re, present := range want {
		if got := regexpFind(re, out); got != present {
			t.Errorf("%s doctor: %q found %v, want %v", variant, re, got, present)
		}
	}
	if t.Failed() {
		t.Logf("%s doctor said:\n%s", variant, out)
	}
}

// stack is the compose stack the test started.
type stack struct {
	project, file string
	env           []string
	base1, base2  string // the replicas' URLs
}

func (s stack) container(service string) string { return s.project + "_" + service + "_1" }

// upStack starts PostgreSQL and Redis from compose.yaml, waits for their healthchecks,
// then both replicas with image, and waits for /readyz on each. Everything is removed
// (volumes too) when the test ends.
func upStack(t *testing.T, p *podman, repo, image string) stack {
	t.Helper()
	s := stack{project: fmt.Sprintf("sbtest%d", os.Getpid()), file: filepath.Join(repo, "deploy/compose.yaml")}
	port1, port2 := freePort(t), freePort(t)
	s.base1, s.base2 = "http://127.0.0.1:"+port1, "http://127.0.0.1:"+port2
	s.env = []string{"SWITCHBOARD_IMAGE=" + image, "SWITCHBOARD_PORT_1=" + port1, "SWITCHBOARD_PORT_2=" + port2,
		"SWITCHBOARD_KB_QDRANT_ADDR=", "SWITCHBOARD_LOG_LEVEL=warn"}
	compose := func(args ...string) string {
		t.Helper()
		out, err := p.exec(s.env, nil, "podman-compose", append([]string{"-f", s.file, "-p", s.project}, args...)...)
		if err != nil {
			t.Fatalf("podman-compose %s: %v\n%s", strings.Join(args, " "), err, tail(out, 4000))
		}
		return out
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, svc := range []string{"switchboard-1", "switchboard-2", "postgres"} {
				out, _ := p.exec(nil, nil, "podman", "logs", "--tail", "40", s.container(svc))
				t.Logf("logs of %s:\n%s", svc, out)
			}
		}
		start := time.Now()
		out, err := p.exec(s.env, nil, "podman-compose", "-f", s.file, "-p", s.project, "down", "-v")
		if err != nil {
			t.Logf("podman-compose down: %v\n%s", err, tail(out, 2000))
		}
		// What `down` missed (a replica restarting while it stopped them): by the project's label.
		label := "label=io.podman.compose.project=" + s.project
		for _, kind := range []string{"container", "volume"} {
			ids, _ := p.exec(nil, nil, "podman", kind, "ls", "-a", "-q", "--filter", label)
			if kind == "volume" {
				ids, _ = p.exec(nil, nil, "podman", kind, "ls", "-q", "--filter", label)
			}
			if f := strings.Fields(ids); len(f) > 0 {
				p.quiet(append([]string{kind, "rm", "-f"}, f...)...)
			}
		}
		if _, err := p.exec(nil, nil, "podman", "network", "exists", s.project+"_default"); err == nil {
			p.quiet("network", "rm", "-f", s.project+"_default")
		}
		t.Logf("compose stack down: %s", time.Since(start).Round(100*time.Millisecond))
	})
	step(t, "compose up postgres redis", func() {
		compose("up", "-d", "postgres", "redis")
		for _, svc := range []string{"postgres", "redis"} {
			waitFor(t, 2*time.Minute, svc+" healthy", func() error {
				out, err := p.exec(nil, nil, "podman", "healthcheck", "run", s.container(svc))
				if err != nil {
					return fmt.Errorf("%v: %s", err, strings.TrimSpace(out))
				}
				return nil
			})
		}
	})
	step(t, "compose up switchboard-1 switchboard-2, both ready", func() {
		compose("up", "-d", "switchboard-1", "switchboard-2")
		for _, base := range []string{s.base1, s.base2} {
			waitFor(t, 3*time.Minute, base+"/readyz", func() error { return get(ctx(t), base+"/readyz") })
		}
		for _, svc := range []string{"switchboard-1", "switchboard-2"} {
			if out, err := p.exec(nil, nil, "podman", "healthcheck", "run", s.container(svc)); err != nil {
				t.Errorf("healthcheck of %s: %v %s", svc, err, out)
			}
		}
	})
	return s
}

// customerToAgent is the two-replica path: a supervisor sets up an agent, the agent goes
// online and opens its WebSocket on replica 2, a customer asks replica 1 for a human, and
// the push about the new ticket arrives on replica 2.
func customerToAgent(t *testing.T, p *podman, s stack) {
	t.Helper()
	token := func(subject, role string) string {
		return p.stdout("exec", s.container("switchboard-1"), "switchboard", "token", subject, "--role", role)
	}
	sup, alice, cust := token("sam", "supervisor"), token("alice", "agent"), token("web:container-test", "customer")
	call(t, s.base1, sup, "PUT", "/v1/skill-groups/support", `{"name":"Support","skills":["general"]}`, 200, nil)
	call(t, s.base1, sup, "PUT", "/v1/agents/alice", `{"name":"Alice","groups":["support"],"capacity":2}`, 200, nil)
	call(t, s.base2, alice, "PUT", "/v1/me/status", `{"status":"online"}`, 200, nil)

	c, cancel := context.WithTimeout(ctx(t), time.Minute)
	defer cancel()
	ws, _, err := websocket.Dial(c, strings.Replace(s.base2, "http", "ws", 1)+"/v1/me/ws?access_token="+alice, nil)
	if err != nil {
		t.Fatalf("agent WebSocket on replica 2: %v", err)
	}
	defer ws.CloseNow()
	readPush(t, c, ws, func(p push) bool { return p.Type == "hello" })

	var reply struct {
		Escalated bool   `json:"escalated"`
		TicketID  string `json:"ticket_id"`
	}
	call(t, s.base1, cust, "POST", "/v1/messages", `{"text":"I want to talk to a human agent, please"}`, 200, &reply)
	if !reply.Escalated || reply.TicketID == "" {
		t.Fatalf("the customer asking for a human was not escalated: %+v", reply)
	}
	got := readPush(t, c, ws, func(p push) bool { return p.Event.TicketID == reply.TicketID })
	t.Logf("replica 2 pushed %s for ticket %s (assignee %q)", got.Type, got.Event.TicketID, got.Event.AssigneeID)
}

type push struct {
	Type  string `json:"type"`
	Event struct {
		TicketID   string `json:"ticket_id"`
		AssigneeID string `json:"assignee_id"`
	} `json:"event"`
}

func readPush(t *testing.T, ctx context.Context, ws *websocket.Conn, match func(push) bool) push {
	t.Helper()
	var seen []string
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("reading pushes (seen %v): %v", seen, err)
		}
		var p push
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatalf("push %s: %v", data, err)
		}
		if match(p) {
			return p
		}
		seen = append(seen, p.Type)
	}
}

// playKube renders the chart's Deployment, ConfigMap and Secret with render-chart (the
// slim image, never pulled; the compose stack's PostgreSQL in a database of its own and
// its Redis under another key prefix), gives the Deployment's http port a hostPort,
// plays it on the compose stack's network, waits for /readyz through the hostPort, and
// takes it down.
func playKube(t *testing.T, p *podman, s stack, image string) {
	t.Helper()
	p.must("exec", s.container("postgres"), "createdb", "-U", "switchboard", "kube")
	repo, tag, _ := strings.Cut(image, ":")
	out, err := p.exec(nil, nil, "go", "run", "./cmd/render-chart", "--kind", "Deployment,ConfigMap,Secret",
		"--set", "image.repository="+repo, "--set", "image.tag="+tag, "--set", "image.pullPolicy=Never",
		"--set", "config.redis.addr=redis:6379", "--set", "config.redis.key_prefix=kube", "--set", "config.log.level=warn",
		"--set", "replicaCount=1", "--set", "autoscaling.enabled=false", // one pod: no shared key ring needed
		"--set-string", "secrets.postgres.dsn=postgres://switchboard:switchboard-dev@postgres:5432/kube?sslmode=disable",
		"--set-string", "secrets.auth.jwt_secret=container-test-secret-0123456789abcdef")
	if err != nil {
		t.Fatalf("render-chart: %v\n%s", err, tail(out, 4000))
	}
	port := freePort(t)
	file := filepath.Join(t.TempDir(), "switchboard.yaml")
	manifests, secrets := forPlayKube(t, out, port)
	if err := os.WriteFile(file, []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, data := range secrets {
		if out, err := p.exec(nil, data, "podman", "secret", "create", name, "-"); err != nil {
			t.Fatalf("podman secret create %s: %v %s", name, err, out)
		}
		defer p.quiet("secret", "rm", name)
	}
	defer func() {
		if t.Failed() {
			out, _ := p.exec(nil, nil, "podman", "pod", "logs", "--tail", "40", "switchboard-pod-0")
			t.Logf("pod logs:\n%s", out)
		}
		start := time.Now()
		p.quiet("play", "kube", "--down", file)
		t.Logf("play kube --down: %s", time.Since(start).Round(100*time.Millisecond))
	}()
	p.must("play", "kube", "--network", s.project+"_default", file)
	base := "http://127.0.0.1:" + port
	waitFor(t, 3*time.Minute, "the pod's /readyz", func() error { return get(ctx(t), base+"/readyz") })
}

// forPlayKube returns the rendered manifests with hostPort on the Deployment's http
// port, which a cluster does not need but `podman play kube` publishes, and without the
// Secrets, returned apart by name as the JSON map of their data: podman 4.3 stores a
// Secret it plays as YAML but reads it back for envFrom as that map, so the test creates
// them as podman secrets.
func forPlayKube(t *testing.T, manifests, port string) (string, map[string][]byte) {
	t.Helper()
	hp, _ := strconv.Atoi(port)
	docs := strings.Split(manifests, "\n---\n")
	secrets := map[string][]byte{}
	found := false
	for i, doc := range docs {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("rendered manifest: %v\n%s", err, doc)
		}
		if meta.Kind == "Secret" {
			var sec corev1.Secret
			if err := yaml.UnmarshalStrict([]byte(doc), &sec); err != nil {
				t.Fatalf("rendered Secret: %v\n%s", err, doc)
			}
			data, err := json.Marshal(sec.Data) // podman reads a map of base64 values
			if err != nil {
				t.Fatal(err)
			}
			secrets[sec.Name], docs[i] = data, ""
		}
		if meta.Kind != "Deployment" {
			continue
		}
		var d appsv1.Deployment
		if err := yaml.UnmarshalStrict([]byte(doc), &d); err != nil {
			t.Fatalf("the rendered Deployment: %v", err)
		}
		for ci := range d.Spec.Template.Spec.Containers {
			for pi, cp := range d.Spec.Template.Spec.Containers[ci].Ports {
				if cp.Name == "http" {
					d.Spec.Template.Spec.Containers[ci].Ports[pi].HostPort = int32(hp)
					found = true
				}
			}
		}
		b, err := yaml.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		docs[i] = string(b)
	}
	if !found {
		t.Fatalf("no Deployment with an http port in:\n%s", manifests)
	}
	docs = slices.DeleteFunc(docs, func(d string) bool { return d == "" })
	return strings.Join(docs, "\n---\n"), secrets
}

func call(t *testing.T, base, token, method, path, body string, want int, into any) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s%s: %d %s, want %d", method, base, path, resp.StatusCode, b, want)
	}
	if into != nil {
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

func get(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%d %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

// waitFor polls check every half second until it succeeds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, check func() error) {
	t.Helper()
	start := time.Now()
	var err error
	for time.Since(start) < d {
		if err = check(); err == nil {
			t.Logf("%s after %s", what, time.Since(start).Round(100*time.Millisecond))
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s: %v", what, d, err)
}

func ctx(t *testing.T) context.Context { return t.Context() }

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func regexpFind(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
