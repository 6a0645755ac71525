package memory_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

func Example() {
	ctx := context.Background()
	s := memory.New(memory.WithMaxSpans(10_000))
	defer s.Close()

	start := time.Now().Add(-time.Minute)
	root := storage.Span{
		TraceID: storage.TraceID{1}, SpanID: storage.SpanID{1},
		Service: "frontend", Name: "GET /", Kind: storage.KindServer,
		StartTime: start.UnixNano(), EndTime: start.Add(20 * time.Millisecond).UnixNano(),
	}
	child := storage.Span{
		TraceID: storage.TraceID{1}, SpanID: storage.SpanID{2}, ParentSpanID: storage.SpanID{1},
		Service: "orders", Name: "list", Kind: storage.KindServer,
		StartTime: start.Add(time.Millisecond).UnixNano(), EndTime: start.Add(15 * time.Millisecond).UnixNano(),
		Attributes: []storage.Attribute{{Key: "http.method", Type: storage.TypeString, Value: "GET"}},
	}
	if err := s.WriteSpans(ctx, []storage.Span{root, child}); err != nil {
		fmt.Println(err)
		return
	}
	traces, _ := s.FindTraces(ctx, storage.Query{Attributes: map[string]string{"http.method": "GET"}})
	fmt.Println(len(traces), "trace with", len(traces[0].Spans), "spans")
	services, _ := s.Services(ctx)
	fmt.Println(services)
	deps, _ := s.Dependencies(ctx, time.Now(), time.Hour)
	fmt.Printf("%+v\n", deps)
	// Output:
	// 1 trace with 2 spans
	// [frontend orders]
	// [{Parent:frontend Child:orders CallCount:1 ErrorCount:0}]
}
