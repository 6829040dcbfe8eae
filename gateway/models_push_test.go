package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/models/onnxtest"
)

// TestModelPushIsAuditedAndConfined: an upload leaves a model.push audit row naming who
// pushed which version with the model file's SHA-256; a manifest naming a file outside
// the upload (absolute or "..") is refused with 422, adds no version and no audit row.
func TestModelPushIsAuditedAndConfined(t *testing.T) {
	repo := t.TempDir()
	reg, err := models.Open(context.Background(), models.Options{Dir: repo})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	in := newInstanceWith(t, newPool(t), "modelpush", nil, func(o *Options) { o.Models = reg })
	tok := in.token(t, "ml-7", RoleMLEngineer)
	secret := filepath.Join(t.TempDir(), "jwt-secret")
	if err := os.WriteFile(secret, []byte("s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	model := onnxtest.Offset(2, []float32{5, 5}, -1)
	push := func(manifest string) (int, map[string]any) {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		for _, p := range []struct{ field, name, data string }{
			{"model", "m.onnx", string(model)}, {"manifest", "m.yaml", manifest}, {"files", "labels.txt", "x\ny\n"},
		} {
			fw, _ := w.CreateFormFile(p.field, p.name)
			fw.Write([]byte(p.data))
		}
		w.Close()
		req, _ := http.NewRequest("POST", in.http.URL+"/v1/models/offset/versions", &body)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", w.FormDataContentType())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	const head = "task: offset\ninputs: [{name: input, type: float32, shape: [-1, 2]}]\n" +
		"outputs: [{name: output, type: float32, shape: [-1, 2]}]\n"
	for _, labels := range []string{secret, "../../../../../../../../.." + secret, "../labels.txt"} {
		if code, out := push(head + "labels: " + labels + "\n"); code != 422 || out["code"] != "invalid_model" {
			t.Errorf("labels %s: %d %v, want 422 invalid_model", labels, code, out)
		}
	}
	if got, err := os.ReadFile(secret); err != nil || string(got) != "s3cr3t\n" {
		t.Errorf("the secret file now holds %q (%v)", got, err)
	}
	sum := sha256.Sum256(model)
	code, out := push(head + "labels: labels.txt\n")
	if code != 201 || out["version"] != "1" || out["sha256"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("push: %d %v", code, out)
	}
	events, err := in.store.AuditLog(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Actor, Action, Target string
		Detail                models.Pushed
	}
	var got []row
	for _, e := range events {
		if e.Action == "model.push" {
			r := row{Actor: e.Actor, Action: e.Action, Target: e.Target}
			if err := json.Unmarshal(e.Detail, &r.Detail); err != nil {
				t.Fatal(err)
			}
			got = append(got, r)
		}
	}
	want := []row{{"ml-7", "model.push", "model:offset", models.Pushed{Model: "offset", Version: "1", SHA256: hex.EncodeToString(sum[:])}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("model.push audit rows (-want +got):\n%s", d)
	}
	if entries, _ := os.ReadDir(filepath.Join(repo, "offset")); len(entries) != 1 || entries[0].Name() != "1" {
		t.Errorf("model folder holds %v, want only version 1", entries)
	}
}
