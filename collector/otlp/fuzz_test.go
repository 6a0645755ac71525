package otlp

import (
	"bytes"
	"reflect"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

func seedRequests(f *testing.F) {
	f.Add(marshal(f, testRequest(5)))
	bad := testRequest(6)
	bad.ResourceSpans[0].ScopeSpans[0].Spans[0].TraceId = nil
	bad.ResourceSpans[1].ScopeSpans[1].Spans[0].EndTimeUnixNano = 1
	f.Add(marshal(f, bad))
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x03, 0x12, 0x01, 0x12})
}

// FuzzScan: Scan never panics; when it accepts, its Body scans again with
// nothing rejected, and Decode succeeds with Accepted spans.
func FuzzScan(f *testing.F) {
	seedRequests(f)
	f.Fuzz(func(t *testing.T, req []byte) {
		lim := DefaultLimits()
		res, err := Scan(req, lim)
		if err != nil {
			return
		}
		if res.Accepted < 0 || res.Rejected < 0 || (res.Rejected > 0) != (res.Reason != "") {
			t.Fatalf("inconsistent result %+v", res)
		}
		again, err := Scan(res.Body, lim)
		if err != nil || again.Rejected != 0 || again.Accepted != res.Accepted {
			t.Fatalf("Scan of Body = %+v, %v; first %+v", again, err, res)
		}
		spans, st, err := Decode(nil, res.Body, lim)
		if err != nil {
			t.Fatalf("Decode of an accepted body: %v", err)
		}
		if len(spans) != res.Accepted || st.Spans != res.Accepted {
			t.Fatalf("Decode gave %d spans (stats %d), Scan accepted %d", len(spans), st.Spans, res.Accepted)
		}
	})
}

// FuzzDecode: Decode never panics on any input, and leaves dst alone on
// error; DecodeImmutable returns the same as Decode.
func FuzzDecode(f *testing.F) {
	seedRequests(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		lim := Limits{MaxAttributes: 3, MaxAttributeValueLen: 5}
		spans, st, err := Decode(nil, body, lim)
		if err != nil && len(spans) != 0 {
			t.Fatalf("Decode failed but returned %d spans", len(spans))
		}
		ispans, ist, ierr := DecodeImmutable(nil, bytes.Clone(body), lim)
		if (err == nil) != (ierr == nil) || st != ist || !reflect.DeepEqual(spans, ispans) {
			t.Fatalf("DecodeImmutable = %d spans, %+v, %v; Decode = %d spans, %+v, %v", len(ispans), ist, ierr, len(spans), st, err)
		}
	})
}

// FuzzFromJSON: FromJSON never panics, and what it returns is a valid
// ExportTraceServiceRequest.
func FuzzFromJSON(f *testing.F) {
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"x","kind":2,"startTimeUnixNano":"1","endTimeUnixNano":2,"attributes":[{"key":"a","value":{"arrayValue":{"values":[{"intValue":"1"}]}}}]}]}]}]}`))
	f.Add([]byte(`{"resource_spans":[{"scope_spans":[{"spans":[{"links":[{"trace_id":""}]}]}]}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := FromJSON(body)
		if err != nil {
			return
		}
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Fatalf("FromJSON output does not unmarshal: %v", err)
		}
	})
}
