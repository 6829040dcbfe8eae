// Package openapi holds the OpenAPI 3.1 description of the gateway's REST API
// (openapi.yaml, embedded), serves it as JSON at /openapi.json, and renders the API
// reference docs/api.md from it. The gateway's tests check the description against the
// routes gin registers and every response the API tests produce.
package openapi

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:embed openapi.yaml
var spec []byte

// YAML is the description as written.
func YAML() []byte { return spec }

var asJSON = sync.OnceValues(func() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return json.Marshal(doc)
})

// JSON is the description as JSON (what /openapi.json serves).
func JSON() ([]byte, error) { return asJSON() }

// Handler serves the description as JSON, cacheable for an hour and revalidated by ETag.
func Handler() http.Handler {
	body, err := JSON()
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err != nil { // the embedded file is checked by the tests; never in a build
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}
