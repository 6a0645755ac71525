package badger_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/badger"
)

func Example() {
	dir, err := os.MkdirTemp("", "tracer-badger-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	// Traces come back with at most 10,000 spans each.
	s, err := badger.Open(dir, badger.WithReaderLimits(storage.ReaderLimits{MaxTraceSpans: 10_000}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	ctx := context.Background()
	start := time.Now().Add(-time.Minute)
	span := storage.Span{
		TraceID: storage.TraceID{1}, SpanID: storage.SpanID{1},
		Service: "frontend", Name: "GET /", Kind: storage.KindServer,
		StartTime: start.UnixNano(), EndTime: start.Add(20 * time.Millisecond).UnixNano(),
	}
	// Writing the same span twice stores it once.
	for range 2 {
		if err := s.WriteSpans(ctx, []storage.Span{span}); err != nil {
			fmt.Println(err)
			return
		}
	}
	tr, err := s.Trace(ctx, storage.TraceID{1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(tr.Spans), tr.Spans[0].Name)
	ops, _ := s.Operations(ctx, "frontend", storage.KindServer)
	fmt.Println(ops)
	// Retention is the caller's: Purge deletes what started before a time
	// and frees the disk it took.
	if err := s.Purge(ctx, time.Now().Add(-7*24*time.Hour)); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 1 GET /
	// [{GET / server}]
}
