package otlp_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerdev/tracer/exporter/otlp"
)

// The exporter behind the OTel SDK's batch processor, sending to an
// OTLP/HTTP endpoint, with a disk spool for what it cannot send.
func Example() {
	var requests atomic.Int64
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		requests.Add(1)
	}))
	defer collector.Close()
	spool, err := os.MkdirTemp("", "spool")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(spool)

	ctx := context.Background()
	exp, err := otlp.New(ctx,
		otlp.WithHTTPEndpoint(collector.URL),
		otlp.WithSpool(spool, 64<<20),
		otlp.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		fmt.Println(err)
		return
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	_, span := tp.Tracer("example").Start(ctx, "work")
	span.End() // never waits on the network
	if err := tp.Shutdown(ctx); err != nil {
		fmt.Println(err)
	}
	st := exp.Stats()
	fmt.Println("sent:", st.Sent, "dropped:", st.DroppedTotal(), "requests:", requests.Load())
	// Output: sent: 1 dropped: 0 requests: 1
}
