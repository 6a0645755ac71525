package clickhouse

import (
	"math"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/storage"
)

func TestConvertKV(t *testing.T) {
	for _, tt := range []struct {
		name string
		kv   attribute.KeyValue
		want storage.Attribute
	}{
		{"string", attribute.String("k", "v'\\"), storage.Attribute{Key: "k", Type: storage.TypeString, Value: "v'\\"}},
		{"bool", attribute.Bool("k", true), storage.Attribute{Key: "k", Type: storage.TypeBool, Value: "true"}},
		{"int min", attribute.Int64("k", math.MinInt64), storage.Attribute{Key: "k", Type: storage.TypeInt, Value: "-9223372036854775808"}},
		{"double", attribute.Float64("k", 3.141592653589793), storage.Attribute{Key: "k", Type: storage.TypeDouble, Value: "3.141592653589793"}},
		{"double NaN", attribute.Float64("k", math.NaN()), storage.Attribute{Key: "k", Type: storage.TypeDouble, Value: "NaN"}},
		{"double +Inf", attribute.Float64("k", math.Inf(1)), storage.Attribute{Key: "k", Type: storage.TypeDouble, Value: "+Inf"}},
		{"bytes", attribute.ByteSlice("k", []byte{0, 1, 0xfe, 0xff}), storage.Attribute{Key: "k", Type: storage.TypeBytes, Value: "\x00\x01\xfe\xff"}},
		{"string slice", attribute.StringSlice("k", []string{"a\"b", "\xff", "\n"}),
			storage.Attribute{Key: "k", Type: storage.TypeArray, Value: `["a\"b","\ufffd","\n"]`}},
		{"int slice", attribute.Int64Slice("k", []int64{1, -2}), storage.Attribute{Key: "k", Type: storage.TypeArray, Value: `[1,-2]`}},
		{"float slice", attribute.Float64Slice("k", []float64{0.5, math.Inf(-1), math.NaN()}),
			storage.Attribute{Key: "k", Type: storage.TypeArray, Value: `[0.5,"-Infinity","NaN"]`}},
		{"bool slice", attribute.BoolSlice("k", []bool{true, false}), storage.Attribute{Key: "k", Type: storage.TypeArray, Value: `[true,false]`}},
		{"empty slice", attribute.StringSlice("k", nil), storage.Attribute{Key: "k", Type: storage.TypeArray, Value: `[]`}},
		{"mixed slice", attribute.Slice("k", attribute.StringValue("a"), attribute.Int64Value(1), attribute.ByteSliceValue([]byte("hi"))),
			storage.Attribute{Key: "k", Type: storage.TypeArray, Value: `["a",1,"aGk="]`}},
		{"map", attribute.Map("k", attribute.String("s", "v"), attribute.Int64("n", 2),
			attribute.Map("inner", attribute.Bool("b", false))),
			storage.Attribute{Key: "k", Type: storage.TypeMap, Value: `{"inner":{"b":false},"n":2,"s":"v"}`}}, // attribute.Map sorts keys
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := convertKV(tt.kv); got != tt.want {
				t.Errorf("convertKV = %+q, want %+q", got, tt.want)
			}
		})
	}
}

func TestAppendJSONDepthIsBounded(t *testing.T) {
	v := attribute.StringValue("leaf")
	for range 100 {
		v = attribute.SliceValue(v)
	}
	got := string(appendJSON(nil, v, 0))
	if want := strings.Repeat("[", maxDepth+1) + "null" + strings.Repeat("]", maxDepth+1); got != want {
		t.Errorf("100-deep value = %q, want %q (cut at depth %d)", got, want, maxDepth)
	}
}

// Spans of one resource share its converted attributes: the writer stores
// a shared slice once instead of once per span.
func TestConvertSharesResource(t *testing.T) {
	res := resource.NewSchemaless(attribute.String("service.name", "a"), attribute.String("big", strings.Repeat("x", 1000)))
	other := resource.NewSchemaless(attribute.String("service.name", "b"))
	var in []sdktrace.ReadOnlySpan
	for i, r := range []*resource.Resource{res, res, res, other} {
		in = append(in, tracetest.SpanStub{
			Name:        "s",
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{byte(i + 1)}}),
			Resource:    r,
		}.Snapshot())
	}
	out := Convert(nil, in)
	for i := 1; i < 3; i++ {
		if &out[i].Resource[0] != &out[0].Resource[0] {
			t.Errorf("span %d: resource copied, want the slice of span 0", i)
		}
	}
	if out[3].Service != "b" || &out[3].Resource[0] == &out[0].Resource[0] {
		t.Errorf("span of another resource: service %q, shares span 0's resource", out[3].Service)
	}
}
