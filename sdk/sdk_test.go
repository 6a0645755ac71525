package sdk_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/tracerdev/tracer/sdk"
	"github.com/tracerdev/tracer/vclock"
)

func resourceValue(tp *sdktrace.TracerProvider, exp *tracetest.InMemoryExporter, key attribute.Key) string {
	_, s := tp.Tracer("t").Start(context.Background(), "probe")
	s.End()
	spans := exp.GetSpans()
	v, _ := spans[len(spans)-1].Resource.Set().Value(key)
	return v.String()
}

func TestNewResourceFromEnvAndOptions(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "from-env")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=inst-7,deployment.environment.name=test")
	exp := tracetest.NewInMemoryExporter()
	tp, err := sdk.New(context.Background(), sdk.WithExporter(exp), sdk.WithSyncExport())
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Shutdown(context.Background())
	if got := resourceValue(tp, exp, semconv.ServiceNameKey); got != "from-env" {
		t.Errorf("service.name = %q, want from-env", got)
	}
	if got := resourceValue(tp, exp, semconv.ServiceInstanceIDKey); got != "inst-7" {
		t.Errorf("service.instance.id = %q, want inst-7", got)
	}
	if got := resourceValue(tp, exp, "deployment.environment.name"); got != "test" {
		t.Errorf("env resource attribute = %q, want test", got)
	}
	// The node id follows the instance id.
	s := exp.GetSpans().Snapshots()[0]
	for _, a := range s.Attributes() {
		if a.Key == vclock.AttrNode && a.Value.AsString() != "inst-7" {
			t.Errorf("node = %q, want inst-7", a.Value.AsString())
		}
	}

	// Options win over the environment.
	exp2 := tracetest.NewInMemoryExporter()
	tp2, err := sdk.New(context.Background(), sdk.WithExporter(exp2), sdk.WithSyncExport(),
		sdk.WithServiceName("from-option"), sdk.WithInstanceID("inst-9"),
		sdk.WithResourceAttributes(attribute.String("team", "core")))
	if err != nil {
		t.Fatal(err)
	}
	defer tp2.Shutdown(context.Background())
	for key, want := range map[attribute.Key]string{
		semconv.ServiceNameKey: "from-option", semconv.ServiceInstanceIDKey: "inst-9", "team": "core",
	} {
		if got := resourceValue(tp2, exp2, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}

func TestNewGeneratesInstanceID(t *testing.T) {
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "")
	ids := map[string]bool{}
	for range 2 {
		exp := tracetest.NewInMemoryExporter()
		tp, err := sdk.New(context.Background(), sdk.WithExporter(exp), sdk.WithSyncExport())
		if err != nil {
			t.Fatal(err)
		}
		ids[resourceValue(tp, exp, semconv.ServiceInstanceIDKey)] = true
		_ = tp.Shutdown(context.Background())
	}
	if len(ids) != 2 || ids[""] {
		t.Errorf("instance ids %v: want two distinct generated ids", ids)
	}
}

func TestNewExporterSelection(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		opts    []sdk.Option
		wantErr string
	}{
		{name: "default otlp http", env: map[string]string{}},
		{name: "otlp grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}},
		{name: "console", env: map[string]string{"OTEL_TRACES_EXPORTER": "console"}},
		{name: "none", env: map[string]string{"OTEL_TRACES_EXPORTER": "none"}},
		{name: "bad exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, wantErr: "OTEL_TRACES_EXPORTER"},
		{name: "bad protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, wantErr: "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{name: "bad node id", opts: []sdk.Option{sdk.WithNodeID("has space")}, wantErr: "node id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			tp, err := sdk.New(context.Background(), tt.opts...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// No span was made, so nothing is sent to the (absent) endpoint.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tp.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		})
	}
}

func TestStdoutExporter(t *testing.T) {
	var buf bytes.Buffer
	tp, err := sdk.New(context.Background(), sdk.WithStdout(&buf), sdk.WithSyncExport(), sdk.WithNodeID("dev"))
	if err != nil {
		t.Fatal(err)
	}
	_, s := tp.Tracer("t").Start(context.Background(), "hello")
	s.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Name": "hello"`, vclock.AttrNode, `"dev"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("stdout output lacks %s:\n%s", want, buf.String())
		}
	}
}

func TestSamplers(t *testing.T) {
	tests := []struct {
		name    string
		sampler sdktrace.Sampler
		roots   int
		want    int
	}{
		{"always", sdktrace.AlwaysSample(), 50, 50},
		{"never", sdktrace.NeverSample(), 50, 0},
		{"ratio 0", sdktrace.TraceIDRatioBased(0), 50, 0},
		{"rate limited", sdk.RateLimited(10), 50, 10},
		{"rate limited off", sdk.RateLimited(0), 50, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp, err := sdk.New(context.Background(), sdk.WithExporter(exp), sdk.WithSyncExport(), sdk.WithSampler(tt.sampler))
			if err != nil {
				t.Fatal(err)
			}
			defer tp.Shutdown(context.Background())
			for range tt.roots {
				ctx, root := tp.Tracer("t").Start(context.Background(), "root")
				_, child := tp.Tracer("t").Start(ctx, "child") // follows its parent
				child.End()
				root.End()
			}
			// The bucket refills at 10/s, so a slow run may admit one or two more.
			got := len(exp.GetSpans()) / 2
			if tt.name == "rate limited" {
				if got < tt.want || got > tt.want+3 {
					t.Errorf("sampled %d traces, want about %d", got, tt.want)
				}
				return
			}
			if got != tt.want {
				t.Errorf("sampled %d traces, want %d", got, tt.want)
			}
		})
	}
}

func TestSetTag(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp, err := sdk.New(context.Background(), sdk.WithExporter(exp), sdk.WithSyncExport(), sdk.WithNodeID("n"))
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Shutdown(context.Background())
	tracer := sdk.NewTracer(tp)
	_, span := tracer.StartSpan(context.Background(), "op")
	span.SetTag("s", "x").SetTag("i", 42).SetTag("u", uint64(1<<63)).SetTag("f", 1.5).
		SetTag("b", true).SetTag("ss", []string{"a", "b"}).SetTag("err", errors.New("boom")).
		SetTag("error", true)
	span.Finish()
	got := exp.GetSpans()[0]
	want := map[attribute.Key]attribute.Value{
		"s": attribute.StringValue("x"), "i": attribute.IntValue(42),
		"u": attribute.StringValue("9223372036854775808"), "f": attribute.Float64Value(1.5),
		"b": attribute.BoolValue(true), "ss": attribute.StringSliceValue([]string{"a", "b"}),
		"err": attribute.StringValue("boom"),
	}
	have := map[attribute.Key]attribute.Value{}
	for _, a := range got.Attributes {
		have[a.Key] = a.Value
	}
	for k, v := range want {
		if have[k] != v {
			t.Errorf("tag %s = %v, want %v", k, have[k].String(), v.String())
		}
	}
	if got.Status.Code != codes.Error {
		t.Errorf("status = %v, want error after SetTag(\"error\", true)", got.Status.Code)
	}
	if len(got.Events) != 1 || got.Events[0].Name != "exception" {
		t.Errorf("events = %v, want one exception event", got.Events)
	}
}

func TestExporterOptionsCombine(t *testing.T) {
	var buf bytes.Buffer
	mem := tracetest.NewInMemoryExporter()
	tp, err := sdk.New(context.Background(), sdk.WithExporter(mem), sdk.WithStdout(&buf), sdk.WithSyncExport())
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Shutdown(context.Background())
	_, s := tp.Tracer("t").Start(context.Background(), "both")
	s.End() // exported synchronously to both
	if len(mem.GetSpans()) != 1 || !strings.Contains(buf.String(), `"both"`) {
		t.Errorf("in-memory got %d spans, stdout %d bytes: want the span in both", len(mem.GetSpans()), buf.Len())
	}
}
