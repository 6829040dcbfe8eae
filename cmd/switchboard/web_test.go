package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/asr/asreval"
	"github.com/switchboard-cs/switchboard/internal/embedded"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/vision/visiontest"
)

// e2eDir is web/e2e of this checkout.
var e2eDir = filepath.Join("..", "..", "web", "e2e")

// needBrowser skips (or fails in CI) without Node.js, Debian's Chromium or the installed
// playwright-core (make deps installs all three).
func needBrowser(t *testing.T) (node string) {
	t.Helper()
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node (apt-get install nodejs)")
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		missing = append(missing, "/usr/bin/chromium (apt-get install chromium)")
	}
	if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "playwright-core (scripts/fetch-e2e.sh)")
	}
	if _, err := embedded.FindPostgres(); err != nil {
		missing = append(missing, err.Error())
	}
	if len(missing) > 0 {
		msg := "browser test needs " + strings.Join(missing, ", ")
		if testenv.InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node
}

// TestWebPagesInBrowser runs web/e2e/flow.mjs in headless Chromium against `serve`: a
// customer asks the knowledge base in the widget and gets an answer with citations, asks
// for a human; an agent signed in to the console in a second browser context receives
// the ticket live with its routing score and suggested passages, replies; the customer
// sees the reply, reconnects without losing messages, sends a photo (labelled by
// MobileNetV2) and a voice note recorded from Chromium's fake microphone (transcribed by
// PocketSphinx); the agent reveals a redacted phone number and resolves; a supervisor
// sees the queue drain, and the model versions with their request counts, and rolls the
// image classifier back; then the pages at a phone's width, in Chinese. Screenshots of
// every step are kept in web/e2e/artifacts.
//
//	go test ./cmd/switchboard -run WebPagesInBrowser -v
func TestWebPagesInBrowser(t *testing.T) {
	node := needBrowser(t)
	testenv.ORT(t)
	cfg, faq := faqServeConfig(t)
	for _, args := range [][]string{{"kb", "ingest", "--quiet", faq}} {
		if out, err := execCLI(t, "", args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	for user, role := range map[string]string{"alice": "agent", "sam": "supervisor"} {
		if out, err := execCLI(t, "secret-"+user+"-password\n", "users", "set", user, "--role", role); err != nil {
			t.Fatalf("users set %s: %v\n%s", user, err, out)
		}
	}
	// two versions, so that the supervisor view has one to roll back to
	visiontest.MobileNet(t, cfg.ModelsDir(), "imagenet", 1, "")
	visiontest.MobileNet(t, cfg.ModelsDir(), "imagenet", 2, "")
	base, stop := startServe(t, cfg)
	defer stop()

	sup, err := execCLI(t, "", "token", "sam", "--role", "supervisor")
	if err != nil {
		t.Fatal(err)
	}
	sup = strings.TrimSpace(sup)
	for _, put := range [][2]string{ // in order: the agent's groups first
		{"/v1/skill-groups/support", `{"name":"Support","skills":[]}`},
		{"/v1/skill-groups/billing", `{"name":"Billing","skills":["billing"]}`},
		{"/v1/agents/alice", `{"name":"Alice","groups":["support","billing"],"capacity":3}`},
	} {
		if code := request(t, sup, "PUT", base+put[0], put[1], nil); code != http.StatusOK {
			t.Fatalf("PUT %s: %d", put[0], code)
		}
	}

	artifacts, err := filepath.Abs(filepath.Join(e2eDir, "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(artifacts)
	env := append(os.Environ(), "SB_BASE="+base, "SB_AGENT=alice:secret-alice-password", "SB_SUPERVISOR=sam:secret-sam-password",
		"SB_ARTIFACTS="+artifacts, "SB_PHOTO="+visiontest.Photo(t, "images_wonnx/pelican.jpeg"))
	if wav, err := asreval.SayAt("how do i reset my password", 140); err == nil {
		p := filepath.Join(t.TempDir(), "mic.wav")
		if err := os.WriteFile(p, wav, 0o600); err != nil {
			t.Fatal(err)
		}
		env = append(env, "SB_VOICE_WAV="+p)
	} else if testenv.InCI() {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "flow.mjs")
	cmd.Dir, cmd.Env = e2eDir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("flow.mjs:\n%s", out.String())
	if err != nil {
		t.Fatalf("browser flow failed (%v); screenshots in %s", err, artifacts)
	}
	shots, _ := filepath.Glob(filepath.Join(artifacts, "*.png"))
	if len(shots) < 15 {
		t.Fatalf("%d screenshots in %s, want one per step", len(shots), artifacts)
	}
}
