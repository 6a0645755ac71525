package propagation_test

import (
	"context"
	"fmt"
	"net/http"

	otelprop "go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tracerdev/tracer/propagation"
	"github.com/tracerdev/tracer/sdk"
)

// A client puts trace context and its clock on an HTTP request; the server
// takes them off and continues both.
func ExampleDefault() {
	client, _ := sdk.New(context.Background(), sdk.WithNodeID("client"), sdk.WithoutExporter())
	defer client.Shutdown(context.Background())
	serverSpans := tracetest.NewInMemoryExporter()
	server, _ := sdk.New(context.Background(), sdk.WithNodeID("server"),
		sdk.WithExporter(serverSpans), sdk.WithSyncExport())
	defer server.Shutdown(context.Background())
	prop := propagation.Default()

	// Client side.
	ctx, span := client.Tracer("example").Start(context.Background(), "GET /cart")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://cart.internal/cart", nil)
	prop.Inject(ctx, otelprop.HeaderCarrier(req.Header))
	span.End()
	fmt.Println("sent clock:", req.Header.Get(propagation.Header))

	// Server side.
	sctx := prop.Extract(context.Background(), otelprop.HeaderCarrier(req.Header))
	_, handler := server.Tracer("example").Start(sctx, "cart.Get")
	handler.End()
	for _, a := range serverSpans.GetSpans()[0].Attributes {
		fmt.Println(a.Key, a.Value.String())
	}
	// Output:
	// sent clock: client:1
	// tracer.vc.node server
	// tracer.vc.tick 1
	// tracer.vc.deps client:1
}
