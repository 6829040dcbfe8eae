package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/models/onnxtest"
	"github.com/switchboard-cs/switchboard/models/ort"
)

// modelUpload builds a push request body: an Offset graph with the given bias and a
// manifest naming a labels file, uploaded beside them.
func modelUpload(t *testing.T, bias float32, manifest string) (*bytes.Buffer, string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	add := func(field, name string, data []byte) {
		fw, err := w.CreateFormFile(field, name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	add("model", "whatever.onnx", onnxtest.Offset(2, []float32{bias, bias}, -1))
	add("manifest", "m.yaml", []byte(manifest))
	add("files", "labels.txt", []byte("x\ny\n"))
	w.Close()
	return &body, w.FormDataContentType()
}

const offsetManifest = `task: offset
inputs: [{name: input, type: float32, shape: [-1, 2]}]
outputs: [{name: output, type: float32, shape: [-1, 2]}]
labels: labels.txt
`

func TestModelRoutesForMLEngineers(t *testing.T) {
	onnxtest.ORT(t)
	reg, err := models.Open(context.Background(), models.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	in := newInstanceWith(t, newPool(t), "models", nil, func(o *Options) { o.Models = reg })
	tok := in.token(t, "ml-1", RoleMLEngineer)
	call := func(method, path, ctype string, body io.Reader) (int, map[string]any) {
		req, _ := http.NewRequest(method, in.http.URL+path, body)
		req.Header.Set("Authorization", "Bearer "+tok)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	for i, b := range []float32{1, 2} {
		body, ctype := modelUpload(t, b, offsetManifest)
		if code, out := call("POST", "/v1/models/offset/versions", ctype, body); code != 201 || out["version"] != fmt.Sprint(i+1) {
			t.Fatalf("push %d: %d %v", i+1, code, out)
		}
	}
	// a manifest that does not match the graph: stored, refused at validation (422)
	body, ctype := modelUpload(t, 3, "task: offset\ninputs: [{name: input, type: float32, shape: [-1, 3]}]\noutputs: [{name: output, type: float32, shape: [-1, 3]}]\n")
	if code, _ := call("POST", "/v1/models/offset/versions", ctype, body); code != 201 {
		t.Fatalf("push 3: %d", code)
	}
	if code, out := call("POST", "/v1/models/offset/versions/3/validate", "", nil); code != 422 || out["code"] != "invalid_model" {
		t.Fatalf("validate a broken version: %d %v", code, out)
	}
	if code, _ := call("POST", "/v1/models/offset/versions/2/validate", "", nil); code != 200 {
		t.Fatalf("validate 2: %d", code)
	}
	if err := reg.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	serving := func() string {
		res, err := reg.Infer(context.Background(), "offset", map[string]ort.Tensor{"input": {Shape: []int64{1, 2}, Float32: []float32{0, 0}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Version
	}
	if v := serving(); v != "2" {
		t.Fatalf("latest serves %s", v)
	}
	for _, step := range []struct {
		path, body string
		code       int
		serving    string
	}{
		{"/v1/models/offset/activate", `{"version":"1"}`, 200, "1"},
		{"/v1/models/offset/activate", `{"version":"3"}`, 422, "1"},
		{"/v1/models/offset/activate", `{"version":"9"}`, 404, "1"},
		{"/v1/models/offset/activate", `{}`, 400, "1"},
		{"/v1/models/offset/canary", `{"version":"2","percent":101}`, 400, "1"},
		{"/v1/models/offset/canary", `{"version":"2","percent":100}`, 200, "2"},
		{"/v1/models/offset/canary", `{"percent":0}`, 200, "1"},
		{"/v1/models/offset/shadow", `{"version":"2"}`, 200, "1"},
		{"/v1/models/offset/activate", `{"version":"2"}`, 200, "2"},
		{"/v1/models/offset/rollback", ``, 200, "1"},
		{"/v1/models/offset/latest", ``, 200, "2"},
		{"/v1/models/nope/latest", ``, 404, "2"},
	} {
		code, out := call("POST", step.path, "application/json", bytes.NewBufferString(step.body))
		if code != step.code {
			t.Fatalf("%s %s: %d %v, want %d", step.path, step.body, code, out, step.code)
		}
		if v := serving(); v != step.serving {
			t.Fatalf("after %s %s: serving %s, want %s", step.path, step.body, v, step.serving)
		}
	}
	// a supervisor may see the versions and pull the emergency brake, nothing more
	sup := in.token(t, "sup-1", RoleSupervisor)
	mustCall(t, 200, in.http.URL, sup, "POST", "/v1/models/offset/rollback", nil, nil)
	if v := serving(); v != "1" {
		t.Fatalf("after a supervisor's rollback: serving %s, want 1", v)
	}
	mustCall(t, 403, in.http.URL, sup, "POST", "/v1/models/offset/latest", nil, nil)
	events, err := in.store.AuditLog(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var audited []string
	for _, e := range events {
		if strings.HasPrefix(e.Action, "model.") {
			audited = append(audited, e.Actor+" "+e.Action+" "+e.Target)
		}
	}
	wantAudit := []string{"ml-1 model.push model:offset", "ml-1 model.push model:offset", "ml-1 model.push model:offset",
		"ml-1 model.activate model:offset", "ml-1 model.canary model:offset", "ml-1 model.canary model:offset",
		"ml-1 model.shadow model:offset", "ml-1 model.activate model:offset", "ml-1 model.rollback model:offset",
		"ml-1 model.latest model:offset", "sup-1 model.rollback model:offset"}
	if diff := cmp.Diff(wantAudit, audited); diff != "" {
		t.Errorf("audited model changes (-want +got):\n%s", diff)
	}
	code, out := call("GET", "/v1/models", "", nil)
	list, _ := out["models"].([]any)
	if code != 200 || len(list) != 1 {
		t.Fatalf("list: %d %v", code, out)
	}
	// an agent may not touch models
	req, _ := http.NewRequest("GET", in.http.URL+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+in.token(t, "a-1", RoleAgent))
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 403 {
		t.Fatalf("agent: %d", resp.StatusCode)
	}
}
