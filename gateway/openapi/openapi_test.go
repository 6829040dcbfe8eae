package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// TestSpecValidates loads the description with kin-openapi and validates it as
// OpenAPI 3.1 (JSON Schema 2020-12 schemas included).
func TestSpecValidates(t *testing.T) {
	doc, err := Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q: want 3.1", doc.OpenAPI)
	}
	ops := 0
	for _, item := range doc.Paths.Map() {
		ops += len(item.Operations())
	}
	t.Logf("%d paths, %d operations, %d schemas", doc.Paths.Len(), ops, len(doc.Components.Schemas))
}

// TestSpecRejectsAMistake shows the validation can fail: a response without a description
// and a reference to a schema that does not exist.
func TestSpecRejectsAMistake(t *testing.T) {
	for name, edit := range map[string]func(string) string{
		"dangling ref": func(s string) string {
			return string(bytes.Replace([]byte(s), []byte(`#/components/schemas/Ticket"`), []byte(`#/components/schemas/Tikcet"`), 1))
		},
		"bad type": func(s string) string {
			return string(bytes.Replace([]byte(s), []byte("type: integer"), []byte("type: int"), 1))
		},
		"duplicate op id": func(s string) string {
			return string(bytes.Replace([]byte(s), []byte("operationId: readyz"), []byte("operationId: healthz"), 1))
		},
	} {
		t.Run(name, func(t *testing.T) {
			loader := openapi3.NewLoader()
			doc, err := loader.LoadFromData([]byte(edit(string(spec))))
			if err == nil {
				err = doc.Validate(loader.Context)
			}
			if err == nil {
				t.Fatal("the broken description validates")
			}
		})
	}
}

// TestJSONIsTheYAML: /openapi.json is the embedded YAML, converted without loss.
func TestJSONIsTheYAML(t *testing.T) {
	var fromYAML, fromJSON any
	if err := yaml.Unmarshal(spec, &fromYAML); err != nil {
		t.Fatal(err)
	}
	b, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fromJSON); err != nil {
		t.Fatal(err)
	}
	rt, _ := json.Marshal(fromYAML)
	var want any
	_ = json.Unmarshal(rt, &want)
	if d := cmp.Diff(want, fromJSON); d != "" {
		t.Fatalf("JSON differs from YAML (-yaml +json):\n%s", d)
	}
}

func TestHandlerCaches(t *testing.T) {
	h := Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("ETag") == "" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	req := httptest.NewRequest(http.MethodGet, "/openapi.json", nil)
	req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	rec2 := httptest.NewRecorder()
	h.ServeHTTP(rec2, req)
	if rec2.Code != http.StatusNotModified || rec2.Body.Len() != 0 {
		t.Fatalf("revalidation: %d, %d bytes", rec2.Code, rec2.Body.Len())
	}
}

// TestDocsAreCurrent fails when docs/api.md is not what `switchboard openapi docs`
// renders from the description now (regenerate it with the command in the failure).
func TestDocsAreCurrent(t *testing.T) {
	var buf bytes.Buffer
	if err := Markdown(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "api.md")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, buf.Bytes()) {
		t.Fatalf("%s is stale: regenerate it with `go run ./cmd/switchboard openapi docs > docs/api.md`", path)
	}
}
