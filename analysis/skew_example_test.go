package analysis_test

import (
	"fmt"
	"time"

	"github.com/tracerdev/tracer/analysis"
	"github.com/tracerdev/tracer/storage"
)

// A call from "front" to "back", whose clock is 50ms ahead; neither
// carries Tracer's vector clock, so the call and the reply bound the skew.
func ExampleSkew() {
	ms := int64(time.Millisecond)
	span := func(id, parent byte, svc string, kind storage.SpanKind, start, end int64) storage.Span {
		return storage.Span{SpanID: storage.SpanID{id}, ParentSpanID: storage.SpanID{parent}, Service: svc, Kind: kind, StartTime: start, EndTime: end}
	}
	tr := analysis.NewTrace([]storage.Span{
		span(1, 0, "front", storage.KindServer, 0, 10*ms),
		span(2, 1, "front", storage.KindClient, 1*ms, 8*ms),
		span(3, 2, "back", storage.KindServer, 52*ms, 57*ms), // truly 2ms to 7ms
	})
	r := analysis.Skew(analysis.NewCausal(tr))
	for _, p := range r.Pairs {
		fmt.Printf("%s is ahead of %s by %v to %v (%s confidence, %d violation)\n",
			tr.Instances[p.B].Service, tr.Instances[p.A].Service, p.Skew.Lo, p.Skew.Hi, p.Confidence, p.ViolationCount)
	}
	back := r.Instances[1]
	fmt.Println("back's offset:", back.Offset)
	adj := r.Adjusted()
	fmt.Println("back's server span, adjusted:", time.Duration(adj[2].Start), "to", time.Duration(adj[2].End))
	// Output:
	// back is ahead of front by 49ms to 51ms (medium confidence, 1 violation)
	// back's offset: 49ms
	// back's server span, adjusted: 3ms to 8ms
}
