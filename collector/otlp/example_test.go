package otlp_test

import (
	"fmt"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/collector/otlp"
)

func Example() {
	good := &tracepb.Span{
		TraceId: []byte("0123456789abcdef"), SpanId: []byte("01234567"),
		Name: "GET /", StartTimeUnixNano: 10, EndTimeUnixNano: 20,
	}
	bad := &tracepb.Span{SpanId: []byte("01234567"), Name: "no trace id", StartTimeUnixNano: 10, EndTimeUnixNano: 20}
	req, _ := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{good, bad}}},
	}}})

	res, err := otlp.Scan(req, otlp.DefaultLimits())
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	fmt.Println(res.Accepted, "accepted;", res.Rejected, "rejected:", res.Reason)

	spans, _, err := otlp.Decode(nil, res.Body, otlp.DefaultLimits())
	if err != nil {
		fmt.Println("decode:", err)
		return
	}
	fmt.Println(spans[0].Service, spans[0].Name, spans[0].Duration())
	// Output:
	// 1 accepted; 1 rejected: 1 span with invalid trace id
	// unknown_service GET / 10ns
}
