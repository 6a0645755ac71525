package clickhouse_test

import (
	"context"
	"log"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerdev/tracer/exporter/clickhouse"
	chstore "github.com/tracerdev/tracer/storage/clickhouse"
)

// An application that exports its spans straight to ClickHouse, with no
// collector. (Not run: it needs a server.)
func ExampleNew() {
	ctx := context.Background()
	cfg := chstore.NewDefaultConfig()
	cfg.Addr = []string{"127.0.0.1:9000"}
	exp, err := clickhouse.New(ctx, cfg) // applies the schema
	if err != nil {
		log.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	defer tp.Shutdown(ctx) // flushes, then closes the exporter's store

	_, span := tp.Tracer("example").Start(ctx, "work")
	span.End()
}
