package httpclock

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/tracerdev/tracer/propagation"
)

// NewHandler returns otelhttp.NewHandler(Handler(h), operation, opts...)
// with Tracer's propagators (propagation.Default: W3C trace context,
// baggage and the clock) unless opts set others: options apply in order,
// so the caller's win. With propagators that lack the clock the request's
// clock is not read, and the response's is sent all the same.
func NewHandler(h http.Handler, operation string, opts ...otelhttp.Option) http.Handler {
	return otelhttp.NewHandler(Handler(h), operation, withDefaults(opts)...)
}

// NewTransport returns otelhttp.NewTransport(Transport(rt), opts...) (rt
// http.DefaultTransport if nil) with Tracer's propagators unless opts set
// others, as NewHandler.
func NewTransport(rt http.RoundTripper, opts ...otelhttp.Option) *otelhttp.Transport {
	return otelhttp.NewTransport(Transport(rt), withDefaults(opts)...)
}

func withDefaults(opts []otelhttp.Option) []otelhttp.Option {
	return append([]otelhttp.Option{otelhttp.WithPropagators(propagation.Default())}, opts...)
}
