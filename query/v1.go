package query

import "net/http"

// registerV1 registers Jaeger's v1 routes (owned by the v1 work).
func (a *API) registerV1(mux *http.ServeMux) {}
