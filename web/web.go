// Package web holds the browser pages Switchboard serves from the binary under /ui/:
// the chat widget a website embeds with one script tag (/ui/widget.js, demonstrated on
// /ui/chat.html), the agent console (/ui/console/) and the supervisor view
// (/ui/supervisor/). They are plain HTML, CSS and JavaScript with no build step and no
// third-party code, and talk only to the public API.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// Handler serves the pages; mount it at /ui/.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix("/ui/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// The pages load only their own scripts and talk only to this server; the
		// widget script itself is loaded by other sites.
		if !strings.HasSuffix(r.URL.Path, "widget.js") {
			h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
		}
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
