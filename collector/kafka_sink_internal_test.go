package collector

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// splitTestRequest has two resources with two scopes each; the spans of
// traces 1..3 are interleaved over them, with attributes of attrLen bytes.
func splitTestRequest(spansPerScope, attrLen int) *coltracepb.ExportTraceServiceRequest {
	req := &coltracepb.ExportTraceServiceRequest{}
	n := 0
	for r := range 2 {
		rs := &tracepb.ResourceSpans{
			Resource:  &resourcepb.Resource{Attributes: []*commonpb.KeyValue{strKV("service.name", fmt.Sprintf("svc-%d", r))}},
			SchemaUrl: fmt.Sprintf("https://schema/%d", r),
		}
		for sc := range 2 {
			ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: fmt.Sprintf("scope-%d-%d", r, sc), Version: "1"}, SchemaUrl: "https://scope"}
			for range spansPerScope {
				n++
				ss.Spans = append(ss.Spans, &tracepb.Span{
					TraceId: splitTID(n % 3), SpanId: []byte{0, 0, 0, 0, 0, 0, byte(n >> 8), byte(n)}, Name: "op",
					StartTimeUnixNano: 1000, EndTimeUnixNano: 2000,
					Attributes: []*commonpb.KeyValue{strKV("pad", strings.Repeat("x", attrLen))},
				})
			}
			rs.ScopeSpans = append(rs.ScopeSpans, ss)
		}
		req.ResourceSpans = append(req.ResourceSpans, rs)
	}
	return req
}

func strKV(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func splitTID(i int) []byte {
	b := bytes.Repeat([]byte{0x11}, 16)
	b[15] = byte(i + 1)
	return b
}

// FilterTrace is filterTrace for the external tests.
var FilterTrace = filterTrace

// filterTrace is req with only the spans of trace id, and only the
// resources and scopes that hold some.
func filterTrace(req *coltracepb.ExportTraceServiceRequest, id []byte) *coltracepb.ExportTraceServiceRequest {
	out := &coltracepb.ExportTraceServiceRequest{}
	for _, rs := range req.ResourceSpans {
		nrs := &tracepb.ResourceSpans{Resource: rs.Resource, SchemaUrl: rs.SchemaUrl}
		for _, ss := range rs.ScopeSpans {
			nss := &tracepb.ScopeSpans{Scope: ss.Scope, SchemaUrl: ss.SchemaUrl}
			for _, sp := range ss.Spans {
				if bytes.Equal(sp.TraceId, id) {
					nss.Spans = append(nss.Spans, sp)
				}
			}
			if len(nss.Spans) > 0 {
				nrs.ScopeSpans = append(nrs.ScopeSpans, nss)
			}
		}
		if len(nrs.ScopeSpans) > 0 {
			out.ResourceSpans = append(out.ResourceSpans, nrs)
		}
	}
	return out
}

// TestSplitByTrace: each message holds exactly the bytes that protobuf
// gives the request filtered to its trace (the fields are copied in the
// order they came), and a request of one trace is passed through.
func TestSplitByTrace(t *testing.T) {
	req := splitTestRequest(5, 10)
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var s splitter
	msgs, st, err := s.split(nil, b, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if st != (splitStats{}) {
		t.Errorf("stats %+v, want none", st)
	}
	if len(msgs) != 3 {
		t.Fatalf("got %d messages, want 3 (one per trace)", len(msgs))
	}
	total := 0
	for i, m := range msgs {
		// Traces in the order they first appear: span 1 is trace 1%3.
		wantID := splitTID((i + 1) % 3)
		if !bytes.Equal(m.traceID[:], wantID) {
			t.Errorf("message %d: trace %x, want %x", i, m.traceID, wantID)
		}
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(filterTrace(req, wantID))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m.value, want) {
			t.Errorf("message %d: value differs from the filtered request's encoding", i)
		}
		total += m.spans
	}
	if total != 20 {
		t.Errorf("%d spans in the messages, want 20", total)
	}

	one, err := proto.Marshal(filterTrace(req, splitTID(2)))
	if err != nil {
		t.Fatal(err)
	}
	msgs, _, err = s.split(msgs[:0], one, 1<<20)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("single trace: %d messages, %v", len(msgs), err)
	}
	if &msgs[0].value[0] != &one[0] || len(msgs[0].value) != len(one) {
		t.Error("a single-trace request that fits is not passed through as it came")
	}
}

// TestSplitUnderLimit: a trace larger than the limit is spread over
// messages under it, each span in exactly one; a span too large alone is
// dropped and counted.
func TestSplitUnderLimit(t *testing.T) {
	req := splitTestRequest(40, 200) // 160 spans of ~260 bytes
	big := req.ResourceSpans[1].ScopeSpans[0].Spans[3]
	big.Attributes = append(big.Attributes, strKV("huge", strings.Repeat("y", 5000)))
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 3000
	var s splitter
	msgs, st, err := s.split(nil, b, limit)
	if err != nil {
		t.Fatal(err)
	}
	if st.tooLarge != 1 || st.tooLargeSize <= limit {
		t.Errorf("stats %+v, want one span too large", st)
	}
	if st.splitTraces != 3 {
		t.Errorf("%d traces split, want 3", st.splitTraces)
	}
	seen := map[string]int{}
	for _, m := range msgs {
		if len(m.value) > limit {
			t.Errorf("message of %d bytes, over %d", len(m.value), limit)
		}
		var got coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(m.value, &got); err != nil {
			t.Fatalf("message does not decode: %v", err)
		}
		n := 0
		for _, rs := range got.ResourceSpans {
			if rs.Resource == nil || len(rs.Resource.Attributes) != 1 {
				t.Error("a part lost its resource")
			}
			for _, ss := range rs.ScopeSpans {
				if ss.Scope == nil || ss.Scope.Name == "" || ss.SchemaUrl != "https://scope" {
					t.Error("a part lost its scope")
				}
				for _, sp := range ss.Spans {
					n++
					if !bytes.Equal(sp.TraceId, m.traceID[:]) {
						t.Errorf("span of trace %x in a message of %x", sp.TraceId, m.traceID)
					}
					seen[fmt.Sprintf("%x/%x", sp.TraceId, sp.SpanId)]++
				}
			}
		}
		if n != m.spans {
			t.Errorf("message says %d spans, holds %d", m.spans, n)
		}
	}
	if len(seen) != 159 {
		t.Errorf("%d distinct spans delivered, want 159 (160 less the one too large)", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("span %s in %d messages", k, n)
		}
	}
	if _, ok := seen[fmt.Sprintf("%x/%x", big.TraceId, big.SpanId)]; ok {
		t.Error("the span too large was delivered")
	}
}

func TestSplitMalformed(t *testing.T) {
	var s splitter
	for _, b := range [][]byte{
		{0x0a, 0x05, 0x01},                   // resource_spans longer than the request
		{0x08, 0x01},                         // resource_spans as a varint
		{0x0a, 0x02, 0x12, 0x05},             // scope_spans past its resource
		{0x0a, 0x04, 0x12, 0x02, 0x12, 0x09}, // a span past its scope
		{0xff},                               // a truncated tag
	} {
		if msgs, _, err := s.split(nil, b, 1<<20); err == nil {
			t.Errorf("% x: no error, %d messages", b, len(msgs))
		}
	}
	if msgs, _, err := s.split(nil, nil, 1<<20); err != nil || len(msgs) != 0 {
		t.Errorf("empty request: %d messages, %v", len(msgs), err)
	}
}

// FuzzKafkaSplit: the splitter never panics; what it accepts comes out as
// valid requests under the limit, each of one trace, holding every span
// once but the ones it counts as dropped.
func FuzzKafkaSplit(f *testing.F) {
	for _, req := range []*coltracepb.ExportTraceServiceRequest{splitTestRequest(2, 5), splitTestRequest(10, 100), filterTrace(splitTestRequest(3, 1), splitTID(0))} {
		b, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(600))
		f.Add(b, uint16(60000))
	}
	f.Add([]byte{0x0a, 0x00}, uint16(100))
	f.Fuzz(func(t *testing.T, b []byte, limit uint16) {
		var s splitter
		maxValue := int(limit)
		msgs, st, err := s.split(nil, b, maxValue)
		if err != nil {
			return
		}
		var in coltracepb.ExportTraceServiceRequest
		inOK := proto.Unmarshal(b, &in) == nil
		want := 0
		if inOK {
			for _, rs := range in.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					for _, sp := range ss.Spans {
						if len(sp.TraceId) == 16 {
							want++
						}
					}
				}
			}
		}
		got := 0
		for _, m := range msgs {
			if len(m.value) > maxValue {
				t.Fatalf("message of %d bytes over %d", len(m.value), maxValue)
			}
			var out coltracepb.ExportTraceServiceRequest
			if err := proto.Unmarshal(m.value, &out); err != nil {
				if inOK {
					t.Fatalf("message does not decode though the request did: %v", err)
				}
				continue
			}
			n := 0
			for _, rs := range out.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					for _, sp := range ss.Spans {
						n++
						if !bytes.Equal(sp.TraceId, m.traceID[:]) {
							t.Fatalf("span of trace %x in the message of %x", sp.TraceId, m.traceID)
						}
					}
				}
			}
			if inOK && n != m.spans {
				t.Fatalf("message says %d spans, holds %d", m.spans, n)
			}
			got += m.spans
		}
		if inOK && got+st.tooLarge != want {
			t.Fatalf("%d spans out + %d too large, want %d", got, st.tooLarge, want)
		}
	})
}
