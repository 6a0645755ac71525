package otlp

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/storage"
)

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func i64(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

func sv(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

// allKinds returns attributes of every AnyValue kind, nested ones included.
func allKinds() []*commonpb.KeyValue {
	arr := &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{
		sv("a\"b\\c\n"), {Value: &commonpb.AnyValue_IntValue{IntValue: -7}},
		{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 1.5}}, {Value: &commonpb.AnyValue_BoolValue{BoolValue: true}},
		{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{0, 1, 255}}}, {},
	}}}}
	kvl := &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{
		str("z", "last"), kv("inner", arr), i64("n", 1<<40), kv("nan", &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: math.NaN()}}),
	}}}}
	return []*commonpb.KeyValue{
		str("s", "héllo"),
		{Key: "b", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: false}}},
		i64("i", math.MinInt64),
		{Key: "d", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 1e21}}},
		{Key: "inf", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: math.Inf(-1)}}},
		{Key: "raw", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte("\x00\xffbin")}}},
		kv("arr", arr),
		kv("map", kvl),
		{Key: "empty"},
	}
}

func tid(i int) []byte {
	b := make([]byte, 16)
	b[0], b[15] = 0xab, byte(i+1)
	return b
}

func sid(i int) []byte {
	b := make([]byte, 8)
	b[0], b[7] = 0xcd, byte(i+1)
	return b
}

// testSpan returns a valid span with index i.
func testSpan(i int) *tracepb.Span {
	return &tracepb.Span{
		TraceId:                tid(i / 4),
		SpanId:                 sid(i),
		ParentSpanId:           sid(i + 100),
		TraceState:             "k=v",
		Flags:                  0x301,
		Name:                   fmt.Sprintf("op-%d", i) + strings.Repeat("-", 150*(i%2)), // some names take the multi-byte-length path
		Kind:                   tracepb.Span_SpanKind(i % 6),
		StartTimeUnixNano:      1_700_000_000_000_000_000 + uint64(i)*1000,
		EndTimeUnixNano:        1_700_000_000_000_000_000 + uint64(i)*1000 + 500,
		Attributes:             append(allKinds(), i64("idx", int64(i)), str("long", strings.Repeat("v", 200+i))),
		DroppedAttributesCount: 2,
		Events: []*tracepb.Span_Event{
			{TimeUnixNano: 1_700_000_000_000_000_100, Name: "ev", Attributes: []*commonpb.KeyValue{str("e", "1")}, DroppedAttributesCount: 1},
			{TimeUnixNano: 1_700_000_000_000_000_200, Name: "ev2"},
		},
		DroppedEventsCount: 3,
		Links: []*tracepb.Span_Link{
			{TraceId: tid(99), SpanId: sid(99), TraceState: "l=1", Attributes: []*commonpb.KeyValue{i64("l", 5)}, Flags: 1},
			{TraceId: []byte{1, 2}, SpanId: sid(98)},
		},
		DroppedLinksCount: 4,
		Status:            &tracepb.Status{Code: tracepb.Status_StatusCode(i % 3), Message: "msg"},
	}
}

// testRequest builds a request of several resources and scopes with n spans
// in all.
func testRequest(n int) *coltracepb.ExportTraceServiceRequest {
	req := &coltracepb.ExportTraceServiceRequest{}
	for r := 0; r < 2; r++ {
		rs := &tracepb.ResourceSpans{
			Resource:  &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("host.name", "h"), str("service.name", fmt.Sprintf("svc-%d", r))}},
			SchemaUrl: "https://opentelemetry.io/schemas/1.21.0",
		}
		if r == 1 {
			rs.Resource = nil // unknown_service
		}
		for s := 0; s < 2; s++ {
			rs.ScopeSpans = append(rs.ScopeSpans, &tracepb.ScopeSpans{
				Scope: &commonpb.InstrumentationScope{Name: fmt.Sprintf("scope-%d", s), Version: "1.0", Attributes: []*commonpb.KeyValue{str("sa", "x")}},
			})
		}
		req.ResourceSpans = append(req.ResourceSpans, rs)
	}
	for i := 0; i < n; i++ {
		ss := req.ResourceSpans[i%2].ScopeSpans[(i/2)%2]
		ss.Spans = append(ss.Spans, testSpan(i))
	}
	return req
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Reference conversion from the generated types, written independently of
// the wire decoder.

func refValue(v *commonpb.AnyValue) (storage.ValueType, string) {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return storage.TypeString, x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return storage.TypeBool, strconv.FormatBool(x.BoolValue)
	case *commonpb.AnyValue_IntValue:
		return storage.TypeInt, strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_DoubleValue:
		return storage.TypeDouble, strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *commonpb.AnyValue_BytesValue:
		return storage.TypeBytes, string(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		b, _ := json.Marshal(refJSON(v))
		return storage.TypeArray, string(b)
	case *commonpb.AnyValue_KvlistValue:
		b, _ := json.Marshal(refJSON(v))
		return storage.TypeMap, string(b)
	}
	return storage.TypeString, ""
}

func refJSON(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return json.Number(strconv.FormatInt(x.IntValue, 10))
	case *commonpb.AnyValue_DoubleValue:
		f := x.DoubleValue
		switch {
		case math.IsNaN(f):
			return "NaN"
		case math.IsInf(f, 1):
			return "Infinity"
		case math.IsInf(f, -1):
			return "-Infinity"
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
	case *commonpb.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		l := []any{}
		for _, e := range x.ArrayValue.GetValues() {
			l = append(l, refJSON(e))
		}
		return l
	case *commonpb.AnyValue_KvlistValue:
		m := map[string]any{}
		for _, e := range x.KvlistValue.GetValues() {
			m[e.Key] = refJSON(e.GetValue())
		}
		return m
	}
	return nil
}

func refAttrs(kvs []*commonpb.KeyValue) []storage.Attribute {
	var out []storage.Attribute
	for _, a := range kvs {
		t, v := refValue(a.GetValue())
		out = append(out, storage.Attribute{Key: a.Key, Type: t, Value: v})
	}
	return out
}

func fixedID(dst []byte, src []byte) {
	if len(src) == len(dst) {
		copy(dst, src)
	}
}

func refSpans(req *coltracepb.ExportTraceServiceRequest) []storage.Span {
	var out []storage.Span
	for _, rs := range req.ResourceSpans {
		res := refAttrs(rs.GetResource().GetAttributes())
		svc := unknownService
		for _, a := range res {
			if a.Key == "service.name" && a.Value != "" {
				svc = a.Value
				break
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				s := storage.Span{
					TraceState: sp.TraceState, Flags: sp.Flags, Name: sp.Name, Kind: storage.SpanKind(sp.Kind),
					StartTime: int64(sp.StartTimeUnixNano), EndTime: int64(sp.EndTimeUnixNano),
					StatusCode: storage.StatusCode(sp.GetStatus().GetCode()), StatusMessage: sp.GetStatus().GetMessage(),
					Service: svc, Resource: res, ScopeName: ss.GetScope().GetName(), ScopeVersion: ss.GetScope().GetVersion(),
					Attributes:        refAttrs(sp.Attributes),
					DroppedAttributes: sp.DroppedAttributesCount, DroppedEvents: sp.DroppedEventsCount, DroppedLinks: sp.DroppedLinksCount,
				}
				fixedID(s.TraceID[:], sp.TraceId)
				fixedID(s.SpanID[:], sp.SpanId)
				fixedID(s.ParentSpanID[:], sp.ParentSpanId)
				for _, e := range sp.Events {
					s.Events = append(s.Events, storage.Event{Time: int64(e.TimeUnixNano), Name: e.Name, Attributes: refAttrs(e.Attributes)})
				}
				for _, l := range sp.Links {
					ln := storage.Link{TraceState: l.TraceState, Attributes: refAttrs(l.Attributes)}
					fixedID(ln.TraceID[:], l.TraceId)
					fixedID(ln.SpanID[:], l.SpanId)
					s.Links = append(s.Links, ln)
				}
				out = append(out, s)
			}
		}
	}
	return out
}

// normJSON rewrites array and map values into encoding/json's form (sorted
// keys) so that decoded and reference values compare.
func normJSON(t testing.TB, spans []storage.Span) []storage.Span {
	t.Helper()
	norm := func(as []storage.Attribute) []storage.Attribute {
		if as == nil {
			return nil
		}
		out := append([]storage.Attribute(nil), as...)
		for i, a := range out {
			if a.Type != storage.TypeArray && a.Type != storage.TypeMap {
				continue
			}
			var v any
			if err := json.Unmarshal([]byte(a.Value), &v); err != nil {
				t.Fatalf("attribute %q: invalid JSON %q: %v", a.Key, a.Value, err)
			}
			b, _ := json.Marshal(v)
			out[i].Value = string(b)
		}
		return out
	}
	out := make([]storage.Span, len(spans))
	for i := range spans {
		s := spans[i].Copy()
		s.Resource = norm(s.Resource)
		s.Attributes = norm(s.Attributes)
		for j := range s.Events {
			s.Events[j].Attributes = norm(s.Events[j].Attributes)
		}
		for j := range s.Links {
			s.Links[j].Attributes = norm(s.Links[j].Attributes)
		}
		out[i] = s
	}
	return out
}

func compareSpans(t *testing.T, got, want []storage.Span) {
	t.Helper()
	got, want = normJSON(t, got), normJSON(t, want)
	if len(got) != len(want) {
		t.Fatalf("got %d spans, want %d", len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("span %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}
