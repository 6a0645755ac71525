package httpclock_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/interceptors/httpclock"
	"github.com/tracerdev/tracer/sdk"
	"github.com/tracerdev/tracer/vclock"
)

// node is one process of a test: Tracer's SDK with its own clock node.
type node struct {
	name  string
	tp    *sdktrace.TracerProvider
	spans *tracetest.InMemoryExporter
}

func newNode(t testing.TB, name string) *node {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp, err := sdk.New(context.Background(), sdk.WithServiceName(name), sdk.WithNodeID(name),
		sdk.WithExporter(exp), sdk.WithSyncExport())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &node{name: name, tp: tp, spans: exp}
}

// serve starts h on 127.0.0.1.
func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// serveClock serves h with httpclock.NewHandler and n's provider.
func (n *node) serveClock(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	return serve(t, httpclock.NewHandler(h, n.name, otelhttp.WithTracerProvider(n.tp)))
}

// client returns an HTTP client whose transport is rt over a transport of
// its own, closed at the end of the test.
func client(t testing.TB, rt func(http.RoundTripper) http.RoundTripper) *http.Client {
	t.Helper()
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	return &http.Client{Transport: rt(base)}
}

// clockClient is n's client with httpclock.NewTransport.
func (n *node) clockClient(t testing.TB) *http.Client {
	t.Helper()
	return client(t, func(base http.RoundTripper) http.RoundTripper {
		return httpclock.NewTransport(base, otelhttp.WithTracerProvider(n.tp))
	})
}

// call makes a GET to url from a root span of n, reads the whole body,
// then starts and ends a span "after" under the root: the caller's work
// once the call is over.
func (n *node) call(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	ctx, root := n.tp.Tracer("test").Start(context.Background(), "root")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Body.Close(); err != nil {
		t.Fatal(err)
	}
	_, after := n.tp.Tracer("test").Start(ctx, "after")
	after.End()
	root.End()
	return res, string(body)
}

// span waits (bounded) for n's span named name, or of kind k when name is
// empty: a server's span ends after its response is on the way.
func (n *node) span(t *testing.T, name string, k trace.SpanKind) sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var found []sdktrace.ReadOnlySpan
		for _, s := range n.spans.GetSpans().Snapshots() {
			if (name == "" || s.Name() == name) && s.SpanKind() == k {
				found = append(found, s)
			}
		}
		if len(found) == 1 {
			return found[0]
		}
		if len(found) > 1 || time.Now().After(deadline) {
			t.Fatalf("%s: found %d spans %q of kind %v, want 1", n.name, len(found), name, k)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// clock rebuilds a span's clocks.
func clock(t *testing.T, s sdktrace.ReadOnlySpan) vclock.SpanClock {
	t.Helper()
	sc, err := sdk.SpanClock(s.Attributes())
	if err != nil {
		t.Fatalf("span %q: %v", s.Name(), err)
	}
	return sc
}
