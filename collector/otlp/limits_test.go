package otlp

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

// TestDecodeStringLimits: every string that reaches storage has a limit,
// applied by Decode and counted.
func TestDecodeStringLimits(t *testing.T) {
	long := strings.Repeat("x", 40)
	tests := []struct {
		name   string
		lim    Limits
		mutate func(*coltracepb.ExportTraceServiceRequest)
		check  func(*testing.T, storage.Span, DecodeStats)
	}{
		{"resource attribute count", Limits{MaxResourceAttributes: 1}, func(r *coltracepb.ExportTraceServiceRequest) {
			r.ResourceSpans[0].Resource.Attributes = []*commonpb.KeyValue{str("service.name", "s"), str("a", "1"), str("b", "2")}
		}, func(t *testing.T, s storage.Span, st DecodeStats) {
			if len(s.Resource) != 1 || s.Service != "s" || st.DroppedAttributes != 2 {
				t.Fatalf("resource %v, stats %+v", s.Resource, st)
			}
		}},
		{"resource attribute count keeps service.name", Limits{MaxResourceAttributes: 2}, func(r *coltracepb.ExportTraceServiceRequest) {
			r.ResourceSpans[0].Resource.Attributes = []*commonpb.KeyValue{str("a", "1"), str("b", "2"), str("c", "3"), str("service.name", "s"), str("service.name", "t")}
		}, func(t *testing.T, s storage.Span, st DecodeStats) {
			if len(s.Resource) != 3 || s.Service != "s" || st.DroppedAttributes != 2 {
				t.Fatalf("resource %v, service %q, stats %+v", s.Resource, s.Service, st)
			}
		}},
		{"resource attribute value", Limits{MaxAttributeValueLen: 4}, func(r *coltracepb.ExportTraceServiceRequest) {
			r.ResourceSpans[0].Resource.Attributes = []*commonpb.KeyValue{str("service.name", long)}
		}, func(t *testing.T, s storage.Span, st DecodeStats) {
			if s.Service != "xxxx" || st.TruncatedValues != 1 {
				t.Fatalf("service %q, stats %+v", s.Service, st)
			}
		}},
		{"attribute key", Limits{MaxKeyLen: 5}, func(r *coltracepb.ExportTraceServiceRequest) {
			sp := r.ResourceSpans[0].ScopeSpans[0].Spans[0]
			sp.Attributes = []*commonpb.KeyValue{str("héllo.world", "v"), i64(long, 1)}
			sp.Events[0].Attributes = []*commonpb.KeyValue{str(long, "v")}
			sp.Links[0].Attributes = []*commonpb.KeyValue{str(long, "v")}
			r.ResourceSpans[0].Resource.Attributes = []*commonpb.KeyValue{str(long, "v")}
		}, func(t *testing.T, s storage.Span, st DecodeStats) {
			if s.Attributes[0].Key != "héll" || s.Attributes[1].Key != "xxxxx" || s.Events[0].Attributes[0].Key != "xxxxx" ||
				s.Links[0].Attributes[0].Key != "xxxxx" || s.Resource[0].Key != "xxxxx" || st.TruncatedStrings != 5 {
				t.Fatalf("keys %q %q %q %q %q, stats %+v", s.Attributes[0].Key, s.Attributes[1].Key, s.Events[0].Attributes[0].Key,
					s.Links[0].Attributes[0].Key, s.Resource[0].Key, st)
			}
		}},
		{"nested map key", Limits{MaxKeyLen: 12}, func(r *coltracepb.ExportTraceServiceRequest) {
			m := &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{str("abcdefghijklmn", "v")}}}}
			r.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes = []*commonpb.KeyValue{kv("m", m)}
		}, func(t *testing.T, s storage.Span, st DecodeStats) {
			if s.Attributes[0].Value != `{"abcdefghijkl":"v"}` || st.TruncatedStrings != 1 {
				t.Fatalf("value %s, stats %+v", s.Attributes[0].Value, st)
			}
		}},
		{"status message", Limits{MaxStatusMessageLen: 3}, func(r *coltracepb.ExportTraceServiceRequest) {
			r.ResourceSpans[0].ScopeSpans[0].Spans[0].Status.Message = long
		}, func(t *testing.T, s storage.Span, st DecodeStats) {
			if s.StatusMessage != "xxx" || st.TruncatedStrings != 1 {
				t.Fatalf("message %q, stats %+v", s.StatusMessage, st)
			}
		}},
		{"event name", Limits{MaxEventNameLen: 3}, func(r *coltracepb.ExportTraceServiceRequest) {
			r.ResourceSpans[0].ScopeSpans[0].Spans[0].Events[0].Name = long
		}, func(t *testing.T, s storage.Span, st DecodeStats) {
			if s.Events[0].Name != "xxx" || s.Events[1].Name != "ev2" || st.TruncatedStrings != 1 {
				t.Fatalf("names %q %q, stats %+v", s.Events[0].Name, s.Events[1].Name, st)
			}
		}},
		{"scope name and version", Limits{MaxScopeLen: 7}, func(r *coltracepb.ExportTraceServiceRequest) {
			sc := r.ResourceSpans[0].ScopeSpans[0].Scope
			sc.Name, sc.Version = long, "1.2.3-rc.1"
		}, func(t *testing.T, s storage.Span, st DecodeStats) {
			if s.ScopeName != "xxxxxxx" || s.ScopeVersion != "1.2.3-r" || st.TruncatedStrings != 2 {
				t.Fatalf("scope %q %q, stats %+v", s.ScopeName, s.ScopeVersion, st)
			}
		}},
		{"trace states", Limits{MaxTraceStateLen: 8}, func(r *coltracepb.ExportTraceServiceRequest) {
			sp := r.ResourceSpans[0].ScopeSpans[0].Spans[0]
			sp.TraceState = "a=1,b=22,c=333"
			sp.Links[0].TraceState = "k=v,w=xyz"
			sp.Links[1].TraceState = "k=v"
		}, func(t *testing.T, s storage.Span, st DecodeStats) {
			if s.TraceState != "" || s.Links[0].TraceState != "" || s.Links[1].TraceState != "k=v" || st.TruncatedStrings != 2 {
				t.Fatalf("trace states %q %q %q, stats %+v", s.TraceState, s.Links[0].TraceState, s.Links[1].TraceState, st)
			}
		}},
		{"event and link attribute counts", Limits{MaxEventAttributes: 1, MaxLinkAttributes: 2}, func(r *coltracepb.ExportTraceServiceRequest) {
			sp := r.ResourceSpans[0].ScopeSpans[0].Spans[0]
			sp.Events[0].Attributes = []*commonpb.KeyValue{str("a", "1"), str("b", "2"), str("c", "3")}
			sp.Links[0].Attributes = []*commonpb.KeyValue{str("a", "1"), str("b", "2"), str("c", "3")}
		}, func(t *testing.T, s storage.Span, st DecodeStats) {
			if len(s.Events[0].Attributes) != 1 || len(s.Links[0].Attributes) != 2 || st.DroppedAttributes != 3 {
				t.Fatalf("event %v link %v, stats %+v", s.Events[0].Attributes, s.Links[0].Attributes, st)
			}
		}},
		{"events and links per span", Limits{MaxEvents: 1, MaxLinks: 1}, func(r *coltracepb.ExportTraceServiceRequest) {
		}, func(t *testing.T, s storage.Span, st DecodeStats) {
			if len(s.Events) != 1 || s.Events[0].Name != "ev" || len(s.Links) != 1 || s.DroppedEvents != 4 || s.DroppedLinks != 5 ||
				st.DroppedEvents != 1 || st.DroppedLinks != 1 {
				t.Fatalf("%d events (dropped %d), %d links (dropped %d), stats %+v", len(s.Events), s.DroppedEvents, len(s.Links), s.DroppedLinks, st)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := testRequest(1)
			// Short strings everywhere, then the case's long ones.
			req.ResourceSpans[0].Resource.Attributes = []*commonpb.KeyValue{str("service.name", "s")}
			req.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes = []*commonpb.KeyValue{str("a", "1")}
			tc.mutate(req)
			body := marshal(t, req)
			res, err := Scan(body, tc.lim)
			if err != nil || res.Rejected != 0 {
				t.Fatalf("Scan = %+v, %v", res, err)
			}
			spans, st, err := Decode(nil, body, tc.lim)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, spans[0], st)
		})
	}
}

// TestDefaultLimitsSetEveryLimit: no string of a span is unlimited by
// default.
func TestDefaultLimitsSetEveryLimit(t *testing.T) {
	lim := DefaultLimits()
	for name, v := range map[string]int{
		"MaxSpans": lim.MaxSpans, "MaxNameLen": lim.MaxNameLen, "MaxAttributes": lim.MaxAttributes,
		"MaxResourceAttributes": lim.MaxResourceAttributes, "MaxEventAttributes": lim.MaxEventAttributes,
		"MaxLinkAttributes": lim.MaxLinkAttributes, "MaxAttributeValueLen": lim.MaxAttributeValueLen,
		"MaxKeyLen": lim.MaxKeyLen, "MaxEvents": lim.MaxEvents, "MaxLinks": lim.MaxLinks,
		"MaxStatusMessageLen": lim.MaxStatusMessageLen, "MaxEventNameLen": lim.MaxEventNameLen,
		"MaxScopeLen": lim.MaxScopeLen, "MaxTraceStateLen": lim.MaxTraceStateLen,
	} {
		if v <= 0 {
			t.Errorf("DefaultLimits().%s = %d", name, v)
		}
	}
}

// TestDecodeKeepsClockAttributes: the clock attributes come last from the
// SDK; the attribute limit drops others, never them, and never cuts their
// values.
func TestDecodeKeepsClockAttributes(t *testing.T) {
	deps := strings.Repeat("m", 30) + ":7," + strings.Repeat("n", 30) + ":12"
	clock := []*commonpb.KeyValue{
		str(vclock.AttrNode, "node-a-0123456789"), i64(vclock.AttrTick, 42), str(vclock.AttrDeps, deps),
		i64(vclock.AttrEndTick, 44), str(vclock.AttrEndDeps, deps+","+strings.Repeat("o", 30)+":1"),
	}
	var attrs []*commonpb.KeyValue
	for i := 0; i < 130; i++ {
		attrs = append(attrs, i64(strings.Repeat("k", i%3+1)+string(rune('a'+i%26)), int64(i)))
	}
	sp := testSpan(0)
	sp.Attributes = append(attrs, clock...)
	sp.Attributes = append(sp.Attributes, str(vclock.AttrNode, "duplicate")) // one of each, no more
	sp.DroppedAttributesCount = 0
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{sp}}}}}}
	lim := DefaultLimits()
	lim.MaxAttributeValueLen = 8
	lim.MaxKeyLen = 4
	spans, st, err := Decode(nil, marshal(t, req), lim)
	if err != nil {
		t.Fatal(err)
	}
	s := spans[0]
	if len(s.Attributes) != 128+5 || s.DroppedAttributes != 3 || st.DroppedAttributes != 3 {
		t.Fatalf("%d attributes, %d dropped, stats %+v", len(s.Attributes), s.DroppedAttributes, st)
	}
	for i, kv := range clock {
		a := s.Attributes[128+i]
		if _, want := refValue(kv.Value); a.Key != kv.Key || a.Value != want {
			t.Errorf("clock attribute %d = %q=%q, want %q=%q", i, a.Key, a.Value, kv.Key, want)
		}
	}
	c, ok := s.Clock()
	if !ok || c.Get("node-a-0123456789") != 42 {
		t.Fatalf("clock %v, %v", c, ok)
	}
}

// TestDecodeSharesResource: the spans of one resource share one Resource
// slice, so that a 1 MB resource attribute costs 1 MB, not 1 MB per span:
// decoding takes a small multiple of the request's size, for protobuf and
// for OTLP/JSON.
func TestDecodeSharesResource(t *testing.T) {
	const nSpans = 300
	big := strings.Repeat("r", 1<<20)
	rs := &tracepb.ResourceSpans{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "svc"), str("big", big)}},
		ScopeSpans: []*tracepb.ScopeSpans{{}},
	}
	for i := 0; i < nSpans; i++ {
		sp := testSpan(i)
		sp.Attributes = sp.Attributes[:2]
		rs.ScopeSpans[0].Spans = append(rs.ScopeSpans[0].Spans, sp)
	}
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{rs}}
	pb := marshal(t, req)
	js := otlpJSON(t, req)
	lim := DefaultLimits()
	lim.MaxAttributeValueLen = 0 // keep the big value whole
	for _, tc := range []struct {
		name   string
		body   []byte
		decode func([]byte) ([]storage.Span, error)
	}{
		{"protobuf", pb, func(b []byte) ([]storage.Span, error) {
			spans, _, err := Decode(nil, b, lim)
			return spans, err
		}},
		{"protobuf immutable", pb, func(b []byte) ([]storage.Span, error) {
			spans, _, err := DecodeImmutable(nil, b, lim)
			return spans, err
		}},
		{"json", js, func(b []byte) ([]storage.Span, error) {
			wire, err := FromJSON(b)
			if err != nil {
				return nil, err
			}
			res, err := Scan(wire, lim)
			if err != nil {
				return nil, err
			}
			spans, _, err := DecodeImmutable(nil, res.Body, lim)
			return spans, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var spans []storage.Span
			var err error
			alloc := allocated(func() { spans, err = tc.decode(tc.body) })
			if err != nil {
				t.Fatal(err)
			}
			if len(spans) != nSpans {
				t.Fatalf("%d spans", len(spans))
			}
			for i := range spans {
				r := spans[i].Resource
				if len(r) != 2 || r[1].Value != big {
					t.Fatalf("span %d: resource %d attributes", i, len(r))
				}
				if unsafe.SliceData(r) != unsafe.SliceData(spans[0].Resource) {
					t.Fatalf("span %d has a Resource of its own", i)
				}
			}
			if limit := 4 * uint64(len(tc.body)); alloc > limit {
				t.Fatalf("decoding %d bytes allocated %d bytes, more than %d", len(tc.body), alloc, limit)
			}
			t.Logf("%d-byte request: %d bytes allocated", len(tc.body), alloc)
		})
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	f()
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc
}

// otlpJSON returns req in OTLP/JSON: protojson's form with the ids of spans
// and links in hex.
func otlpJSON(t testing.TB, req *coltracepb.ExportTraceServiceRequest) []byte {
	t.Helper()
	b, err := protojson.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	hexIDs := func(obj any, keys ...string) {
		m, _ := obj.(map[string]any)
		for _, k := range keys {
			if s, ok := m[k].(string); ok {
				raw, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					t.Fatal(err)
				}
				m[k] = hex.EncodeToString(raw)
			}
		}
	}
	list := func(obj any, key string) []any {
		m, _ := obj.(map[string]any)
		l, _ := m[key].([]any)
		return l
	}
	for _, rs := range list(root, "resourceSpans") {
		for _, ss := range list(rs, "scopeSpans") {
			for _, sp := range list(ss, "spans") {
				hexIDs(sp, "traceId", "spanId", "parentSpanId")
				for _, l := range list(sp, "links") {
					hexIDs(l, "traceId", "spanId")
				}
			}
		}
	}
	out, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
