package httpclock_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/tracerdev/tracer/interceptors/httpclock"
	"github.com/tracerdev/tracer/propagation"
	"github.com/tracerdev/tracer/sdk"
)

// A server and its client, each with one line of instrumentation. The
// server's response carries its clock back; the client merges it, so the
// spans the client starts after the call follow everything the server did.
func Example() {
	ctx := context.Background()
	tp, err := sdk.New(ctx, sdk.WithServiceName("gateway"), sdk.WithoutExporter())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tp.Shutdown(ctx)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "hello")
	})
	srv := httptest.NewServer(httpclock.NewHandler(mux, "gateway", otelhttp.WithTracerProvider(tp)))
	defer srv.Close()

	base := &http.Transport{}
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: httpclock.NewTransport(base, otelhttp.WithTracerProvider(tp))}

	ctx, span := tp.Tracer("example").Start(ctx, "call")
	defer span.End()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/hello", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := client.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	fmt.Print(string(body))
	fmt.Println("clock sent back:", res.Header.Get(propagation.Header) != "")
	// Output:
	// hello
	// clock sent back: true
}

// With otelhttp set up already, Transport goes inside its transport (and
// Handler inside its handler), with propagators that carry the clock, as
// propagation.Default does. WithVClock shares a clock propagator, to count
// the malformed clocks servers sent back: they are ignored, never an error.
func ExampleTransport() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(propagation.Header, "not a clock")
	}))
	defer srv.Close()

	vc := propagation.NewVClock()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	client := &http.Client{Transport: otelhttp.NewTransport(
		httpclock.Transport(base, httpclock.WithVClock(vc)),
		otelhttp.WithPropagators(propagation.Default()))}

	res, err := client.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	res.Body.Close()
	fmt.Println(res.Status, "- malformed clocks:", vc.Rejected())
	// Output: 200 OK - malformed clocks: 1
}
