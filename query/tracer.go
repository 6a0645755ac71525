package query

import "net/http"

// registerTracer registers Tracer's own /api/tracer routes (owned by the
// Tracer-routes work).
func (a *API) registerTracer(mux *http.ServeMux) {}
