package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWidgetInBrowser runs web/e2e/widget.mjs in headless Chromium against `serve`: in
// English and in Chinese (on a phone's width) a customer asks for a human in the chat
// widget; while they type, the agent holding the ticket is told once per burst on her
// socket; when she types, the widget says "Alice is typing…" (in Chinese "Alice
// 正在输入…") and then stops; she sends an image, shown inline, and a PDF, which the
// customer downloads unchanged. The agent's side is played through the API (the console
// is TestWebPagesInBrowser's). Screenshots in web/e2e/artifacts/widget.
//
//	go test ./cmd/switchboard -run WidgetInBrowser -v
func TestWidgetInBrowser(t *testing.T) {
	node := needBrowser(t)
	cfg, faq := faqServeConfig(t)
	if out, err := execCLI(t, "", "kb", "ingest", "--quiet", faq); err != nil {
		t.Fatalf("kb ingest: %v\n%s", err, out)
	}
	base, stop := startServe(t, cfg)
	defer stop()
	token := func(sub, role string) string {
		tok, err := execCLI(t, "", "token", sub, "--role", role)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(tok)
	}
	sup, alice := token("sam", "supervisor"), token("alice", "agent")
	for _, put := range [][3]string{
		{sup, "/v1/skill-groups/support", `{"name":"Support","skills":[]}`},
		{sup, "/v1/agents/alice", `{"name":"Alice","groups":["support"],"capacity":4}`},
		{alice, "/v1/me/status", `{"status":"online"}`},
	} {
		if code := request(t, put[0], "PUT", base+put[1], put[2], nil); code != http.StatusOK {
			t.Fatalf("PUT %s: %d", put[1], code)
		}
	}
	artifacts, err := filepath.Abs(filepath.Join(e2eDir, "artifacts", "widget"))
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(artifacts)
	img := filepath.Join(t.TempDir(), "shop-photo.png")
	if err := os.WriteFile(img, shopPhoto(t), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "widget.mjs")
	cmd.Dir = e2eDir
	cmd.Env = append(os.Environ(), "SB_BASE="+base, "SB_AGENT_TOKEN="+alice, "SB_IMAGE="+img, "SB_ARTIFACTS="+artifacts)
	out, err := cmd.CombinedOutput()
	flowLog(t, "widget.mjs", string(out), err, artifacts)
	shots, _ := filepath.Glob(filepath.Join(artifacts, "*.png"))
	if len(shots) != 10 {
		t.Fatalf("%d screenshots in %s, want 5 steps in each language", len(shots), artifacts)
	}
}

// shopPhoto is a 320×200 PNG: a blue-to-orange gradient with a band across it.
func shopPhoto(t *testing.T) []byte {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, 320, 200))
	for y := range 200 {
		for x := range 320 {
			c := color.NRGBA{R: uint8(36 + x*200/320), G: uint8(86 + y/4), B: uint8(214 - x*180/320), A: 255}
			if y > 80 && y < 120 {
				c = color.NRGBA{R: 255, G: 255, B: 255, A: 255}
			}
			m.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
