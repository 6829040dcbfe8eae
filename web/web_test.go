package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
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
		{"/ui/admin/", "text/html", true},
		{"/ui/admin/admin.css", "text/css", true},
		{"/ui/chat.html", "text/html", true},
		{"/ui/lib/api.js", "text/javascript", true},
		{"/ui/lib/app.css", "text/css", true},
		{"/ui/lib/charts.js", "text/javascript", true},
		{"/ui/vendor/chartjs/chart.umd.min.js", "text/javascript", true},
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
	for _, page := range []string{"/ui/console/", "/ui/supervisor/", "/ui/admin/", "/ui/chat.html"} {
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

// TestScriptsImportOnlyEmbeddedFiles: every module a script imports, statically or on
// first use (the chart library), is in the binary; none comes from elsewhere.
func TestScriptsImportOnlyEmbeddedFiles(t *testing.T) {
	imp := regexp.MustCompile(`(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)"([^"]+)"`)
	found := 0
	for p, src := range scripts(t) {
		if strings.HasPrefix(p, "static/vendor/") {
			continue // the library's own code imports nothing
		}
		for _, m := range imp.FindAllStringSubmatch(src, -1) {
			found++
			u := m[1]
			if !strings.HasPrefix(u, "./") && !strings.HasPrefix(u, "../") {
				t.Errorf("%s imports %q: only files of the binary, by a relative path", p, u)
				continue
			}
			if _, err := fs.Stat(static, path.Join(path.Dir(p), u)); err != nil {
				t.Errorf("%s imports %q: %v", p, u, err)
			}
		}
	}
	if found < 4 { // the console, the supervisor and the charts import lib/api.js; the charts their library
		t.Errorf("found %d imports, want at least 4", found)
	}
}

// TestPagesConnectOnlyToThisServer: the pages' connect-src is 'self' alone (their
// WebSockets go to the same origin); any ws: or wss: host was allowed before.
func TestPagesConnectOnlyToThisServer(t *testing.T) {
	for _, page := range []string{"/ui/console/", "/ui/supervisor/", "/ui/admin/", "/ui/chat.html"} {
		csp := get(t, Handler(), page).Header.Get("Content-Security-Policy")
		var connect []string
		for _, d := range strings.Split(csp, ";") {
			if f := strings.Fields(d); len(f) > 0 && f[0] == "connect-src" {
				connect = f[1:]
			}
		}
		if len(connect) != 1 || connect[0] != "'self'" {
			t.Errorf("%s: connect-src %v in %q, want only 'self'", page, connect, csp)
		}
	}
}

// scripts returns every JavaScript file of the pages, by path.
func scripts(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, err := static.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("reading the scripts: %v (%d)", err, len(out))
	}
	return out
}

// TestPagesUseNoNativeDialogs: errors show inline and questions in a <dialog>; alert(),
// confirm() and prompt() block the page, cannot be styled or translated, and used to
// show internal error text.
func TestPagesUseNoNativeDialogs(t *testing.T) {
	native := regexp.MustCompile(`\b(alert|confirm|prompt)\s*\(`)
	for p, src := range scripts(t) {
		for i, line := range strings.Split(src, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue // a comment may say so
			}
			if m := native.FindString(line); m != "" {
				t.Errorf("%s:%d calls %s…): %s", p, i+1, m, strings.TrimSpace(line))
			}
		}
	}
}

// stringTable returns the keys of the object literal that follows name+": {" in src (the
// English or Chinese strings of a page), or nil when there is none.
func stringTable(src, name string) []string {
	start := strings.Index(src, name+": {")
	if start < 0 {
		return nil
	}
	var keys []string
	depth, quote, key := 0, rune(0), strings.Builder{}
	for _, r := range src[start+len(name)+2:] {
		switch {
		case quote != 0: // inside a string: nothing counts until it ends
			if r == quote {
				quote = 0
			}
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_':
			key.WriteRune(r)
			continue
		case r == '"' || r == '\'' || r == '`':
			quote = r
		case r == '{':
			depth++
		case r == '}':
			if depth--; depth == 0 {
				slices.Sort(keys)
				return keys
			}
		case r == ':' && depth == 1 && key.Len() > 0:
			keys = append(keys, key.String())
		}
		key.Reset()
	}
	return nil
}

// TestStringTablesSayEverythingInBothLanguages: every string of a page (and of the shared
// words: ticket states, priorities, presence) exists in English and in Chinese.
func TestStringTablesSayEverythingInBothLanguages(t *testing.T) {
	tables := 0
	for p, src := range scripts(t) {
		en, zh := stringTable(src, "en"), stringTable(src, "zh")
		if en == nil && zh == nil {
			continue
		}
		tables++
		if diff := cmp.Diff(en, zh); diff != "" {
			t.Errorf("%s: English and Chinese strings differ (-en +zh):\n%s", p, diff)
		}
	}
	if tables < 4 { // console, supervisor, widget, lib
		t.Errorf("found %d string tables, want 4", tables)
	}
	words := stringTable(scripts(t)["static/lib/api.js"], "en")
	for _, w := range []string{"open", "assigned", "pending", "resolved", "closed", "low", "normal", "high", "urgent", "online", "away", "offline"} {
		if !slices.Contains(words, w) {
			t.Errorf("lib/api.js has no word for %q", w)
		}
	}
}
