package query

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/storagetest"
)

// The expected JSON here is written from Jaeger v2.20's model and
// converters, not from Tracer's output:
//   - internal/uimodel/model.go (key names; parentSpanID, flags, process
//     omitted when empty; span and trace warnings null when none);
//   - internal/uimodel/converter/v1/json/from_domain.go (microseconds,
//     typed values: int64 beyond 2^53-1 as a string, binary as base64;
//     processes p1, p2, ...);
//   - opentelemetry-collector-contrib pkg/translator/jaeger/traces_to_jaegerproto.go
//     at v0.155.0, the version Jaeger v2.20's go.mod names
//     (tag order: scope, attributes, span.kind, otel.status_code, error,
//     otel.status_description, w3c.tracestate; events as logs with an event
//     field; links as FOLLOWS_FROM references);
//   - the adjusters of cmd/jaeger/internal/extension/jaegerquery/internal/adjuster
//     (sort.go: attributes sorted by key, events by name; libraryattributes.go,
//     ipattribute.go, spanlinks.go);
//   - cmd/jaeger/internal/extension/jaegerquery/internal/fixture/otlp2jaeger-out.json,
//     Jaeger's own expected answer for an OTLP span.

// v1TraceJSON fetches trace id from e and returns its one trace.
func v1TraceJSON(t *testing.T, e *v1Env, id storage.TraceID, query string) map[string]any {
	t.Helper()
	ans := e.get("/api/traces/" + id.String() + query)
	if ans.status != http.StatusOK {
		t.Fatalf("%d %s", ans.status, ans.body)
	}
	return v1Envelope(t, ans)["data"].([]any)[0].(map[string]any)
}

func TestJaegerModelFullSpan(t *testing.T) {
	tid := storage.TraceID{0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	sid, parent := storage.SpanID{0x11, 1, 2, 3, 4, 5, 6, 7}, storage.SpanID{0x22, 1, 2, 3, 4, 5, 6, 7}
	start := time.Unix(1_700_000_000, 123_456_789)
	span := storagetest.FullSpan(tid, sid, parent, start)
	e := newV1Env(t, DefaultConfig(), []storage.Span{span})
	st := start.UnixNano()

	t.Run("adjusted", func(t *testing.T) {
		got := v1TraceJSON(t, e, tid, "")
		want := fmt.Sprintf(`{
		"traceID": "ab0102030405060708090a0b0c0d0e0f",
		"spans": [{
			"traceID": "ab0102030405060708090a0b0c0d0e0f",
			"spanID": "1101020304050607",
			"operationName": "GET /orders/{id}",
			"references": [
				{"refType": "CHILD_OF", "traceID": "ab0102030405060708090a0b0c0d0e0f", "spanID": "2201020304050607"},
				{"refType": "FOLLOWS_FROM", "traceID": "aa0102030405060708090a0b0c0d0e0f", "spanID": "bb01020304050607"},
				{"refType": "FOLLOWS_FROM", "traceID": "cc010000000000000000000000000000", "spanID": "dd01000000000000"}
			],
			"startTime": %d,
			"duration": 1234,
			"tags": [
				{"key": "otel.scope.name", "type": "string", "value": "tracer/interceptors"},
				{"key": "otel.scope.version", "type": "string", "value": "v0.1.0"},
				{"key": "array", "type": "string", "value": "[\"a\",1,true]"},
				{"key": "bool", "type": "bool", "value": true},
				{"key": "bytes", "type": "binary", "value": "AAH+/w=="},
				{"key": "double", "type": "float64", "value": 3.141592653589793},
				{"key": "empty", "type": "string", "value": ""},
				{"key": "int", "type": "int64", "value": "-9223372036854775808"},
				{"key": "map", "type": "string", "value": "{\"k\":\"v\",\"n\":2}"},
				{"key": "str", "type": "string", "value": "hello"},
				{"key": "tracer.vc.deps", "type": "string", "value": "b-2:2"},
				{"key": "tracer.vc.end_deps", "type": "string", "value": "b-2:3,c-3:1"},
				{"key": "tracer.vc.end_tick", "type": "int64", "value": 6},
				{"key": "tracer.vc.node", "type": "string", "value": "a-1"},
				{"key": "tracer.vc.tick", "type": "int64", "value": 4},
				{"key": "span.kind", "type": "string", "value": "server"},
				{"key": "otel.status_code", "type": "string", "value": "ERROR"},
				{"key": "error", "type": "bool", "value": true},
				{"key": "otel.status_description", "type": "string", "value": "boom: upstream failed"},
				{"key": "w3c.tracestate", "type": "string", "value": "vendor=abc,other=x:1"}
			],
			"logs": [
				{"timestamp": %d, "fields": [
					{"key": "event", "type": "string", "value": "exception"},
					{"key": "exception.escaped", "type": "bool", "value": false},
					{"key": "exception.type", "type": "string", "value": "io.EOF"}
				]},
				{"timestamp": %d, "fields": [{"key": "event", "type": "string", "value": "no attrs"}]}
			],
			"processID": "p1",
			"warnings": null
		}],
		"processes": {
			"p1": {"serviceName": "orders", "tags": [
				{"key": "host.cpus", "type": "int64", "value": 8},
				{"key": "service.version", "type": "string", "value": "1.2.3"}
			]}
		},
		"warnings": null
	}`, st/1000, (st+10)/1000, (st+20)/1000)
		v1ExpectJSON(t, got, want)
	})

	t.Run("raw: no adjusters, stored order", func(t *testing.T) {
		got := v1TraceJSON(t, e, tid, "?raw=true")
		s := got["spans"].([]any)[0].(map[string]any)
		var keys []string
		for _, tag := range s["tags"].([]any) {
			keys = append(keys, tag.(map[string]any)["key"].(string))
		}
		want := "otel.scope.name otel.scope.version str empty bool int double bytes array map tracer.vc.node tracer.vc.tick tracer.vc.deps tracer.vc.end_tick tracer.vc.end_deps span.kind otel.status_code error otel.status_description w3c.tracestate"
		if strings.Join(keys, " ") != want {
			t.Errorf("raw tags\n got %s\nwant %s", strings.Join(keys, " "), want)
		}
		proc := got["processes"].(map[string]any)["p1"].(map[string]any)
		v1ExpectJSON(t, proc["tags"], `[{"key":"service.version","type":"string","value":"1.2.3"},{"key":"host.cpus","type":"int64","value":8}]`)
	})
}

// TestJaegerModelJaegersFixture serves the span of Jaeger's own fixture
// (otlp2jaeger-in.json, once) and expects otlp2jaeger-out.json's span.
func TestJaegerModelJaegersFixture(t *testing.T) {
	tid, _ := storage.ParseTraceID("83a9efd15c1c98a977e0711cc93ee28b")
	sid, _ := storage.ParseSpanID("e127af99e3b3e074")
	parent, _ := storage.ParseSpanID("909541b92cf05311")
	e := newV1Env(t, DefaultConfig(), []storage.Span{{
		TraceID: tid, SpanID: sid, ParentSpanID: parent, Name: "okey-dokey-0", Kind: storage.KindServer,
		StartTime: 1706678909209712000, EndTime: 1706678909209835000,
		Service: "telemetrygen", Resource: v1Res("telemetrygen"), ScopeName: "telemetrygen",
		Attributes: []storage.Attribute{
			{Key: "net.peer.ip", Type: storage.TypeString, Value: "1.2.3.4"},
			{Key: "peer.service", Type: storage.TypeString, Value: "telemetrygen-client"},
		},
	}})
	ans := e.get("/api/traces/83a9efd15c1c98a977e0711cc93ee28b")
	v1ExpectJSON(t, ans.json, `{
	  "data": [{
	      "traceID": "83a9efd15c1c98a977e0711cc93ee28b",
	      "spans": [{
	          "traceID": "83a9efd15c1c98a977e0711cc93ee28b",
	          "spanID": "e127af99e3b3e074",
	          "operationName": "okey-dokey-0",
	          "references": [{"refType": "CHILD_OF", "traceID": "83a9efd15c1c98a977e0711cc93ee28b", "spanID": "909541b92cf05311"}],
	          "startTime": 1706678909209712,
	          "duration": 123,
	          "tags": [
	            {"key": "otel.scope.name", "type": "string", "value": "telemetrygen"},
	            {"key": "net.peer.ip", "type": "string", "value": "1.2.3.4"},
	            {"key": "peer.service", "type": "string", "value": "telemetrygen-client"},
	            {"key": "span.kind", "type": "string", "value": "server"}
	          ],
	          "logs": [],
	          "processID": "p1",
	          "warnings": null
	      }],
	      "processes": {"p1": {"serviceName": "telemetrygen", "tags": []}},
	      "warnings": null
	  }],
	  "total": 0, "limit": 0, "offset": 0, "errors": null
	}`)
}

func TestJaegerModelCases(t *testing.T) {
	tid := storage.TraceID{0xcd, 15: 9}
	base := storage.Span{
		TraceID: tid, SpanID: v1SpanID(1), Name: "op",
		StartTime: v1Now.UnixNano(), EndTime: v1Now.UnixNano() + 1500,
		Service: "svc", Resource: v1Res("svc"),
	}
	tests := []struct {
		name   string
		edit   func(s *storage.Span)
		query  string
		check  string // the span's key whose value is compared
		want   string
		procs  string // when set, the processes
		notags bool
	}{
		{name: "unset status and kind: no derived tags, empty arrays", check: "tags", want: `[]`},
		{name: "no parent, no links: references is []", check: "references", want: `[]`},
		{name: "no events: logs is []", check: "logs", want: `[]`},
		{name: "duration rounds down to microseconds", check: "duration", want: `1`},
		{name: "sampled: still no flags key (translator v0.155.0)", edit: func(s *storage.Span) { s.Flags = 0x301 }, check: "flags", want: `null`},
		{name: "status OK: otel.status_code only", edit: func(s *storage.Span) { s.StatusCode = storage.StatusOK },
			check: "tags", want: `[{"key":"otel.status_code","type":"string","value":"OK"}]`},
		{name: "status message without error", edit: func(s *storage.Span) { s.StatusMessage = "fine" },
			check: "tags", want: `[{"key":"otel.status_description","type":"string","value":"fine"}]`},
		{name: "kinds", edit: func(s *storage.Span) { s.Kind = storage.KindConsumer },
			check: "tags", want: `[{"key":"span.kind","type":"string","value":"consumer"}]`},
		{name: "safe integers are numbers, larger ones strings", edit: func(s *storage.Span) {
			s.Attributes = []storage.Attribute{
				{Key: "a", Type: storage.TypeInt, Value: "9007199254740991"},
				{Key: "b", Type: storage.TypeInt, Value: "9007199254740992"},
				{Key: "c", Type: storage.TypeInt, Value: "-9007199254740991"},
			}
		}, check: "tags", want: `[{"key":"a","type":"int64","value":9007199254740991},{"key":"b","type":"int64","value":"9007199254740992"},{"key":"c","type":"int64","value":-9007199254740991}]`},
		{name: "doubles JSON cannot hold are strings", edit: func(s *storage.Span) {
			s.Attributes = []storage.Attribute{{Key: "nan", Type: storage.TypeDouble, Value: "NaN"}, {Key: "x", Type: storage.TypeDouble, Value: "1e+21"}}
		}, check: "tags", want: `[{"key":"nan","type":"float64","value":"NaN"},{"key":"x","type":"float64","value":1e21}]`},
		{name: "ip as an integer becomes a dotted quad (NormalizeIPAttributes)", edit: func(s *storage.Span) {
			s.Attributes = []storage.Attribute{{Key: "peer.ipv4", Type: storage.TypeInt, Value: "167772161"}, {Key: "ip", Type: storage.TypeString, Value: "::1"}}
		}, check: "tags", want: `[{"key":"ip","type":"string","value":"::1"},{"key":"peer.ipv4","type":"string","value":"10.0.0.1"}]`},
		{name: "library attributes move to the process (MoveLibraryAttributes)", edit: func(s *storage.Span) {
			s.Attributes = []storage.Attribute{{Key: "telemetry.sdk.language", Type: storage.TypeString, Value: "go"}, {Key: "x", Type: storage.TypeString, Value: "y"}}
			s.Resource = v1Res("svc", storage.Attribute{Key: "z", Type: storage.TypeString, Value: "last"})
		}, check: "tags", want: `[{"key":"x","type":"string","value":"y"}]`,
			procs: `{"p1":{"serviceName":"svc","tags":[{"key":"z","type":"string","value":"last"},{"key":"telemetry.sdk.language","type":"string","value":"go"}]}}`},
		{name: "a library attribute that conflicts with the resource stays, with a warning", edit: func(s *storage.Span) {
			s.Attributes = []storage.Attribute{{Key: "telemetry.sdk.name", Type: storage.TypeString, Value: "a"}}
			s.Resource = v1Res("svc", storage.Attribute{Key: "telemetry.sdk.name", Type: storage.TypeString, Value: "b"})
		}, check: "warnings", want: `["conflicting values between Span and Resource for attribute telemetry.sdk.name"]`},
		{name: "a link to the parent sets its type, FOLLOWS_FROM without ref_type", edit: func(s *storage.Span) {
			s.ParentSpanID = v1SpanID(7)
			s.Links = []storage.Link{{TraceID: tid, SpanID: v1SpanID(7)}}
		}, check: "references", want: `[{"refType":"FOLLOWS_FROM","traceID":"cd000000000000000000000000000009","spanID":"5a00000000000007"}]`},
		{name: "opentracing.ref_type=child_of on a link", edit: func(s *storage.Span) {
			s.Links = []storage.Link{{TraceID: tid, SpanID: v1SpanID(8), Attributes: []storage.Attribute{{Key: "opentracing.ref_type", Type: storage.TypeString, Value: "child_of"}}}}
		}, check: "references", want: `[{"refType":"CHILD_OF","traceID":"cd000000000000000000000000000009","spanID":"5a00000000000008"}]`},
		{name: "a link without trace id is removed, with a warning (RemoveEmptySpanLinks)", edit: func(s *storage.Span) {
			s.Links = []storage.Link{{SpanID: v1SpanID(8)}}
		}, check: "warnings", want: `["Invalid span link removed"]`},
		{name: "a link without trace id stays in raw", edit: func(s *storage.Span) {
			s.Links = []storage.Link{{SpanID: v1SpanID(8)}}
		}, query: "?raw=true", check: "references", want: `[{"refType":"FOLLOWS_FROM","traceID":"0000000000000000","spanID":"5a00000000000008"}]`},
		{name: "stored Jaeger warnings are warnings, not tags", edit: func(s *storage.Span) {
			s.Attributes = []storage.Attribute{{Key: "@jaeger@warnings", Type: storage.TypeArray, Value: `["w1","w2"]`}}
		}, check: "warnings", want: `["w1","w2"]`},
		{name: "an event with an event attribute gets no second one", edit: func(s *storage.Span) {
			s.Events = []storage.Event{{Time: v1Now.UnixNano(), Name: "n", Attributes: []storage.Attribute{{Key: "event", Type: storage.TypeString, Value: "own"}}}}
		}, check: "logs", want: fmt.Sprintf(`[{"timestamp":%d,"fields":[{"key":"event","type":"string","value":"own"}]}]`, v1Now.UnixMicro())},
		{name: "an unnamed event has no event field", edit: func(s *storage.Span) {
			s.Events = []storage.Event{{Time: v1Now.UnixNano()}}
		}, check: "logs", want: fmt.Sprintf(`[{"timestamp":%d,"fields":[]}]`, v1Now.UnixMicro())},
		{name: "events sorted by name", edit: func(s *storage.Span) {
			s.Events = []storage.Event{{Time: 2000, Name: "b"}, {Time: 1000, Name: "a"}}
		}, check: "logs", want: `[{"timestamp":1,"fields":[{"key":"event","type":"string","value":"a"}]},{"timestamp":2,"fields":[{"key":"event","type":"string","value":"b"}]}]`},
		{name: "no service.name: the store's unknown_service", edit: func(s *storage.Span) {
			s.Service, s.Resource = "unknown_service", nil
		}, check: "processID", want: `"p1"`, procs: `{"p1":{"serviceName":"unknown_service","tags":[]}}`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			s.TraceID[1] = byte(i)
			if tt.edit != nil {
				tt.edit(&s)
			}
			// Links to the parent are written with the trace's own id.
			for j := range s.Links {
				if s.Links[j].TraceID == tid {
					s.Links[j].TraceID = s.TraceID
				}
			}
			want := strings.ReplaceAll(tt.want, "cd000000000000000000000000000009", jaegerTraceID(s.TraceID))
			e := newV1Env(t, DefaultConfig(), []storage.Span{s})
			tr := v1TraceJSON(t, e, s.TraceID, tt.query)
			span := tr["spans"].([]any)[0].(map[string]any)
			v1ExpectJSON(t, span[tt.check], want)
			if tt.procs != "" {
				v1ExpectJSON(t, tr["processes"], tt.procs)
			}
		})
	}
}

func TestJaegerModelProcesses(t *testing.T) {
	tid := storage.TraceID{0xef, 15: 1}
	span := func(b byte, res []storage.Attribute) storage.Span {
		s := storage.Span{TraceID: tid, SpanID: v1SpanID(b), Name: "op", StartTime: v1Now.UnixNano() + int64(b), EndTime: v1Now.UnixNano() + 1e6, Resource: res}
		a, _ := s.ResourceAttribute("service.name")
		s.Service = a.Value
		return s
	}
	host := func(h string) storage.Attribute {
		return storage.Attribute{Key: "host.name", Type: storage.TypeString, Value: h}
	}
	// Equal content in distinct slices is one process; another host is
	// another process; attribute order does not matter (they are sorted).
	e := newV1Env(t, DefaultConfig(), []storage.Span{
		span(1, v1Res("a", host("h1"))),
		span(2, v1Res("a", host("h1"))),
		span(3, v1Res("a", host("h2"))),
		span(4, []storage.Attribute{host("h1"), {Key: "service.name", Type: storage.TypeString, Value: "a"}}),
		span(5, v1Res("b", host("h1"))),
	})
	tr := v1TraceJSON(t, e, tid, "")
	procs := tr["processes"].(map[string]any)
	if len(procs) != 3 {
		t.Fatalf("processes %v, want 3", procs)
	}
	byHost := map[string]string{}
	for id, p := range procs {
		p := p.(map[string]any)
		key := p["serviceName"].(string) + "/" + p["tags"].([]any)[0].(map[string]any)["value"].(string)
		byHost[key] = id
	}
	for _, s := range tr["spans"].([]any) {
		s := s.(map[string]any)
		want := map[string]string{
			"5a00000000000001": "a/h1", "5a00000000000002": "a/h1", "5a00000000000004": "a/h1",
			"5a00000000000003": "a/h2", "5a00000000000005": "b/h1",
		}[s["spanID"].(string)]
		if s["processID"] != byHost[want] {
			t.Errorf("span %s: process %v, want %s's %s", s["spanID"], s["processID"], want, byHost[want])
		}
	}
}

// BenchmarkJaegerSpan measures writing one span in Jaeger's model: the
// API's own cost per span on top of the store's.
func BenchmarkJaegerSpan(b *testing.B) {
	s := storagetest.FullSpan(storage.TraceID{1, 15: 1}, storage.SpanID{2, 7: 1}, storage.SpanID{3, 7: 1}, v1Now)
	var jt jaegerTrace
	buf := jt.begin(nil, s.TraceID, false)
	b.ReportAllocs()
	for b.Loop() {
		buf = jt.span(buf[:0], &s, "")
	}
	b.SetBytes(int64(len(buf)))
}
