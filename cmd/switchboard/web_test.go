package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/asr/asreval"
	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/embedded"
	"github.com/switchboard-cs/switchboard/internal/llmtest"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/models/onnxtest"
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
// the ticket live with its routing score and suggested passages, replies, inserts a
// canned response by its shortcut and saves one of her own, tags the ticket and
// mentions a colleague in an internal note (his console tells him; he opens it; the
// customer never sees it); the customer
// sees the reply under the agent's name, reconnects without losing messages, sends a
// photo (labelled by MobileNetV2) and a voice note recorded from Chromium's fake
// microphone (transcribed by PocketSphinx); the customer sees their own phone number while
// the agent sees it redacted and reveals it; the agent transfers, resolves, closes and
// reopens (each confirmed in a dialog); a shop's customer asks for a human through the
// webhook channel, the agent's reply cannot reach the shop's callback (its port closed) and
// is flagged as not delivered, then `switchboard outbox retry` delivers it as written once
// the callback is back, and the flag clears; the agent finds tickets by list, channel,
// priority, words of the conversation and the customer's full name, reads a customer's
// profile (channels, tickets, rating), and for a customer who asks what the shop's
// customer asked is offered the reply that resolved it and a language model's draft
// (the test's OpenAI-compatible endpoint) streamed into the reply box, with the model's
// handoff briefing on top; customer and agent see each other typing and the agent sends
// a picture the customer sees; the agent merges a customer's duplicate ticket; the
// supervisor watches the open conversations and takes one over once an agent; at the
// end, with every agent away and the groups' calendars on holiday, a customer asking for
// a human is told when the team is back; a
// supervisor sees the queue columns (waiting,
// oldest wait, assigned, load/capacity), and the model versions with their request
// counts, and rolls the image classifier back; tickets queue up, the agent claims beyond
// capacity where the server allows it, a failed claim explains itself inline (the console's
// reads held, so that it cannot learn of the change before the claim), and the open
// ticket stays on screen in a long queue; the pages at a phone's width, in Chinese; the
// console reconnects after a 1001 and reads its status again, a revoked session's socket
// closes with 4401 and the console asks to sign in again, and signing out sets the agent
// offline. No page may open a native alert or confirm. Screenshots of every step are kept
// in web/e2e/artifacts in English and in Chinese, NN-step.png beside NN-step.zh.png: the
// page the flow drives and a twin of it in the other language in the same state (the
// widget in a second tab of the customer's browser, the console and the supervisor page
// signed in as the same user with ?lang=, the console opening the same ticket by
// #ticket=<id>), which never changes anything; the Chinese one shows no English word of
// the page's interface.
//
//	go test ./cmd/switchboard -run WebPagesInBrowser -v
func TestWebPagesInBrowser(t *testing.T) {
	node := needBrowser(t)
	onnxtest.ORT(t)
	cfg, faq := faqServeConfig(t)
	// The generic webhook channel: flow.mjs plays the shop's system at its callback (on a
	// port it opens and closes), and a reply to it is given up after a few seconds.
	hook := freeAddr(t)
	cfg.Channels.Webhook = config.WebhookConfig{Secret: "e2e-webhook-secret", CallbackURL: "http://" + hook + "/switchboard/replies"}
	cfg.Queue.RetryFor = 3 * time.Second
	// The company's CRM (a local fake): it knows every web visitor as Acme's, owned by
	// Dana; the console's customer panel shows it.
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("channel_id")
		if r.URL.Path != "/contacts" || !strings.HasPrefix(id, "web:") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"contact": map[string]any{"id": "c-" + id[4:min(len(id), 12)],
			"account": "Acme", "owner": "Dana", "tags": []string{"enterprise"}}})
	}))
	defer crm.Close()
	cfg.Connectors.File, cfg.Connectors.CustomerLookup = filepath.Join(t.TempDir(), "connectors.yaml"), "crm"
	if err := os.WriteFile(cfg.Connectors.File, []byte("connectors:\n  crm:\n    base_url: "+crm.URL+"\n    allow: [channel_id]\n"+
		"    operations:\n      lookup_customer:\n        path: /contacts\n        query: {channel_id: \"{{.channel_id}}\"}\n"+
		"        map: {crm_id: $.contact.id, account: $.contact.account, owner: $.contact.owner, tags: $.contact.tags}\n"+
		"        types: {tags: strings}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"kb", "ingest", "--quiet", faq}} {
		if out, err := execCLI(t, "", args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	for user, role := range map[string]string{"alice": "agent", "bob": "agent", "sam": "supervisor"} {
		if out, err := execCLI(t, "secret-"+user+"-password\n", "users", "set", user, "--role", role); err != nil {
			t.Fatalf("users set %s: %v\n%s", user, err, out)
		}
	}
	// two versions, so that the supervisor view has one to roll back to
	visiontest.MobileNet(t, cfg.ModelsDir(), "imagenet", 1, "")
	visiontest.MobileNet(t, cfg.ModelsDir(), "imagenet", 2, "")
	// A language model (the test's OpenAI-compatible endpoint): the bot answers with its
	// passage's answer, and reply drafts build on the resolution they are given.
	cfg.LLM.BaseURL, cfg.LLM.APIKey = (&llmtest.Server{Answer: e2eLanguageModel}).Listen(t), llmtest.Key
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
		{"/v1/agents/alice", `{"name":"Alice","groups":["support","billing"],"capacity":3,"max_capacity":5}`}, // she raises it to 4
		{"/v1/agents/bob", `{"name":"Bob","groups":["support"],"capacity":2}`},                                // stays offline
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
		"SB_SECOND_AGENT=bob:secret-bob-password", "SB_SUPERVISOR_TOKEN="+sup,
		"SB_ARTIFACTS="+artifacts, "SB_PHOTO="+visiontest.Photo(t, "images_wonnx/pelican.jpeg"),
		"SB_WEBHOOK_SECRET="+cfg.Channels.Webhook.Secret, "SB_WEBHOOK_CALLBACK="+hook)
	if wav, err := asreval.SayAt("how do i reset my password", 140); err == nil {
		p := filepath.Join(t.TempDir(), "mic.wav")
		if err := os.WriteFile(p, wav, 0o600); err != nil {
			t.Fatal(err)
		}
		env = append(env, "SB_VOICE_WAV="+p)
	} else if testenv.InCI() {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	out, err := runFlow(ctx, node, env, func(request string) (string, error) { return driveFlow(t, request) })
	flowLog(t, "flow.mjs", out, err, artifacts)
	// one screenshot per step in each language: NN-step.png and NN-step.zh.png
	zh, _ := filepath.Glob(filepath.Join(artifacts, "[0-9]*.zh.png"))
	shots, _ := filepath.Glob(filepath.Join(artifacts, "[0-9]*.png"))
	if en := len(shots) - len(zh); en < 30 || en != len(zh) {
		t.Fatalf("%d screenshots in English and %d in Chinese in %s, want one per step in each", en, len(zh), artifacts)
	}
	for _, p := range zh {
		if _, err := os.Stat(strings.TrimSuffix(p, ".zh.png") + ".png"); err != nil {
			t.Errorf("%s has no English twin", filepath.Base(p))
		}
	}
}

// e2eLanguageModel writes as a careful model would from what it is given: a customer
// answer is the first passage's answer, cited; a handoff summary says what the customer
// wrote first and why the bot handed over; an agent's reply draft thanks the customer and
// says what resolved the most similar past ticket.
func e2eLanguageModel(prompt string) string {
	if _, rest, ok := strings.Cut(prompt, "The agent's reply that resolved it: "); ok {
		reply, _, _ := strings.Cut(rest, "\n")
		return "Thank you for waiting. " + strings.TrimSpace(reply)
	}
	if strings.Contains(prompt, "You brief a human") { // the handoff summary
		_, rest, _ := strings.Cut(prompt, "customer: ")
		asked, _, _ := strings.Cut(rest, "\n")
		_, why, _ := strings.Cut(prompt, "The bot handed over because ")
		why, _, _ = strings.Cut(why, ".")
		return "The customer wrote \"" + strings.TrimSpace(asked) + "\"; the bot handed over because " + why + "."
	}
	if strings.Contains(prompt, "You draft replies") {
		return "Thank you for waiting. Could you tell me more about what happened?"
	}
	if _, rest, ok := strings.Cut(prompt, "Answer: "); ok {
		answer, _, _ := strings.Cut(rest, "\n")
		return strings.TrimSpace(answer) + " [1]"
	}
	return "NO_ANSWER"
}

// driveFlow does what flow.mjs asks of the driver: "revoke SUBJECT" revokes every token of
// SUBJECT; "outbox-retry CHANNEL" re-queues the channel's failed replies. It returns what
// the command printed.
func driveFlow(t *testing.T, request string) (string, error) {
	verb, arg, _ := strings.Cut(request, " ")
	switch verb {
	case "revoke":
		return execCLI(t, "", "token", "revoke", "--subject", arg)
	case "outbox-retry":
		return execCLI(t, "", "outbox", "retry", "--channel", arg)
	}
	return "", fmt.Errorf("unknown request %q", request)
}

// runFlow runs web/e2e/flow.mjs and returns what it printed. The script asks for what a
// browser cannot do with a line "@REQUEST" on standard output; drive does it, and its
// answer goes to the script's standard input as one line: "ok: " and what the command
// printed, or "error: " and why not.
// flowLog logs a browser script's output and fails the test when the script failed: the
// failure's own lines come first, so that a log cut in the middle still shows them.
func flowLog(t *testing.T, script, out string, err error, artifacts string) {
	t.Helper()
	if err != nil {
		var failed []string
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "FAILED") || strings.Contains(line, "Error") {
				failed = append(failed, strings.TrimSpace(line))
			}
		}
		t.Errorf("%s failed (%v): %s; screenshots in %s", script, err, strings.Join(failed, " | "), artifacts)
	}
	t.Logf("%s:\n%s", script, out)
	if err != nil {
		t.FailNow()
	}
}

func runFlow(ctx context.Context, node string, env []string, drive func(request string) (string, error)) (string, error) {
	cmd := exec.CommandContext(ctx, node, "flow.mjs")
	cmd.Dir, cmd.Env = e2eDir, env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return "", err
	}
	var out strings.Builder
	read := make(chan struct{})
	go func() {
		defer close(read)
		lines := bufio.NewScanner(pr)
		for lines.Scan() {
			out.WriteString(lines.Text() + "\n")
			request, ok := strings.CutPrefix(lines.Text(), "@")
			if !ok {
				continue
			}
			said, err := drive(request)
			answer := "ok: " + strings.Join(strings.Fields(said), " ")
			if err != nil {
				answer = "error: " + strings.Join(strings.Fields(err.Error()), " ")
			}
			fmt.Fprintln(stdin, answer)
		}
		io.Copy(io.Discard, pr) // a line too long for the scanner: keep the script unblocked
	}()
	err = cmd.Wait()
	pw.Close()
	<-read
	return out.String(), err
}
