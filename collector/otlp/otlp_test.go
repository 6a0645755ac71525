package otlp

import (
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/storage"
)

func TestScanValidKeepsBody(t *testing.T) {
	for _, n := range []int{0, 1, 7, 64} {
		req := marshal(t, testRequest(n))
		res, err := Scan(req, DefaultLimits())
		if err != nil {
			t.Fatalf("%d spans: Scan: %v", n, err)
		}
		if res.Accepted != n || res.Rejected != 0 || res.Reason != "" {
			t.Fatalf("%d spans: got %+v", n, res)
		}
		if len(res.Body) != len(req) || (n > 0 && &res.Body[0] != &req[0]) {
			t.Fatalf("%d spans: Body is not the request itself", n)
		}
	}
}

func TestDecodeMatchesProto(t *testing.T) {
	req := testRequest(23)
	body := marshal(t, req)
	if _, err := Scan(body, DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	prefix := []storage.Span{{Name: "already there"}}
	got, st, err := Decode(prefix, body, DefaultLimits())
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got[0].Name != "already there" || st.Spans != 23 || st.DroppedAttributes != 0 || st.TruncatedValues != 0 {
		t.Fatalf("stats %+v, first %q", st, got[0].Name)
	}
	// Cross-check against proto.Unmarshal of the same bytes.
	var back coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &back); err != nil {
		t.Fatal(err)
	}
	compareSpans(t, got[1:], refSpans(&back))
	if got[1].Service != "svc-0" || got[len(got)-1].Service != unknownService {
		t.Fatalf("services %q %q", got[1].Service, got[len(got)-1].Service)
	}
	// The body is the caller's: changing it changes no decoded string.
	name := got[1].Name
	for i := range body {
		body[i] = 0
	}
	if got[1].Name != name {
		t.Fatal("decoded strings alias the request body")
	}
	// Appending to one span's slices never touches the next span's.
	a0 := got[1].Attributes
	next := got[2].Attributes[0]
	_ = append(a0, storage.Attribute{Key: "x"})
	if got[2].Attributes[0] != next {
		t.Fatal("appending to a span's attributes overwrote another span's")
	}
}

// TestDecodeFieldOrder encodes fields in an order the generated code never
// uses: resource after scope spans, scope after spans, a repeated value.
func TestDecodeFieldOrder(t *testing.T) {
	span := marshal(t, testSpan(1))
	scope := marshal(t, &commonpb.InstrumentationScope{Name: "late-scope", Version: "9"})
	res := marshal(t, &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "late")}})
	var ss, rs, req []byte
	ss = protowire.AppendTag(ss, ssSpans, protowire.BytesType)
	ss = protowire.AppendBytes(ss, span)
	ss = protowire.AppendTag(ss, ssScope, protowire.BytesType)
	ss = protowire.AppendBytes(ss, scope)
	rs = protowire.AppendTag(rs, rsScopeSpans, protowire.BytesType)
	rs = protowire.AppendBytes(rs, ss)
	rs = protowire.AppendTag(rs, rsResource, protowire.BytesType)
	rs = protowire.AppendBytes(rs, res)
	rs = protowire.AppendTag(rs, 99, protowire.VarintType) // unknown field
	rs = protowire.AppendVarint(rs, 5)
	req = protowire.AppendTag(req, reqResourceSpans, protowire.BytesType)
	req = protowire.AppendBytes(req, rs)

	sr, err := Scan(req, DefaultLimits())
	if err != nil || sr.Accepted != 1 {
		t.Fatalf("Scan = %+v, %v", sr, err)
	}
	got, _, err := Decode(nil, req, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	var back coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(req, &back); err != nil {
		t.Fatal(err)
	}
	compareSpans(t, got, refSpans(&back))
	if got[0].Service != "late" || got[0].ScopeName != "late-scope" {
		t.Fatalf("service %q scope %q", got[0].Service, got[0].ScopeName)
	}
}

func TestScanRejectsInvalidSpans(t *testing.T) {
	deep := sv("bottom")
	for i := 1; i < storage.MaxValueDepth+1; i++ { // one level too many
		deep = &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{deep}}}}
	}
	tests := []struct {
		name   string
		mutate func(*tracepb.Span)
		reason string
		label  string
	}{
		{"short trace id", func(s *tracepb.Span) { s.TraceId = s.TraceId[:15] }, "invalid trace id", "invalid_trace_id"},
		{"zero trace id", func(s *tracepb.Span) { s.TraceId = make([]byte, 16) }, "invalid trace id", "invalid_trace_id"},
		{"no trace id", func(s *tracepb.Span) { s.TraceId = nil }, "invalid trace id", "invalid_trace_id"},
		{"long span id", func(s *tracepb.Span) { s.SpanId = make([]byte, 9) }, "invalid span id", "invalid_span_id"},
		{"zero span id", func(s *tracepb.Span) { s.SpanId = make([]byte, 8) }, "invalid span id", "invalid_span_id"},
		{"bad parent", func(s *tracepb.Span) { s.ParentSpanId = []byte{1, 2, 3} }, "invalid parent span id", "invalid_parent_span_id"},
		{"no start", func(s *tracepb.Span) { s.StartTimeUnixNano, s.EndTimeUnixNano = 0, 5 }, "without start time", "no_start_time"},
		{"start at 2^63", func(s *tracepb.Span) { s.StartTimeUnixNano, s.EndTimeUnixNano = 1<<63, 1<<63+5 }, "2^63", "time_out_of_range"},
		{"end at 2^63", func(s *tracepb.Span) { s.EndTimeUnixNano = 1 << 63 }, "2^63", "time_out_of_range"},
		{"end at 2^64-1", func(s *tracepb.Span) { s.EndTimeUnixNano = math.MaxUint64 }, "2^63", "time_out_of_range"},
		{"event at 2^63", func(s *tracepb.Span) { s.Events[1].TimeUnixNano = 1 << 63 }, "2^63", "time_out_of_range"},
		{"ends before start", func(s *tracepb.Span) { s.EndTimeUnixNano = s.StartTimeUnixNano - 1 }, "ends before it starts", "end_before_start"},
		{"no name", func(s *tracepb.Span) { s.Name = "" }, "without name", "empty_name"},
		{"long name", func(s *tracepb.Span) { s.Name = strings.Repeat("n", 1025) }, "name too long", "name_too_long"},
		{"kind 6", func(s *tracepb.Span) { s.Kind = 6 }, "unknown span kind", "invalid_kind"},
		{"kind -1", func(s *tracepb.Span) { s.Kind = -1 }, "unknown span kind", "invalid_kind"},
		{"status 3", func(s *tracepb.Span) { s.Status.Code = 3 }, "unknown status code", "invalid_status"},
		{"status -2", func(s *tracepb.Span) { s.Status.Code = -2 }, "unknown status code", "invalid_status"},
		{"deep attribute", func(s *tracepb.Span) { s.Attributes = append(s.Attributes, kv("deep", deep)) }, "nested too deeply", "nesting_too_deep"},
		{"deep event attribute", func(s *tracepb.Span) { s.Events[0].Attributes = append(s.Events[0].Attributes, kv("deep", deep)) }, "nested too deeply", "nesting_too_deep"},
		{"deep link attribute", func(s *tracepb.Span) { s.Links[0].Attributes = append(s.Links[0].Attributes, kv("deep", deep)) }, "nested too deeply", "nesting_too_deep"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := testRequest(12)
			bad := req.ResourceSpans[1].ScopeSpans[0].Spans[1] // span 5
			tc.mutate(bad)
			body := marshal(t, req)
			res, err := Scan(body, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if res.Accepted != 11 || res.Rejected != 1 || !strings.HasPrefix(res.Reason, "1 span") || !strings.Contains(res.Reason, tc.reason) {
				t.Fatalf("got %+v, want reason %q", res, tc.reason)
			}
			for r, n := range res.Rejections {
				if want := b2i(RejectReason(r).String() == tc.label); n != want {
					t.Fatalf("Rejections[%v] = %d, want %d (%+v)", RejectReason(r), n, want, res.Rejections)
				}
			}
			var got coltracepb.ExportTraceServiceRequest
			if err := proto.Unmarshal(res.Body, &got); err != nil {
				t.Fatalf("re-encoded body: %v", err)
			}
			want := proto.Clone(req).(*coltracepb.ExportTraceServiceRequest)
			ss := want.ResourceSpans[1].ScopeSpans[0]
			ss.Spans = append(ss.Spans[:1], ss.Spans[2:]...)
			if !proto.Equal(&got, want) {
				t.Fatalf("re-encoded body differs from the request without the bad span")
			}
			again, err := Scan(res.Body, DefaultLimits())
			if err != nil || again.Rejected != 0 || again.Accepted != 11 {
				t.Fatalf("Scan of the re-encoded body: %+v, %v", again, err)
			}
			spans, _, err := Decode(nil, res.Body, DefaultLimits())
			if err != nil || len(spans) != 11 {
				t.Fatalf("Decode: %d spans, %v", len(spans), err)
			}
			// Decoding the unscanned body is an error, not a panic; the
			// name length is Scan's alone (so that a replay under new limits
			// decodes); and the span alone is skipped for the checks that
			// older collectors did not make (so that their WAL decodes).
			all, st, err := Decode(nil, body, DefaultLimits())
			switch tc.label {
			case "name_too_long":
				if err != nil || len(all) != 12 {
					t.Fatalf("Decode with a long name: %d spans, %v", len(all), err)
				}
			case "time_out_of_range", "invalid_kind", "invalid_status":
				if err != nil || st.Skipped != 1 || st.Spans != 11 {
					t.Fatalf("Decode: %d spans, %+v, %v; want the invalid one skipped", len(all), st, err)
				}
				compareSpans(t, all, spans)
			default:
				if err == nil {
					t.Fatal("Decode accepted an invalid span")
				}
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestScanMixedReasons(t *testing.T) {
	req := testRequest(10)
	spans := req.ResourceSpans[0].ScopeSpans[0].Spans // spans 0, 4, 8
	spans[0].TraceId = nil
	spans[1].TraceId = make([]byte, 16)
	spans[2].EndTimeUnixNano = 1
	// A scope left with no span keeps its scope; a resource keeps its resource.
	res, err := Scan(marshal(t, req), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 7 || res.Rejected != 3 {
		t.Fatalf("got %+v", res)
	}
	if want := "2 spans with invalid trace id; 1 span ends before it starts"; res.Reason != want {
		t.Fatalf("Reason = %q, want %q", res.Reason, want)
	}
	var got coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(res.Body, &got); err != nil {
		t.Fatal(err)
	}
	if n := len(got.ResourceSpans[0].ScopeSpans[0].Spans); n != 0 {
		t.Fatalf("%d spans left in the emptied scope", n)
	}
	if got.ResourceSpans[0].ScopeSpans[0].Scope.GetName() != "scope-0" || got.ResourceSpans[0].Resource == nil {
		t.Fatal("scope or resource lost")
	}
}

func TestScanMalformed(t *testing.T) {
	good := marshal(t, testRequest(4))
	tag := func(num protowire.Number, typ protowire.Type) []byte { return protowire.AppendTag(nil, num, typ) }
	nest := func(num protowire.Number, inner []byte) []byte {
		return protowire.AppendBytes(tag(num, protowire.BytesType), inner)
	}
	span := func(fields []byte) []byte {
		return nest(reqResourceSpans, nest(rsScopeSpans, nest(ssSpans, fields)))
	}
	tests := []struct {
		name string
		req  []byte
		lim  Limits
	}{
		{"truncated", good[:len(good)-3], DefaultLimits()},
		{"bad varint", []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, DefaultLimits()},
		{"field zero", []byte{0x00, 0x01}, DefaultLimits()},
		{"resource spans as varint", protowire.AppendVarint(tag(reqResourceSpans, protowire.VarintType), 1), DefaultLimits()},
		{"start time as varint", span(protowire.AppendVarint(tag(spStart, protowire.VarintType), 1)), DefaultLimits()},
		{"garbage attribute", span(nest(spAttributes, nest(kvValue, []byte{0xff}))), DefaultLimits()},
		{"garbage event", span(nest(spEvents, []byte{0x0a, 0x05, 0x01})), DefaultLimits()},
		{"stray end group", []byte{0x0c}, DefaultLimits()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Scan(tc.req, tc.lim)
			if err == nil {
				t.Fatalf("Scan accepted: %+v", res)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if _, _, err := Decode(nil, tc.req, tc.lim); err == nil {
				t.Fatal("Decode accepted it")
			}
		})
	}
}

// TestScanTooManySpans: more spans than MaxSpans is "too large", told apart
// from malformed input, so that receivers answer 413 / ResourceExhausted.
func TestScanTooManySpans(t *testing.T) {
	good := marshal(t, testRequest(4))
	res, err := Scan(good, Limits{MaxSpans: 3})
	if !errors.Is(err, ErrTooManySpans) || errors.Is(err, ErrMalformed) {
		t.Fatalf("Scan with MaxSpans 3 of 4 = %+v, %v; want ErrTooManySpans only", res, err)
	}
	if res, err := Scan(good, Limits{MaxSpans: 4}); err != nil || res.Accepted != 4 {
		t.Fatalf("MaxSpans 4 with 4 spans: %+v, %v", res, err)
	}
	if _, _, err := Decode(nil, good, Limits{MaxSpans: 3}); err != nil {
		t.Fatalf("Decode applies MaxSpans: %v", err)
	}
}

func TestDecodeLimits(t *testing.T) {
	long := strings.Repeat("é", 10) // 20 bytes
	sp := testSpan(0)
	sp.Attributes = []*commonpb.KeyValue{str("a", long), str("b", "short"), str("c", "x"), str("d", "y"), str("e", "z")}
	sp.DroppedAttributesCount = 1
	sp.Events[0].Attributes = []*commonpb.KeyValue{str("ev", long)}
	arr := &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{sv(long)}}}}
	sp.Attributes[1] = kv("b", arr)
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", long)}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{sp}}},
	}}}
	lim := Limits{MaxAttributes: 3, MaxAttributeValueLen: 7}
	got, st, err := Decode(nil, marshal(t, req), lim)
	if err != nil {
		t.Fatal(err)
	}
	s := got[0]
	if len(s.Attributes) != 3 || s.DroppedAttributes != 3 || st.DroppedAttributes != 2 {
		t.Fatalf("attributes %d, span dropped %d, stats %+v", len(s.Attributes), s.DroppedAttributes, st)
	}
	// 7 bytes cut back to the 6-byte boundary of three "é".
	if v := s.Attributes[0].Value; v != "ééé" || !utf8.ValidString(v) {
		t.Fatalf("truncated value %q", v)
	}
	if v := s.Attributes[1].Value; v != `["ééé"]` {
		t.Fatalf("nested truncated value %q", v)
	}
	if v := s.Events[0].Attributes[0].Value; v != "ééé" {
		t.Fatalf("event value %q", v)
	}
	if s.Service != "ééé" {
		t.Fatalf("resource value not truncated: %q", s.Service)
	}
	if st.TruncatedValues != 4 {
		t.Fatalf("TruncatedValues = %d, want 4", st.TruncatedValues)
	}
}

func TestDecodeJSONValues(t *testing.T) {
	sp := testSpan(0)
	sp.Attributes = allKinds()
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{sp}}}}}}
	got, _, err := Decode(nil, marshal(t, req), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]storage.Attribute{
		"s":     {Key: "s", Type: storage.TypeString, Value: "héllo"},
		"b":     {Key: "b", Type: storage.TypeBool, Value: "false"},
		"i":     {Key: "i", Type: storage.TypeInt, Value: "-9223372036854775808"},
		"d":     {Key: "d", Type: storage.TypeDouble, Value: "1e+21"},
		"inf":   {Key: "inf", Type: storage.TypeDouble, Value: "-Inf"},
		"raw":   {Key: "raw", Type: storage.TypeBytes, Value: "\x00\xffbin"},
		"arr":   {Key: "arr", Type: storage.TypeArray, Value: `["a\"b\\c\n",-7,1.5,true,"AAH/",null]`},
		"map":   {Key: "map", Type: storage.TypeMap, Value: `{"z":"last","inner":["a\"b\\c\n",-7,1.5,true,"AAH/",null],"n":1099511627776,"nan":"NaN"}`},
		"empty": {Key: "empty", Type: storage.TypeString, Value: ""},
	}
	for _, a := range got[0].Attributes {
		if w := want[a.Key]; a != w {
			t.Errorf("attribute %q = %+v, want %+v", a.Key, a, w)
		}
	}
}

func TestResponseBytes(t *testing.T) {
	if b := ResponseBytes(0, ""); b == nil || len(b) != 0 {
		t.Fatalf("empty response = %v", b)
	}
	for _, tc := range []struct {
		rejected int
		msg      string
	}{{3, "3 spans with invalid trace id"}, {0, "warning"}, {1, ""}} {
		var resp coltracepb.ExportTraceServiceResponse
		if err := proto.Unmarshal(ResponseBytes(tc.rejected, tc.msg), &resp); err != nil {
			t.Fatal(err)
		}
		ps := resp.GetPartialSuccess()
		if ps == nil || ps.RejectedSpans != int64(tc.rejected) || ps.ErrorMessage != tc.msg {
			t.Fatalf("%+v: got %v", tc, ps)
		}
	}
}

// TestDecodeMergesRepeatedFields writes fields twice, which protobuf merges
// (last scalar wins, messages merge), and checks Decode agrees with
// proto.Unmarshal.
func TestDecodeMergesRepeatedFields(t *testing.T) {
	bytesField := func(b []byte, num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
	}
	anyMsg := func(m *commonpb.AnyValue) []byte { return marshal(t, m) }
	arr := func(vals ...string) []byte {
		a := &commonpb.ArrayValue{}
		for _, v := range vals {
			a.Values = append(a.Values, sv(v))
		}
		return marshal(t, a)
	}
	var kvs [][]byte
	// value written twice: a string, then an int: the int wins.
	kv1 := bytesField(nil, kvKey, []byte("twice"))
	kv1 = bytesField(kv1, kvValue, anyMsg(sv("first")))
	kv1 = bytesField(kv1, kvValue, anyMsg(&commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 42}}))
	kvs = append(kvs, kv1)
	// array_value twice in one AnyValue: the arrays merge.
	av := bytesField(nil, avArray, arr("a", "b"))
	av = bytesField(av, avArray, arr("c"))
	kvs = append(kvs, bytesField(bytesField(nil, kvKey, []byte("merged")), kvValue, av))
	// array, then a string, then an array: only the last array remains.
	av2 := bytesField(nil, avArray, arr("gone"))
	av2 = bytesField(av2, avString, []byte("also gone"))
	av2 = bytesField(av2, avArray, arr("kept"))
	kvs = append(kvs, bytesField(bytesField(nil, kvKey, []byte("reset")), kvValue, av2))
	// key written twice: the last wins.
	kv4 := bytesField(nil, kvKey, []byte("old"))
	kv4 = bytesField(kv4, kvKey, []byte("new"))
	kvs = append(kvs, bytesField(kv4, kvValue, anyMsg(sv("v"))))

	span := marshal(t, testSpan(0))
	span = protowire.AppendTag(span, spStart, protowire.Fixed64Type) // start again: wins
	span = protowire.AppendFixed64(span, 1_700_000_000_000_000_001)
	for _, k := range kvs {
		span = bytesField(span, spAttributes, k)
	}
	span = bytesField(span, spStatus, marshal(t, &tracepb.Status{Message: "second status merges"}))
	req := bytesField(nil, reqResourceSpans, bytesField(nil, rsScopeSpans, bytesField(nil, ssSpans, span)))

	if res, err := Scan(req, DefaultLimits()); err != nil || res.Accepted != 1 {
		t.Fatalf("Scan = %+v, %v", res, err)
	}
	got, _, err := Decode(nil, req, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var back coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(req, &back); err != nil {
		t.Fatal(err)
	}
	compareSpans(t, got, refSpans(&back))
	if a, _ := got[0].Attribute("merged"); a.Value != `["a","b","c"]` {
		t.Fatalf("merged array = %q", a.Value)
	}
	if got[0].StatusMessage != "second status merges" || got[0].StatusCode != storage.StatusUnset {
		t.Fatalf("status %d %q", got[0].StatusCode, got[0].StatusMessage)
	}
}

// nested returns a value of levels levels: arrays around one string.
func nested(levels int) *commonpb.AnyValue {
	v := sv("bottom")
	for i := 1; i < levels; i++ {
		v = &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{v}}}}
	}
	return v
}

// TestScanDepth: storage.MaxValueDepth levels are stored; one more rejects
// only the span (or the resource or scope with its spans), never the
// request.
func TestScanDepth(t *testing.T) {
	t.Run("at the limit", func(t *testing.T) {
		req := testRequest(4)
		req.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes = []*commonpb.KeyValue{kv("deep", nested(storage.MaxValueDepth))}
		res, err := Scan(marshal(t, req), DefaultLimits())
		if err != nil || res.Rejected != 0 {
			t.Fatalf("Scan = %+v, %v", res, err)
		}
		spans, _, err := Decode(nil, res.Body, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Repeat("[", storage.MaxValueDepth-1) + `"bottom"` + strings.Repeat("]", storage.MaxValueDepth-1)
		if got := spans[0].Attributes[0].Value; got != want {
			t.Fatalf("value %s", got)
		}
	})
	tests := []struct {
		name     string
		mutate   func(*coltracepb.ExportTraceServiceRequest)
		rejected int
		// the request without the rejected spans (and their resource or
		// scope)
		want func(*coltracepb.ExportTraceServiceRequest)
	}{
		{"resource", func(r *coltracepb.ExportTraceServiceRequest) {
			r.ResourceSpans[0].Resource.Attributes = append(r.ResourceSpans[0].Resource.Attributes, kv("deep", nested(storage.MaxValueDepth+1)))
		}, 4, func(r *coltracepb.ExportTraceServiceRequest) { r.ResourceSpans = r.ResourceSpans[1:] }},
		{"scope", func(r *coltracepb.ExportTraceServiceRequest) {
			sc := r.ResourceSpans[1].ScopeSpans[1].Scope
			sc.Attributes = append(sc.Attributes, kv("deep", nested(storage.MaxValueDepth+1)))
		}, 2, func(r *coltracepb.ExportTraceServiceRequest) {
			r.ResourceSpans[1].ScopeSpans = r.ResourceSpans[1].ScopeSpans[:1]
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := testRequest(8)
			req.ResourceSpans[0].ScopeSpans[0].Spans[0].TraceId = nil // another reason in the same resource
			tc.mutate(req)
			res, err := Scan(marshal(t, req), DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			deepWant := tc.rejected
			if tc.name == "resource" {
				deepWant-- // the span with no trace id keeps its own reason
			}
			if res.Rejections[RejectNestingTooDeep] != deepWant || res.Rejected != tc.rejected+b2i(tc.name != "resource") {
				t.Fatalf("got %+v", res)
			}
			var got coltracepb.ExportTraceServiceRequest
			if err := proto.Unmarshal(res.Body, &got); err != nil {
				t.Fatal(err)
			}
			want := proto.Clone(req).(*coltracepb.ExportTraceServiceRequest)
			ss := want.ResourceSpans[0].ScopeSpans[0]
			ss.Spans = ss.Spans[1:]
			tc.want(want)
			if !proto.Equal(&got, want) {
				t.Fatalf("body\n%v\nwant\n%v", &got, want)
			}
			if _, _, err := Decode(nil, res.Body, DefaultLimits()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestScanDeepResourceLast: a resource that comes after its spans on the
// wire still rejects them.
func TestScanDeepResourceLast(t *testing.T) {
	req := testRequest(4)
	req.ResourceSpans[0].Resource.Attributes = []*commonpb.KeyValue{kv("deep", nested(storage.MaxValueDepth+1))}
	rs := req.ResourceSpans[0]
	res := marshal(t, rs.Resource)
	rs.Resource = nil
	body := marshal(t, rs)
	body = protowire.AppendBytes(protowire.AppendTag(body, rsResource, protowire.BytesType), res)
	wire := protowire.AppendBytes(protowire.AppendTag(nil, reqResourceSpans, protowire.BytesType), body)
	wire = append(wire, marshal(t, &coltracepb.ExportTraceServiceRequest{ResourceSpans: req.ResourceSpans[1:]})...)
	got, err := Scan(wire, DefaultLimits())
	if err != nil || got.Rejected != 2 || got.Rejections[RejectNestingTooDeep] != 2 {
		t.Fatalf("Scan = %+v, %v", got, err)
	}
	spans, _, err := Decode(nil, got.Body, DefaultLimits())
	if err != nil || len(spans) != 2 {
		t.Fatalf("Decode = %d spans, %v", len(spans), err)
	}
}

func TestRejectReasonString(t *testing.T) {
	want := []string{"invalid_trace_id", "invalid_span_id", "invalid_parent_span_id", "no_start_time", "time_out_of_range",
		"end_before_start", "empty_name", "name_too_long", "invalid_kind", "invalid_status", "nesting_too_deep"}
	if len(want) != int(NumRejectReasons) {
		t.Fatalf("%d reasons, want %d", NumRejectReasons, len(want))
	}
	for i, w := range want {
		if got := RejectReason(i).String(); got != w {
			t.Errorf("RejectReason(%d) = %q, want %q", i, got, w)
		}
	}
	if got := NumRejectReasons.String(); got != "RejectReason(11)" {
		t.Errorf("out of range: %q", got)
	}
}
