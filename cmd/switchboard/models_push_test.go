package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/models/onnxtest"
)

// TestModelsPushIsAudited: `models push` records model.push (who, version, the model's
// SHA-256) in the audit log, and refuses a manifest naming a file outside its folder.
func TestModelsPushIsAudited(t *testing.T) {
	needPostgres(t)
	t.Setenv("SWITCHBOARD_DATA_DIR", t.TempDir())
	src := t.TempDir()
	model := onnxtest.Offset(2, []float32{1, 1}, -1)
	const manifest = "task: offset\ninputs: [{name: input, type: float32, shape: [-1, 2]}]\n" +
		"outputs: [{name: output, type: float32, shape: [-1, 2]}]\nlabels: %s\n"
	os.WriteFile(filepath.Join(src, models.ModelFile), model, 0o644)
	os.WriteFile(filepath.Join(src, "labels.txt"), []byte("a\nb\n"), 0o644)
	os.WriteFile(filepath.Join(src, "bad.yaml"), []byte(strings.Replace(manifest, "%s", "../elsewhere/labels.txt", 1)), 0o644)
	os.WriteFile(filepath.Join(src, models.ManifestFile), []byte(strings.Replace(manifest, "%s", "labels.txt", 1)), 0o644)
	push := func(man string) (string, error) {
		return execCLI(t, "", "models", "push", "offset", filepath.Join(src, models.ModelFile), filepath.Join(src, man))
	}
	if out, err := push("bad.yaml"); err == nil || !strings.Contains(err.Error(), "inside its version folder") {
		t.Fatalf("push of a manifest naming ../elsewhere: %v %s", err, out)
	}
	out, err := push(models.ManifestFile)
	if err != nil {
		t.Fatal(err, out)
	}
	sum := sha256.Sum256(model)
	if !strings.Contains(out, `"pushed": "1"`) || !strings.Contains(out, hex.EncodeToString(sum[:])) {
		t.Errorf("push printed %s", out)
	}
	ctx := context.Background()
	cfg, err := config.Load("", os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	a, err := openData(ctx, cfg, slog.New(slog.DiscardHandler), dataUse{command: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.close(ctx)
	if err := a.openTickets(ctx); err != nil {
		t.Fatal(err)
	}
	events, err := a.store.AuditLog(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var pushes []string
	for _, e := range events {
		if e.Action == "model.push" {
			var p models.Pushed
			json.Unmarshal(e.Detail, &p)
			pushes = append(pushes, e.Actor+" "+e.Target+" "+p.Version+" "+p.SHA256)
		}
	}
	if want := "cli model:offset 1 " + hex.EncodeToString(sum[:]); len(pushes) != 1 || pushes[0] != want {
		t.Errorf("model.push audit rows %q, want [%q]", pushes, want)
	}
}
