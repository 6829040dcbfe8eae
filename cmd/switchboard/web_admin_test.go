package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/models/onnxtest"
	"github.com/switchboard-cs/switchboard/tickets"
	"github.com/switchboard-cs/switchboard/vision/visiontest"
)

// TestAdminPagesInBrowser runs web/e2e/admin.mjs in headless Chromium against `serve`: an
// administrator signed in to the admin page adds an agent and raises another's capacity
// (a bad id refused inline), adds a group and changes one's skills, gives a group
// business hours with a holiday (an impossible hour refused inline) and keeps them when
// its name changes, creates a sign-in, makes an agent a supervisor, disables a sign-in
// (whose console sign-in is then refused), enables it with a new password, changes the
// routing weights and an SLA target (bad values refused inline), adds, edits and deletes
// shared canned responses, uploads a knowledge-base document with its progress shown,
// tries questions (answered with sources; handed over, with the phone number in it
// redacted; in Chinese), deletes the document so that the bot no longer answers from it,
// promotes an older model version, canaries the newer one and ends the canary. A Chinese
// browser shows every step too. A supervisor reaches the page from the supervisor view,
// finds notes where sign-ins and model changes are not theirs, and rolls the model back,
// which is; the page fits a phone. Destructive actions are confirmed in the page's dialog; no native
// dialog opens. Every change is in the audit log. Screenshots of every step, in English
// and in Chinese, are kept in web/e2e/artifacts/admin.
//
//	go test -count=1 -run TestAdminPagesInBrowser -v ./cmd/switchboard
func TestAdminPagesInBrowser(t *testing.T) {
	node := needBrowser(t)
	onnxtest.ORT(t)
	cfg, faq := faqServeConfig(t)
	if out, err := execCLI(t, "", "kb", "ingest", "--quiet", faq); err != nil {
		t.Fatalf("kb ingest: %v\n%s", err, out)
	}
	for user, role := range map[string]string{"ada": "admin", "sam": "supervisor", "alice": "agent", "bob": "agent"} {
		if out, err := execCLI(t, "secret-"+user+"-password\n", "users", "set", user, "--role", role); err != nil {
			t.Fatalf("users set %s: %v\n%s", user, err, out)
		}
	}
	// two versions of the image classifier, the newer one serving
	visiontest.Constant(t, cfg.ModelsDir(), "imagenet", 1, 1)
	visiontest.Constant(t, cfg.ModelsDir(), "imagenet", 2, 2)
	base, stop := startServe(t, cfg)
	defer stop()

	token := func(subject, role string) string {
		out, err := execCLI(t, "", "token", subject, "--role", role)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	sup := token("sam", "supervisor")
	for _, put := range [][2]string{
		{"/v1/skill-groups/support", `{"name":"Support","skills":[]}`},
		{"/v1/skill-groups/billing", `{"name":"Billing","skills":["billing"]}`},
		{"/v1/agents/alice", `{"name":"Alice","groups":["support","billing"],"capacity":3}`},
		{"/v1/agents/bob", `{"name":"Bob","groups":["support"],"capacity":2}`},
	} {
		if code := request(t, sup, "PUT", base+put[0], put[1], nil); code != http.StatusOK {
			t.Fatalf("PUT %s: %d", put[0], code)
		}
	}

	artifacts, err := filepath.Abs(filepath.Join(e2eDir, "artifacts", "admin"))
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(artifacts)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "admin.mjs")
	cmd.Dir = e2eDir
	cmd.Env = append(os.Environ(), "SB_BASE="+base, "SB_ADMIN=ada:secret-ada-password", "SB_SUPERVISOR=sam:secret-sam-password",
		"SB_ARTIFACTS="+artifacts)
	out, err := cmd.CombinedOutput()
	flowLog(t, "admin.mjs", string(out), err, artifacts)
	en, _ := filepath.Glob(filepath.Join(artifacts, "*-en.png"))
	zh, _ := filepath.Glob(filepath.Join(artifacts, "*-zh.png"))
	if len(en) < 25 || len(zh) != len(en) {
		t.Fatalf("%d screenshots in English and %d in Chinese in %s, want one per step in each language", len(en), len(zh), artifacts)
	}

	// every change the page made is in the audit log, under the name of whoever made it
	var log struct {
		Events []tickets.AuditEvent `json:"events"`
	}
	if code := request(t, token("audrey", "auditor"), "GET", base+"/v1/audit", "", &log); code != http.StatusOK {
		t.Fatalf("audit log: %d", code)
	}
	var got []string
	for _, e := range log.Events {
		if e.Actor == "ada" || e.Actor == "sam" {
			got = append(got, e.Actor+" "+e.Action)
		}
	}
	for _, want := range []string{"ada agent.put", "ada skill_group.put", "ada staff.create", "ada staff.role", "ada staff.disable",
		"ada staff.enable", "ada staff.password", "ada routing.weights", "ada sla_policy.put", "ada canned.put", "ada canned.delete",
		"ada kb.upload", "ada kb.delete", "ada model.activate", "ada model.canary", "sam model.rollback"} {
		if !slices.Contains(got, want) {
			t.Errorf("the audit log has no %q; it has %v", want, got)
		}
	}
}
