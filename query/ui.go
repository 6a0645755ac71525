package query

import (
	"net/http"
	"strings"
)

// placeholder is served at / until the web UI is built into the binary.
const placeholder = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tracer</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Tracer</h1>
<p>The query API is running. This binary was built without the web UI.</p>
<p>Build it with <code>make ui</code> (it needs Node 20 and npm), then build the binary again, or point
the Jaeger UI or Grafana's Jaeger data source at this address.</p>
<p>API: <a href="api/services">api/services</a>, <a href="api/tracer/openapi.yaml">api/tracer/openapi.yaml</a></p>
</body></html>
`

// registerUI serves the UI, or the placeholder page, outside /api/.
func (a *API) registerUI(mux *http.ServeMux) {
	ui := a.ui
	if ui == nil {
		ui = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(placeholder))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			a.writeTracerError(w, r, &routeError{path: r.URL.Path})
			return
		}
		ui.ServeHTTP(w, r)
	})
}

// routeError is a request for an /api/ path that no route serves.
type routeError struct{ path string }

func (e *routeError) Error() string { return "no API route " + e.path }
