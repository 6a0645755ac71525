package collector_test

import (
	"bytes"
	"testing"

	"github.com/tracerdev/tracer/collector/otlp"
)

// FuzzIngesterConcat checks what the ingester relies on when it decodes the
// messages of one fetch as one request: for any two messages that the
// scanner accepts, their accepted bodies concatenated decode, without
// error, to the spans of each decoded alone, in order. Messages the scanner
// refuses are what the ingester skips; they must not panic either.
func FuzzIngesterConcat(f *testing.F) {
	a, b := otelMessage(f, 1).Value, otelMessage(f, 2).Value
	f.Add(a, b)
	f.Add(a, []byte("not protobuf"))
	f.Add([]byte{}, b)
	f.Add(append(bytes.Clone(a), 0x0a, 0x02, 0x0a), b)
	lim := otlp.DefaultLimits()
	lim.MaxSpans = 0
	f.Fuzz(func(t *testing.T, m1, m2 []byte) {
		r1, err1 := otlp.Scan(m1, lim)
		r2, err2 := otlp.Scan(m2, lim)
		if err1 != nil || err2 != nil {
			return // skipped by the ingester
		}
		s1, _, err := otlp.Decode(nil, r1.Body, lim)
		if err != nil {
			t.Fatalf("decode of a scanned body: %v", err)
		}
		s2, _, err := otlp.Decode(nil, r2.Body, lim)
		if err != nil {
			t.Fatalf("decode of a scanned body: %v", err)
		}
		both, _, err := otlp.Decode(nil, append(bytes.Clone(r1.Body), r2.Body...), lim)
		if err != nil {
			t.Fatalf("decode of two scanned bodies concatenated: %v", err)
		}
		if len(both) != len(s1)+len(s2) || len(s1) != r1.Accepted || len(s2) != r2.Accepted {
			t.Fatalf("concatenated: %d spans, want %d + %d (accepted %d + %d)", len(both), len(s1), len(s2), r1.Accepted, r2.Accepted)
		}
		for i, s := range append(s1, s2...) {
			if both[i].TraceID != s.TraceID || both[i].SpanID != s.SpanID || both[i].Name != s.Name || both[i].Service != s.Service {
				t.Fatalf("span %d: %v/%v %q %q, want %v/%v %q %q", i, both[i].TraceID, both[i].SpanID, both[i].Name, both[i].Service, s.TraceID, s.SpanID, s.Name, s.Service)
			}
		}
	})
}
