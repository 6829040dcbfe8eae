package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Result()
}

func TestPagesServedWithPolicy(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		path, contentType string
		csp               bool
	}{
		{"/ui/console/", "text/html", true},
		{"/ui/supervisor/", "text/html", true},
		{"/ui/chat.html", "text/html", true},
		{"/ui/lib/api.js", "text/javascript", true},
		{"/ui/lib/app.css", "text/css", true},
		{"/ui/widget.js", "text/javascript", false}, // loaded by other sites' pages
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp := get(t, h, tc.path)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("content type %q, want %s", ct, tc.contentType)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			if tc.csp != strings.Contains(csp, "default-src 'self'") {
				t.Errorf("content security policy %q, want one: %v", csp, tc.csp)
			}
		})
	}
	if resp := get(t, h, "/ui/no-such-page.html"); resp.StatusCode != 404 {
		t.Errorf("unknown page: %d, want 404", resp.StatusCode)
	}
}

// TestPagesReferenceOnlyEmbeddedFiles: every script and stylesheet a page loads is in
// the binary, so no page breaks for want of a file or reaches out to a third party.
func TestPagesReferenceOnlyEmbeddedFiles(t *testing.T) {
	h := Handler()
	ref := regexp.MustCompile(`(?:src|href)="([^"#]+)"`)
	for _, page := range []string{"/ui/console/", "/ui/supervisor/", "/ui/chat.html"} {
		resp := get(t, h, page)
		body, _ := io.ReadAll(resp.Body)
		refs := ref.FindAllStringSubmatch(string(body), -1)
		if len(refs) == 0 {
			t.Errorf("%s loads nothing", page)
		}
		for _, m := range refs {
			u := m[1]
			if strings.Contains(u, "://") || strings.HasPrefix(u, "//") {
				t.Errorf("%s loads %s from elsewhere", page, u)
				continue
			}
			if !strings.HasPrefix(u, "/") {
				u = path.Join(page[:strings.LastIndex(page, "/")+1], u)
			}
			if r := get(t, h, u); r.StatusCode != 200 {
				t.Errorf("%s loads %s: %d", page, u, r.StatusCode)
			}
		}
	}
}
