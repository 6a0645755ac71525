package collector

import (
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// FuzzCountSpans: countSpans never panics on any input, and what it counts
// in a request that protobuf-go decodes is what protobuf-go counts. It may
// refuse more than protobuf-go (a known field with the wrong wire type,
// which protobuf-go keeps as an unknown field; the receivers' Scan refuses
// it too), but never a request protobuf-go encoded.
func FuzzCountSpans(f *testing.F) {
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{
		{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{Name: "a"}, {Name: "b"}}}, {}}},
		{SchemaUrl: "x", ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{Name: "c"}}}}},
	}}
	b, err := proto.Marshal(req)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(append(b, b...))
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x7f, 1})
	f.Add([]byte{0x08, 1}) // field 1 as a varint
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := countSpans(body)
		var req coltracepb.ExportTraceServiceRequest
		if (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, &req) != nil {
			return
		}
		if err != nil {
			again, merr := proto.Marshal(&req)
			if merr != nil {
				return
			}
			if _, err := countSpans(again); err != nil {
				t.Fatalf("countSpans: %v on a request protobuf-go encoded", err)
			}
			return
		}
		want := 0
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				want += len(ss.Spans)
			}
		}
		if n != want {
			t.Fatalf("countSpans = %d, protobuf-go counts %d", n, want)
		}
	})
}
