// Package ui serves Tracer's web UI: the Vite build of this directory
// (npm ci && npm run build, or `make ui`), embedded in the binary from
// dist/. A binary built without a UI build has an empty dist/ (only its
// .gitkeep) and Handler reports that, so the query API serves its
// placeholder page instead.
package ui

import (
	"bytes"
	"embed"
	"html"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// Handler serves the UI for an API served under basePath ("" or "/prefix",
// already stripped from the request path): the build's files, and
// index.html for every other path, so that the client-side router opens
// deep links (/search, /trace/{id}, ...). It reports false when the binary
// holds no UI build.
func Handler(basePath string) (http.Handler, bool) {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, false
	}
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return nil, false
	}
	// The build's URLs are relative ("./assets/..."): a <base> makes them
	// resolve from the UI's root at any depth and under any base path, and
	// the meta tag tells the app where the API is.
	base := html.EscapeString(basePath)
	index = bytes.Replace(index, []byte(`<meta name="tracer-base-path" content="" />`),
		[]byte(`<base href="`+base+`/" /><meta name="tracer-base-path" content="`+base+`" />`), 1)
	static := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := path.Clean("/" + r.URL.Path)
		if p != "/" && p != "/index.html" {
			if f, err := files.Open(strings.TrimPrefix(p, "/")); err == nil {
				st, err := f.Stat()
				f.Close()
				if err == nil && !st.IsDir() {
					if strings.HasPrefix(p, "/assets/") {
						// Vite names assets by content hash.
						w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
					}
					static.ServeHTTP(w, r)
					return
				}
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(index)
	}), true
}
