// Package web holds the browser pages Switchboard serves from the binary under /ui/:
// the chat widget a website embeds with one script tag (/ui/widget.js, demonstrated on
// /ui/chat.html), the agent console (/ui/console/), the supervisor view
// (/ui/supervisor/) and the admin page (/ui/admin/). They are plain HTML, CSS and
// JavaScript with no build step, and talk only to the public API. The one piece of
// third-party code, Chart.js for the supervisor's report charts, is embedded too
// (static/vendor/chartjs, with its licence and SOURCE note): no page loads anything
// from elsewhere.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// pagePolicy is the Content-Security-Policy of every page and file except widget.js.
const pagePolicy = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; " +
	"style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"

// Handler serves the pages; mount it at /ui/.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix("/ui/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// The pages load only their own scripts and talk only to this server ('self'
		// covers its ws:// and wss:// too). The widget script is loaded by other sites,
		// whose own policy governs it; it connects back here, which CORS and the
		// WebSocket origin check (http.allowed_origins) allow.
		if !strings.HasSuffix(r.URL.Path, "widget.js") {
			h.Set("Content-Security-Policy", pagePolicy)
		}
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
