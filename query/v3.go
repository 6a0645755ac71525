package query

import "net/http"

// registerV3 registers Jaeger's v3 routes (owned by the v3 work).
func (a *API) registerV3(mux *http.ServeMux) {}
