package otlp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/storage"
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
		`{"resourceSpans":[]}}`,
	} {
		if b, err := FromJSON([]byte(body)); err == nil {
			t.Errorf("FromJSON(%q) = %x, want an error", body, b)
		}
	}
}

// TestFromJSONMatchesReference: the streaming conversion gives what
// protojson gives, for requests with every kind of field and value.
func TestFromJSONMatchesReference(t *testing.T) {
	req := testRequest(12)
	sp := req.ResourceSpans[0].ScopeSpans[0].Spans[0]
	sp.Attributes = append(sp.Attributes, kv("escaped", sv("q\"uote \\ \u00e9 \U0001F600 \n\t\x01")))
	for _, tc := range []struct{ name, body string }{
		{"protojson of a rich request", string(otlpJSON(t, req))},
		{"numbers in several forms", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
			"name":"n","kind":"SPAN_KIND_CLIENT","startTimeUnixNano":"1.0e3","endTimeUnixNano":2000.000,"flags":"7","droppedAttributesCount":1e1,
			"attributes":[{"key":"i","value":{"intValue":"-9223372036854775808"}},{"key":"d","value":{"doubleValue":"NaN"}},
			{"key":"d2","value":{"doubleValue":"-Infinity"}},{"key":"d3","value":{"doubleValue":"1.5"}},{"key":"d4","value":{"doubleValue":-0}},
			{"key":"b","value":{"boolValue":false}},{"key":"z","value":{"intValue":0}},{"key":"e","value":{}},
			{"key":"by","value":{"bytesValue":"AP8="}},{"key":"by2","value":{"bytesValue":"_-8"}},{"key":"by3","value":{"bytes_value":"AP8"}},
			{"key":"m","value":{"kvlistValue":{"values":[{"key":"k","value":{"arrayValue":{"values":[{"stringValue":"x"},{}]}}}]}}}],
			"status":{"code":"STATUS_CODE_OK","message":""}}]}]}]}`},
		{"nulls and unknown fields", `{"resourceSpans":[{"resource":null,"schemaUrl":null,"future":[1,{"a":[true,null,"s"]},-2.5e-3],
			"scopeSpans":[{"scope":{"name":"s","attributes":null},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
			"name":"\u006e","status":null,"events":[{"timeUnixNano":"5","name":"e","attributes":[]}],"links":null}]}]},{}]}`},
		{"unknown enum names", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_NOPE","status":{"code":""}}]}]}]}`},
		{"empty", `{}`},
		{"white space", " \n\t{ \"resourceSpans\" : [ ] } \r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := refFromJSON([]byte(tc.body))
			if err != nil {
				t.Fatalf("reference: %v", err)
			}
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
			if len(b) > len(tc.body)+outMargin || int64(len(b)) > JSONCost(len(tc.body)) {
				t.Fatalf("%d bytes out of %d in, more than JSONCost", len(b), len(tc.body))
			}
		})
	}
}

// TestFromJSONDeep: a value nested past storage.MaxValueDepth converts (the
// levels past the limit left out), and Scan rejects only its span.
func TestFromJSONDeep(t *testing.T) {
	for _, levels := range []int{storage.MaxValueDepth, storage.MaxValueDepth + 1, 5000} {
		t.Run(fmt.Sprint(levels), func(t *testing.T) {
			v := `{"stringValue":"bottom"}`
			v = strings.Repeat(`{"arrayValue":{"values":[`, levels-1) + v + strings.Repeat(`]}}`, levels-1)
			span := func(id int, attrs string) string {
				return fmt.Sprintf(`{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b1%02x","name":"n",
					"startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[%s]}`, id, attrs)
			}
			body := `{"resourceSpans":[{"scopeSpans":[{"spans":[` + span(1, `{"key":"deep","value":`+v+`}`) + `,` + span(2, "") + `]}]}]}`
			b, err := FromJSON([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Scan(b, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			wantRejected := b2i(levels > storage.MaxValueDepth)
			if res.Accepted != 2-wantRejected || res.Rejections[RejectNestingTooDeep] != wantRejected {
				t.Fatalf("Scan = %+v", res)
			}
		})
	}
}

// TestFromJSONErrorsWrap: every FromJSON error wraps ErrMalformed.
func TestFromJSONErrorsWrap(t *testing.T) {
	for _, body := range []string{
		`{"resourceSpans":[]}}`,
		`{"resourceSpans":[]}]`,
		`{"resourceSpans":[]} x`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"1.5"}]}]}]}`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":-1}]}]}]}`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"18446744073709551616"}]}]}]}`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"bad \x01 control"}]}]}]}`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"bad \q escape"}]}]}]}`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"unterminated}]}]}]}`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"value":{"boolValue":1}}]}]}]}]}`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"value":{"bytesValue":"!!"}}]}]}]}]}`,
		`{"resourceSpans":[{"future":[1,2}]}`,
		`{"resourceSpans":[{"future":01}]}`,
		`{"resourceSpans":[,]}`,
		`{"resourceSpans":[{},]}`,
		`{"resourceSpans" [] }`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abc"}]}]}]}`,
		"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"bad \xff utf-8\"}]}]}]}",
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"links":[{"spanId":"zz"}]}]}]}]}`,
	} {
		t.Run(body, func(t *testing.T) {
			if b, err := FromJSON([]byte(body)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("FromJSON = %x, %v; want ErrMalformed", b, err)
			}
		})
	}
}
