package query

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tracerdev/tracer/collector/otlp"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

func attr(k string, t storage.ValueType, v string) storage.Attribute {
	return storage.Attribute{Key: k, Type: t, Value: v}
}

// testTraceID and testSpanID make distinct non-zero ids.
func testTraceID(n byte) storage.TraceID {
	return storage.TraceID{0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, n}
}

func testSpanID(n int) storage.SpanID {
	var id storage.SpanID
	id[0] = 0xcd
	id[4], id[5], id[6], id[7] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return id
}

// richSpans returns spans that use every field and value type storage has,
// over three resources (two of them equal in content but not the same
// slice, as a reader may return them) and three scopes, with vector clocks.
func richSpans() []storage.Span {
	resA := []storage.Attribute{
		attr("service.name", storage.TypeString, "frontend"),
		attr("host.name", storage.TypeString, "web-1"),
		attr("process.pid", storage.TypeInt, "4242"),
		attr("k8s.labels", storage.TypeMap, `{"app":"web","tier":1}`),
	}
	resA2 := slices.Clone(resA)
	resB := []storage.Attribute{attr("service.name", storage.TypeString, "backend")}
	tid := testTraceID(1)
	clock := func(node string, tick int, deps string) []storage.Attribute {
		a := []storage.Attribute{
			attr(vclock.AttrNode, storage.TypeString, node),
			attr(vclock.AttrTick, storage.TypeInt, strconv.Itoa(tick)),
		}
		if deps != "" {
			a = append(a, attr(vclock.AttrDeps, storage.TypeString, deps))
		}
		return a
	}
	root := storage.Span{
		TraceID: tid, SpanID: testSpanID(1), TraceState: "vendor=a,other=b", Flags: 0x301,
		Name: "GET /checkout", Kind: storage.KindServer,
		StartTime: 1_700_000_000_123_456_789, EndTime: 1_700_000_001_000_000_001,
		StatusCode: storage.StatusError, StatusMessage: "boom \"quoted\" \\ é\n",
		Service: "frontend", Resource: resA, ScopeName: "net/http", ScopeVersion: "1.2.3",
		Attributes: append(clock("web-1", 3, ""),
			attr("str", storage.TypeString, "héllo \u2028 \x01 \"x\""),
			attr("empty", storage.TypeString, ""),
			attr("yes", storage.TypeBool, "true"),
			attr("no", storage.TypeBool, "false"),
			attr("int.neg", storage.TypeInt, "-42"),
			attr("int.max", storage.TypeInt, strconv.FormatInt(math.MaxInt64, 10)),
			attr("int.min", storage.TypeInt, strconv.FormatInt(math.MinInt64, 10)),
			attr("dbl", storage.TypeDouble, "1.5"),
			attr("dbl.whole", storage.TypeDouble, "2"),
			attr("dbl.negzero", storage.TypeDouble, "-0"),
			attr("dbl.big", storage.TypeDouble, "1e+300"),
			attr("dbl.tiny", storage.TypeDouble, "5e-324"),
			attr("dbl.nan", storage.TypeDouble, "NaN"),
			attr("dbl.inf", storage.TypeDouble, "+Inf"),
			attr("dbl.ninf", storage.TypeDouble, "-Inf"),
			attr("bytes", storage.TypeBytes, "\x00\x01\xfe\xff binary"),
			attr("bytes.empty", storage.TypeBytes, ""),
			attr("arr", storage.TypeArray, `[1,-2,"x",true,false,null,2.5,-0,1e+21,9.223372036854776e+18,[],{},["n",[3]],"Ww=="]`),
			attr("arr.empty", storage.TypeArray, `[]`),
			attr("map", storage.TypeMap, `{"a":{"b":[1,2]},"z":"y","":"empty key","esc\"k":"é\n","n":null,"d":0.25}`),
			attr("map.empty", storage.TypeMap, `{}`),
			attr("", storage.TypeString, "empty key"),
		),
		Events: []storage.Event{
			{Time: 1_700_000_000_500_000_000, Name: "exception", Attributes: []storage.Attribute{
				attr("exception.type", storage.TypeString, "io.EOF"),
				attr("exception.count", storage.TypeInt, "3"),
			}},
			{Time: 1_700_000_000_600_000_000, Name: "bare"},
		},
		Links: []storage.Link{
			{TraceID: testTraceID(9), SpanID: testSpanID(99), TraceState: "k=v",
				Attributes: []storage.Attribute{attr("link.kind", storage.TypeString, "follows")}},
			{TraceID: testTraceID(8), SpanID: testSpanID(98)},
		},
		DroppedAttributes: 7, DroppedEvents: 8, DroppedLinks: 9,
	}
	out := []storage.Span{root}
	kinds := []storage.SpanKind{storage.KindUnspecified, storage.KindInternal, storage.KindClient, storage.KindProducer, storage.KindConsumer}
	for i, k := range kinds {
		sp := storage.Span{
			TraceID: tid, SpanID: testSpanID(10 + i), ParentSpanID: root.SpanID,
			Name: "child " + k.String(), Kind: k,
			StartTime: root.StartTime + int64(i+1)*1000, EndTime: root.StartTime + int64(i+1)*2000,
			StatusCode: storage.StatusCode(i % 3), Service: "frontend", Resource: resA,
			ScopeName: "net/http", ScopeVersion: "1.2.3",
			Attributes: clock("web-1", 4+i, "api-2:7,db-3:1"),
		}
		switch i {
		case 1:
			sp.ScopeName, sp.ScopeVersion = "database/sql", ""
		case 2:
			sp.Resource = resA2 // equal content, another slice
		case 3:
			sp.Service, sp.Resource, sp.ScopeName, sp.ScopeVersion = "backend", resB, "", ""
			sp.Attributes = append(clock("api-2", 8, "!web-1:5"), attr(vclock.AttrEndTick, storage.TypeInt, "12"),
				attr(vclock.AttrEndDeps, storage.TypeString, "web-1:9"))
		}
		out = append(out, sp)
	}
	return out
}

// encodeTraces returns the TracesData JSON of spans, written as the v3 route
// writes it: in batches of batch spans, one run of ResourceSpans each.
func encodeTraces(spans []storage.Span, batch int) []byte {
	var o otlpWriter
	js := []byte(`{"resourceSpans":[`)
	for i := 0; i < len(spans); i += batch {
		if i > 0 {
			js = append(js, ',')
		}
		js = o.appendResourceSpans(js, spans[i:min(i+batch, len(spans))])
	}
	return append(js, "]}"...)
}

// decodeWithCollector reads TracesData JSON back with the collector's own
// OTLP/JSON path: FromJSON, Scan, Decode.
func decodeWithCollector(t *testing.T, js []byte) []storage.Span {
	t.Helper()
	pb, err := otlp.FromJSON(js)
	if err != nil {
		t.Fatalf("otlp.FromJSON: %v\n%s", err, js)
	}
	res, err := otlp.Scan(pb, otlp.Limits{})
	if err != nil {
		t.Fatalf("otlp.Scan: %v", err)
	}
	if res.Rejected != 0 {
		t.Fatalf("otlp.Scan rejected %d spans: %s", res.Rejected, res.Reason)
	}
	spans, _, err := otlp.Decode(nil, res.Body, otlp.Limits{})
	if err != nil {
		t.Fatalf("otlp.Decode: %v", err)
	}
	return spans
}

// spanDiff compares two spans field by field (nil and empty slices alike).
func spanDiff(got, want *storage.Span) []string {
	var diffs []string
	g, w := reflect.ValueOf(*got), reflect.ValueOf(*want)
	for i := range g.NumField() {
		gf, wf := g.Field(i), w.Field(i)
		if gf.Kind() == reflect.Slice && gf.Len() == 0 && wf.Len() == 0 {
			continue
		}
		if gf.Kind() == reflect.Slice && g.Type().Field(i).Name == "Events" {
			// Events and Links hold attribute slices: compare normalized.
			if fmt.Sprint(normEvents(got.Events)) == fmt.Sprint(normEvents(want.Events)) {
				continue
			}
		}
		if gf.Kind() == reflect.Slice && g.Type().Field(i).Name == "Links" {
			if fmt.Sprint(normLinks(got.Links)) == fmt.Sprint(normLinks(want.Links)) {
				continue
			}
		}
		if !reflect.DeepEqual(gf.Interface(), wf.Interface()) {
			diffs = append(diffs, fmt.Sprintf("%s: got %#v, want %#v", g.Type().Field(i).Name, gf.Interface(), wf.Interface()))
		}
	}
	return diffs
}

func normEvents(es []storage.Event) []storage.Event {
	out := slices.Clone(es)
	for i := range out {
		if len(out[i].Attributes) == 0 {
			out[i].Attributes = nil
		}
	}
	return out
}

func normLinks(ls []storage.Link) []storage.Link {
	out := slices.Clone(ls)
	for i := range out {
		if len(out[i].Attributes) == 0 {
			out[i].Attributes = nil
		}
	}
	return out
}

func bySpanID(spans []storage.Span) map[storage.SpanID]*storage.Span {
	m := make(map[storage.SpanID]*storage.Span, len(spans))
	for i := range spans {
		m[spans[i].SpanID] = &spans[i]
	}
	return m
}

// TestOTLPJSONRoundTrip encodes stored spans and decodes them back with the
// collector's own decoder: every field comes back as it was stored, vector
// clocks included, whatever the batching.
func TestOTLPJSONRoundTrip(t *testing.T) {
	want := richSpans()
	for _, batch := range []int{1, 2, len(want)} {
		t.Run(fmt.Sprintf("batch %d", batch), func(t *testing.T) {
			js := encodeTraces(want, batch)
			if !json.Valid(js) {
				t.Fatalf("invalid JSON:\n%s", js)
			}
			got := decodeWithCollector(t, js)
			if len(got) != len(want) {
				t.Fatalf("decoded %d spans, want %d", len(got), len(want))
			}
			gotByID := bySpanID(got)
			for i := range want {
				w := &want[i]
				g := gotByID[w.SpanID]
				if g == nil {
					t.Errorf("span %s missing", w.SpanID)
					continue
				}
				for _, d := range spanDiff(g, w) {
					t.Errorf("span %s: %s", w.SpanID, d)
				}
				wc, werr := w.SpanClock()
				gc, gerr := g.SpanClock()
				if werr != nil || gerr != nil {
					t.Errorf("span %s: clocks: %v, %v", w.SpanID, gerr, werr)
				} else if gc.Start.String() != wc.Start.String() || gc.End.String() != wc.End.String() {
					t.Errorf("span %s: clock %s..%s, want %s..%s", w.SpanID, gc.Start, gc.End, wc.Start, wc.End)
				}
			}
		})
	}
}

// TestOTLPJSONGrouping checks the ResourceSpans/ScopeSpans structure: spans
// of equal resources share one ResourceSpans, whether or not they share the
// stored slice, and spans of one scope one ScopeSpans.
func TestOTLPJSONGrouping(t *testing.T) {
	var td struct {
		ResourceSpans []struct {
			Resource struct {
				Attributes []struct{ Key string } `json:"attributes"`
			} `json:"resource"`
			ScopeSpans []struct {
				Scope struct {
					Name    string `json:"name"`
					Version string `json:"version"`
				} `json:"scope"`
				Spans []struct {
					Name string `json:"name"`
				} `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	}
	if err := json.Unmarshal(encodeTraces(richSpans(), 100), &td); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rs := range td.ResourceSpans {
		var keys []string
		for _, a := range rs.Resource.Attributes {
			keys = append(keys, a.Key)
		}
		for _, ss := range rs.ScopeSpans {
			var names []string
			for _, s := range ss.Spans {
				names = append(names, s.Name)
			}
			got = append(got, fmt.Sprintf("%s|%s@%s|%s", strings.Join(keys, ","), ss.Scope.Name, ss.Scope.Version, strings.Join(names, ",")))
		}
	}
	want := []string{
		"service.name,host.name,process.pid,k8s.labels|net/http@1.2.3|GET /checkout,child unspecified,child client,child consumer",
		"service.name,host.name,process.pid,k8s.labels|database/sql@|child internal",
		"service.name|@|child producer",
	}
	if !slices.Equal(got, want) {
		t.Errorf("groups:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(td.ResourceSpans) != 2 {
		t.Errorf("%d ResourceSpans, want 2", len(td.ResourceSpans))
	}
}

// TestOTLPJSONServiceName: a stored resource without service.name is
// answered with the span's service, so that clients see the service the
// services route lists.
func TestOTLPJSONServiceName(t *testing.T) {
	sp := storage.Span{TraceID: testTraceID(1), SpanID: testSpanID(1), Name: "op", StartTime: 1, EndTime: 2,
		Service: "unknown_service", Resource: []storage.Attribute{attr("host.name", storage.TypeString, "h")}}
	got := decodeWithCollector(t, encodeTraces([]storage.Span{sp}, 1))
	if len(got) != 1 || got[0].Service != "unknown_service" {
		t.Fatalf("decoded %+v", got)
	}
	want := []storage.Attribute{attr("service.name", storage.TypeString, "unknown_service"), sp.Resource[0]}
	if !slices.Equal(got[0].Resource, want) {
		t.Errorf("resource %v, want %v", got[0].Resource, want)
	}
}

// TestOTLPJSONProtojson decodes the answer with the official OTLP protobuf
// types and protojson (strictly: unknown fields are errors), after turning
// the hex ids into the base64 that proto3 JSON has for bytes (the one place
// where OTLP/JSON departs from proto3 JSON), and checks every field against
// the stored spans.
func TestOTLPJSONProtojson(t *testing.T) {
	spans := richSpans()
	js := encodeTraces(spans, 3)
	var generic any
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		t.Fatal(err)
	}
	hexToBase64(t, generic)
	pjs, err := json.Marshal(generic)
	if err != nil {
		t.Fatal(err)
	}
	var td tracepb.TracesData
	if err := (protojson.UnmarshalOptions{}).Unmarshal(pjs, &td); err != nil {
		t.Fatalf("protojson: %v", err)
	}
	want := bySpanID(spans)
	n := 0
	for _, rs := range td.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, ps := range ss.Spans {
				n++
				var sid storage.SpanID
				copy(sid[:], ps.SpanId)
				w := want[sid]
				if w == nil {
					t.Errorf("unexpected span id %x", ps.SpanId)
					continue
				}
				checkProtoSpan(t, w, rs.Resource.GetAttributes(), ss.Scope, ps)
			}
		}
	}
	if n != len(spans) {
		t.Errorf("protojson read %d spans, want %d", n, len(spans))
	}
}

// hexToBase64 rewrites the id fields of a decoded TracesData in place.
func hexToBase64(t *testing.T, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "traceId" || k == "spanId" || k == "parentSpanId") {
				b, err := hex.DecodeString(s)
				if err != nil {
					t.Fatalf("%s %q: not hex", k, s)
				}
				v[k] = base64.StdEncoding.EncodeToString(b)
				continue
			}
			hexToBase64(t, x)
		}
	case []any:
		for _, x := range v {
			hexToBase64(t, x)
		}
	}
}

func checkProtoSpan(t *testing.T, w *storage.Span, res []*commonpb.KeyValue, scope *commonpb.InstrumentationScope, ps *tracepb.Span) {
	t.Helper()
	id := w.SpanID.String()
	check := func(field string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("span %s %s: got %v, want %v", id, field, got, want)
		}
	}
	check("traceId", hex.EncodeToString(ps.TraceId), w.TraceID.String())
	if w.ParentSpanID.IsZero() {
		check("parentSpanId", len(ps.ParentSpanId), 0)
	} else {
		check("parentSpanId", hex.EncodeToString(ps.ParentSpanId), w.ParentSpanID.String())
	}
	check("traceState", ps.TraceState, w.TraceState)
	check("flags", ps.Flags, w.Flags)
	check("name", ps.Name, w.Name)
	check("kind", int32(ps.Kind), int32(w.Kind))
	check("startTimeUnixNano", ps.StartTimeUnixNano, uint64(w.StartTime))
	check("endTimeUnixNano", ps.EndTimeUnixNano, uint64(w.EndTime))
	check("status.code", int32(ps.Status.GetCode()), int32(w.StatusCode))
	check("status.message", ps.Status.GetMessage(), w.StatusMessage)
	check("droppedAttributesCount", ps.DroppedAttributesCount, w.DroppedAttributes)
	check("droppedEventsCount", ps.DroppedEventsCount, w.DroppedEvents)
	check("droppedLinksCount", ps.DroppedLinksCount, w.DroppedLinks)
	check("scope.name", scope.GetName(), w.ScopeName)
	check("scope.version", scope.GetVersion(), w.ScopeVersion)
	check("resource", protoAttrs(t, res), storedAttrs(w.Resource))
	check("attributes", protoAttrs(t, ps.Attributes), storedAttrs(w.Attributes))
	check("events", len(ps.Events), len(w.Events))
	for i := range min(len(ps.Events), len(w.Events)) {
		check("event time", ps.Events[i].TimeUnixNano, uint64(w.Events[i].Time))
		check("event name", ps.Events[i].Name, w.Events[i].Name)
		check("event attributes", protoAttrs(t, ps.Events[i].Attributes), storedAttrs(w.Events[i].Attributes))
	}
	check("links", len(ps.Links), len(w.Links))
	for i := range min(len(ps.Links), len(w.Links)) {
		check("link traceId", hex.EncodeToString(ps.Links[i].TraceId), w.Links[i].TraceID.String())
		check("link spanId", hex.EncodeToString(ps.Links[i].SpanId), w.Links[i].SpanID.String())
		check("link traceState", ps.Links[i].TraceState, w.Links[i].TraceState)
		check("link attributes", protoAttrs(t, ps.Links[i].Attributes), storedAttrs(w.Links[i].Attributes))
	}
}

// storedAttrs and protoAttrs render attributes as "key=type:value" with the
// value in storage's canonical form, so that they compare.
func storedAttrs(as []storage.Attribute) []string {
	out := []string{}
	for _, a := range as {
		v := a.Value
		if a.Type == storage.TypeDouble {
			f, _ := strconv.ParseFloat(v, 64)
			v = strconv.FormatFloat(f, 'g', -1, 64)
		}
		if a.Type == storage.TypeArray || a.Type == storage.TypeMap {
			v = canonicalJSON(v)
		}
		out = append(out, fmt.Sprintf("%s=%d:%s", a.Key, a.Type, v))
	}
	return out
}

func protoAttrs(t *testing.T, kvs []*commonpb.KeyValue) []string {
	out := []string{}
	for _, kv := range kvs {
		typ, v := protoValue(t, kv.Value)
		if typ == storage.TypeArray || typ == storage.TypeMap {
			v = canonicalJSON(v)
		}
		out = append(out, fmt.Sprintf("%s=%d:%s", kv.Key, typ, v))
	}
	return out
}

// protoValue is storage's form of an AnyValue: what otlp.Decode stores.
func protoValue(t *testing.T, v *commonpb.AnyValue) (storage.ValueType, string) {
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
		parts := []string{}
		for _, e := range x.ArrayValue.Values {
			parts = append(parts, protoJSON(t, e))
		}
		return storage.TypeArray, "[" + strings.Join(parts, ",") + "]"
	case *commonpb.AnyValue_KvlistValue:
		parts := []string{}
		for _, kv := range x.KvlistValue.Values {
			k, _ := json.Marshal(kv.Key)
			parts = append(parts, string(k)+":"+protoJSON(t, kv.Value))
		}
		return storage.TypeMap, "{" + strings.Join(parts, ",") + "}"
	case nil:
		return storage.TypeString, ""
	}
	t.Fatalf("unexpected AnyValue %v", v)
	return 0, ""
}

// protoJSON is the JSON of a nested AnyValue as storage writes it.
func protoJSON(t *testing.T, v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		b, _ := json.Marshal(x.StringValue)
		return string(b)
	case *commonpb.AnyValue_DoubleValue:
		return string(storage.AppendJSONFloat(nil, x.DoubleValue))
	case *commonpb.AnyValue_BytesValue:
		return `"` + base64.StdEncoding.EncodeToString(x.BytesValue) + `"`
	case nil:
		return "null"
	}
	_, s := protoValue(t, v)
	return s
}

// canonicalJSON re-encodes JSON with its numbers as float64 'g' text, so
// that 1e+21 and 1000000000000000000000 compare equal, keys in order.
func canonicalJSON(s string) string {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var b strings.Builder
	var walk func() bool
	walk = func() bool {
		tok, err := dec.Token()
		if err != nil {
			b.WriteString("!" + err.Error())
			return false
		}
		switch tok := tok.(type) {
		case json.Delim:
			b.WriteString(tok.String())
			if tok == '[' || tok == '{' {
				for n := 0; dec.More(); n++ {
					if n > 0 {
						b.WriteByte(',')
					}
					if tok == '{' {
						k, _ := dec.Token()
						kb, _ := json.Marshal(k)
						b.Write(kb)
						b.WriteByte(':')
					}
					walk()
				}
				end, _ := dec.Token()
				b.WriteString(end.(json.Delim).String())
			}
		case json.Number:
			f, _ := tok.Float64()
			b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
		default:
			kb, _ := json.Marshal(tok)
			b.Write(kb)
		}
		return true
	}
	walk()
	return b.String()
}

// TestOTLPJSONShape checks one span key by key against pdata's JSON (what
// Jaeger's snapshots/GetTrace.json shows): lowerCamelCase names, ids in
// hex, 64-bit numbers as strings, enums as numbers, zero fields left out
// except resource, scope and status.
func TestOTLPJSONShape(t *testing.T) {
	sp := storage.Span{
		TraceID: storage.TraceID{15: 1}, SpanID: storage.SpanID{7: 2}, Name: "foobar",
		Kind: storage.KindServer, StatusCode: storage.StatusError,
	}
	got := string(encodeTraces([]storage.Span{sp}, 1))
	// snapshots/GetTrace.json's result, compacted, keys in pdata's order.
	want := `{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{},"spans":[{"traceId":"00000000000000000000000000000001","spanId":"0000000000000002","name":"foobar","kind":2,"status":{"code":2}}]}]}]}`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	tests := []struct {
		name string
		a    storage.Attribute
		want string
	}{
		{"string", attr("k", storage.TypeString, "v"), `{"key":"k","value":{"stringValue":"v"}}`},
		{"bool", attr("k", storage.TypeBool, "true"), `{"key":"k","value":{"boolValue":true}}`},
		{"int as string", attr("k", storage.TypeInt, "-7"), `{"key":"k","value":{"intValue":"-7"}}`},
		{"double as number", attr("k", storage.TypeDouble, "0.5"), `{"key":"k","value":{"doubleValue":0.5}}`},
		{"NaN as string", attr("k", storage.TypeDouble, "NaN"), `{"key":"k","value":{"doubleValue":"NaN"}}`},
		{"infinity as string", attr("k", storage.TypeDouble, "-Inf"), `{"key":"k","value":{"doubleValue":"-Infinity"}}`},
		{"bytes in base64", attr("k", storage.TypeBytes, "\xff\x00"), `{"key":"k","value":{"bytesValue":"/wA="}}`},
		{"array", attr("k", storage.TypeArray, `[1,"a",null]`), `{"key":"k","value":{"arrayValue":{"values":[{"intValue":"1"},{"stringValue":"a"},{}]}}}`},
		{"empty array", attr("k", storage.TypeArray, `[]`), `{"key":"k","value":{"arrayValue":{}}}`},
		{"kvlist", attr("k", storage.TypeMap, `{"x":1.5,"":true}`), `{"key":"k","value":{"kvlistValue":{"values":[{"key":"x","value":{"doubleValue":1.5}},{"value":{"boolValue":true}}]}}}`},
		{"empty kvlist", attr("k", storage.TypeMap, `{}`), `{"key":"k","value":{"kvlistValue":{}}}`},
		{"no key", attr("", storage.TypeString, "v"), `{"value":{"stringValue":"v"}}`},
		{"malformed int as string", attr("k", storage.TypeInt, "12x"), `{"key":"k","value":{"stringValue":"12x"}}`},
		{"malformed array as string", attr("k", storage.TypeArray, `{"a":1}`), `{"key":"k","value":{"stringValue":"{\"a\":1}"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(appendKeyValue(nil, &tt.a)); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// BenchmarkOTLPJSONBatch writes one StreamTrace batch of typical spans.
func BenchmarkOTLPJSONBatch(b *testing.B) {
	spans := make([]storage.Span, storage.MaxStreamBatch)
	for i := range spans {
		spans[i] = genSpan(i)
	}
	var o otlpWriter
	var js []byte
	b.ReportAllocs()
	for b.Loop() {
		js = o.appendResourceSpans(js[:0], spans)
	}
	b.SetBytes(int64(len(js)))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
}
