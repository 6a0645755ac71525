package httpclock_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/tracerdev/tracer/interceptors/httpclock"
	"github.com/tracerdev/tracer/propagation"
	"github.com/tracerdev/tracer/sdk"
)

// stack is how both sides of a benchmark are instrumented.
type stack struct {
	name      string
	handler   func(h http.Handler, n *node) http.Handler
	transport func(rt http.RoundTripper, n *node) http.RoundTripper
}

// stacks: plain otelhttp with Tracer's propagators (the request clock
// travels), and httpclock's NewHandler and NewTransport (the response
// clock too).
var stacks = []stack{
	{"otelhttp",
		func(h http.Handler, n *node) http.Handler {
			return otelhttp.NewHandler(h, "b", otelhttp.WithTracerProvider(n.tp), otelhttp.WithPropagators(propagation.Default()))
		},
		func(rt http.RoundTripper, n *node) http.RoundTripper {
			return otelhttp.NewTransport(rt, otelhttp.WithTracerProvider(n.tp), otelhttp.WithPropagators(propagation.Default()))
		}},
	{"httpclock",
		func(h http.Handler, n *node) http.Handler {
			return httpclock.NewHandler(h, "b", otelhttp.WithTracerProvider(n.tp))
		},
		func(rt http.RoundTripper, n *node) http.RoundTripper {
			return httpclock.NewTransport(rt, otelhttp.WithTracerProvider(n.tp))
		}},
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Length", "2")
	_, _ = io.WriteString(w, "ok")
})

// inProcess is a RoundTripper that serves requests with h in the calling
// goroutine, so a benchmark measures the instrumentation, not the network.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, req.Clone(context.Background()))
	return rec.Result(), nil
}

func runCalls(b *testing.B, a *node, c *http.Client, url string) {
	b.Helper()
	tr := a.tp.Tracer("bench")
	b.ReportAllocs()
	for b.Loop() {
		ctx, root := tr.Start(context.Background(), "root")
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		res, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
		root.End()
	}
}

// BenchmarkCall is one call from node a to node b, both instrumented,
// server and client in one goroutine (in-process) or over loopback TCP.
func BenchmarkCall(b *testing.B) {
	for _, s := range stacks {
		b.Run("in-process/"+s.name, func(b *testing.B) {
			a, srv := newBenchNode(b, "a"), newBenchNode(b, "b")
			c := &http.Client{Transport: s.transport(inProcess{s.handler(okHandler, srv)}, a)}
			runCalls(b, a, c, "http://b.test/")
		})
		b.Run("loopback/"+s.name, func(b *testing.B) {
			a, n := newBenchNode(b, "a"), newBenchNode(b, "b")
			srv := serve(b, s.handler(okHandler, n))
			c := client(b, func(rt http.RoundTripper) http.RoundTripper { return s.transport(rt, a) })
			runCalls(b, a, c, srv.URL)
		})
	}
}

// newBenchNode is a node that exports nothing: the clock processor runs,
// spans are dropped after it.
func newBenchNode(b *testing.B, name string) *node {
	b.Helper()
	tp, err := sdk.New(context.Background(), sdk.WithServiceName(name), sdk.WithNodeID(name), sdk.WithoutExporter())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &node{name: name, tp: tp}
}
