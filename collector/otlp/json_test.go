package otlp

import (
	"encoding/hex"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestFromJSON(t *testing.T) {
	want := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "my.service")}},
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: "my.library", Version: "1.0.0"},
			Spans: []*tracepb.Span{{
				TraceId:           mustHex("5b8efff798038103d269b633813fc60c"),
				SpanId:            mustHex("eee19b7ec3c1b174"),
				ParentSpanId:      mustHex("eee19b7ec3c1b173"),
				Name:              "I'm a server span",
				StartTimeUnixNano: 1544712660000000000,
				EndTimeUnixNano:   1544712661000000000,
				Kind:              tracepb.Span_SPAN_KIND_SERVER,
				Attributes:        []*commonpb.KeyValue{i64("my.span.attr", 9007199254740993), str("s", "v")},
				Links:             []*tracepb.Span_Link{{TraceId: mustHex("5b8efff798038103d269b633813fc60d"), SpanId: mustHex("0102030405060708")}},
				Status:            &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR},
			}},
		}},
	}}}
	for _, tc := range []struct{ name, body string }{
		{"camelCase, enums as ints, int64 as strings", `{"resourceSpans":[{
			"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]},
			"scopeSpans":[{"scope":{"name":"my.library","version":"1.0.0"},
			"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174",
				"parentSpanId":"eee19b7ec3c1b173","name":"I'm a server span",
				"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",
				"kind":2,"attributes":[{"key":"my.span.attr","value":{"intValue":"9007199254740993"}},
				{"key":"s","value":{"stringValue":"v"}}],
				"links":[{"traceId":"5b8efff798038103d269b633813fc60d","spanId":"0102030405060708"}],
				"status":{"code":2},"someFutureField":{"x":1}}]}]}]}`},
		{"snake_case, enums as names, int64 as numbers", `{"resource_spans":[{
			"resource":{"attributes":[{"key":"service.name","value":{"string_value":"my.service"}}]},
			"scope_spans":[{"scope":{"name":"my.library","version":"1.0.0"},
			"spans":[{"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174",
				"parent_span_id":"eee19b7ec3c1b173","name":"I'm a server span",
				"start_time_unix_nano":1544712660000000000,"end_time_unix_nano":1544712661000000000,
				"kind":"SPAN_KIND_SERVER","attributes":[{"key":"my.span.attr","value":{"int_value":9007199254740993}},
				{"key":"s","value":{"string_value":"v"}}],
				"links":[{"trace_id":"5b8efff798038103d269b633813fc60d","span_id":"0102030405060708"}],
				"status":{"code":"STATUS_CODE_ERROR"}}]}]}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := FromJSON([]byte(tc.body))
			if err != nil {
				t.Fatalf("FromJSON: %v", err)
			}
			var got coltracepb.ExportTraceServiceRequest
			if err := proto.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(&got, want) {
				t.Fatalf("got %v\nwant %v", &got, want)
			}
			if res, err := Scan(b, DefaultLimits()); err != nil || res.Accepted != 1 {
				t.Fatalf("Scan = %+v, %v", res, err)
			}
		})
	}
}

func TestFromJSONErrors(t *testing.T) {
	for _, body := range []string{
		``,
		`not json`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"abc"}]}]}]}`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"links":[{"spanId":"xyz0"}]}]}]}]}`,
		`{"resourceSpans":"nope"}`,
		`{"resourceSpans":[]} {}`,
	} {
		if b, err := FromJSON([]byte(body)); err == nil {
			t.Errorf("FromJSON(%q) = %x, want an error", body, b)
		}
	}
}
