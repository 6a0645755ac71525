package sdk_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tracerdev/tracer/sdk"
	"github.com/tracerdev/tracer/vclock"
)

// A service sets up tracing once; every span then carries its clock.
func ExampleNew() {
	exp := tracetest.NewInMemoryExporter() // in a service: sdk.WithOTLPGRPC() or the OTEL_* variables
	tp, err := sdk.New(context.Background(),
		sdk.WithServiceName("checkout"),
		sdk.WithNodeID("checkout-1"),
		sdk.WithExporter(exp), sdk.WithSyncExport())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tp.Shutdown(context.Background())

	tracer := tp.Tracer("example")
	ctx, parent := tracer.Start(context.Background(), "handle")
	_, child := tracer.Start(ctx, "query")
	child.End()
	parent.End()

	for _, s := range exp.GetSpans().Snapshots() {
		clock, _ := clockOf(s.Attributes())
		fmt.Printf("%s %s\n", s.Name(), clock)
	}
	// Output:
	// query checkout-1:2
	// handle checkout-1:1
}

// The OpenTracing-style helpers sit on the OpenTelemetry API.
func ExampleSpan_SetTag() {
	exp := tracetest.NewInMemoryExporter()
	tp, _ := sdk.New(context.Background(), sdk.WithExporter(exp), sdk.WithSyncExport())
	defer tp.Shutdown(context.Background())

	_, span := sdk.NewTracer(tp).StartSpan(context.Background(), "charge")
	span.SetTag("amount", 42).SetTag("currency", "EUR")
	span.Finish()

	for _, a := range exp.GetSpans()[0].Attributes {
		if a.Key == "amount" || a.Key == "currency" {
			fmt.Println(a.Key, a.Value.String())
		}
	}
	// Output:
	// amount 42
	// currency EUR
}

func clockOf(attrs []attribute.KeyValue) (vclock.Clock, error) {
	var node, deps string
	var tick int64
	for _, a := range attrs {
		switch a.Key {
		case vclock.AttrNode:
			node = a.Value.AsString()
		case vclock.AttrTick:
			tick = a.Value.AsInt64()
		case vclock.AttrDeps:
			deps = a.Value.AsString()
		}
	}
	return vclock.Compose(node, uint64(tick), deps)
}
