package query

import (
	"net/http"
	"strings"
)

// placeholder is served outside /api/ when the binary holds no build of the
// web UI (package ui embeds ui/dist when it was built before go build).
const placeholder = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tracer</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Tracer</h1>
<p>The query API is running, but this binary was built without the web UI. Build the UI
(<code>make ui</code>: <code>npm ci &amp;&amp; npm run build</code> in <code>ui/</code>) and then
the binary (<code>make build</code>, or <code>go run ./cmd/tracer ...</code> again): the UI is
embedded from <code>ui/dist</code>. <code>make demo</code> does both and starts the demo.</p>
<p>Meanwhile, the Jaeger UI and Grafana's Jaeger data source read this address: Tracer
serves their API (<code>/api/...</code>, <code>/api/v3/...</code>).</p>
<p>API: <a href="api/services">api/services</a>, <a href="api/tracer/openapi.yaml">api/tracer/openapi.yaml</a></p>
</body></html>
`

// registerUI serves the UI, or the placeholder page, outside /api/, and
// answers /api/ paths that no route serves with a JSON 404 (or 405 when
// the path has a route for another method).
func (a *API) registerUI(mux *http.ServeMux) {
	ui := a.ui
	if ui == nil {
		ui = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(placeholder))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api" && !strings.HasPrefix(r.URL.Path, "/api/") {
			ui.ServeHTTP(w, r)
			return
		}
		// A path served for other methods is a 405 that says which.
		var allowed []string
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			if m == r.Method || m == http.MethodGet && r.Method == http.MethodHead {
				continue
			}
			c := r.Clone(r.Context())
			c.Method = m
			if _, pattern := mux.Handler(c); pattern != "" && pattern != "/" {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			allow := strings.Join(allowed, ", ")
			if allowed[0] == http.MethodGet {
				allow = strings.Replace(allow, "GET", "GET, HEAD", 1)
			}
			w.Header().Set("Allow", allow)
			a.writeError(w, r, &methodError{method: r.Method, path: r.URL.Path, allowed: strings.Join(allowed, " or ")})
			return
		}
		a.writeError(w, r, &routeError{path: r.URL.Path})
	})
}

// routeError is a request for an /api/ path that no route serves.
type routeError struct{ path string }

func (e *routeError) Error() string { return "no API route " + e.path }

// methodError is a request for an /api/ route with a method it does not
// serve.
type methodError struct{ method, path, allowed string }

func (e *methodError) Error() string {
	return "method " + e.method + " not allowed on " + e.path + ": use " + e.allowed
}
