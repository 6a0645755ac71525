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
			if got, ok := convertKV(tt.kv); !ok || got != tt.want {
				t.Errorf("convertKV = %+q, %v; want %+q", got, ok, tt.want)
			}
		})
	}
}

// TestValueDepth: the exporter stores values nested up to
// storage.MaxValueDepth levels, the collector's limit, and leaves out the
// attribute of a deeper one (before, it cut at 32 levels and wrote null).
func TestValueDepth(t *testing.T) {
	nest := func(levels int) attribute.Value { // a scalar is one level
		v := attribute.StringValue("leaf")
		for range levels - 1 {
			v = attribute.SliceValue(v)
		}
		return v
	}
	deepest := attribute.KeyValue{Key: "k", Value: nest(storage.MaxValueDepth)}
	a, ok := convertKV(deepest)
	if want := strings.Repeat("[", storage.MaxValueDepth-1) + `"leaf"` + strings.Repeat("]", storage.MaxValueDepth-1); !ok || a.Value != want {
		t.Errorf("%d levels: %q, %v; want %q", storage.MaxValueDepth, a.Value, ok, want)
	}
	if a, ok := convertKV(attribute.KeyValue{Key: "k", Value: nest(storage.MaxValueDepth + 1)}); ok {
		t.Errorf("%d levels: stored as %q, want left out", storage.MaxValueDepth+1, a.Value)
	}
	ints := attribute.KeyValue{Key: "k", Value: attribute.SliceValue(nest(storage.MaxValueDepth - 2))}
	if _, ok := convertKV(ints); !ok {
		t.Errorf("%d levels: left out, want stored", storage.MaxValueDepth)
	}
	got := convertAttrs([]attribute.KeyValue{attribute.String("a", "1"), {Key: "deep", Value: nest(100)}, attribute.String("b", "2")})
	if len(got) != 2 || got[0].Key != "a" || got[1].Key != "b" {
		t.Errorf("convertAttrs with a 100-level value = %+v, want a and b only", got)
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
