package sdk_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprop "go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tracerdev/tracer/sdk"
	"github.com/tracerdev/tracer/vclock"
)

// WithSpanLimits fills unset fields with the defaults, as
// sdktrace.WithSpanLimits does (sdk/trace/provider.go), and the clock
// attributes survive a low attribute limit, first in line.
func TestSpanLimitsDefaultsAndClock(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp, err := sdk.New(context.Background(), sdk.WithExporter(exp), sdk.WithSyncExport(), sdk.WithNodeID("n"),
		sdk.WithSpanLimits(sdktrace.SpanLimits{AttributeCountLimit: 2}))
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Shutdown(context.Background())
	_, s := tp.Tracer("t").Start(context.Background(), "limited")
	s.SetAttributes(attribute.Int("a1", 1), attribute.Int("a2", 2), attribute.Int("a3", 3), attribute.Int("a4", 4), attribute.Int("a5", 5))
	s.AddEvent("kept")
	s.End()
	got := exp.GetSpans()[0]
	if len(got.Events) != 1 {
		t.Errorf("%d events, want 1: an unset EventCountLimit is the default, not 0", len(got.Events))
	}
	if got.DroppedAttributes != 3 {
		t.Errorf("dropped %d attributes, want 3", got.DroppedAttributes)
	}
	sc, err := sdk.SpanClock(got.Attributes)
	if err != nil || sc.Node != "n" || sc.Tick == 0 {
		t.Errorf("clock after the limit: %+v, %v", sc, err)
	}
	// A receiver that keeps only the first attributes (the collector keeps
	// 128) keeps the clock.
	if k := got.Attributes[0].Key; k != vclock.AttrNode {
		t.Errorf("first attribute %s, want %s", k, vclock.AttrNode)
	}
}

// Exporter options add up, in any order.
func TestExporterOptionsAddUp(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hits.Add(1)
	}))
	defer srv.Close()
	var buf bytes.Buffer
	tp, err := sdk.New(context.Background(), sdk.WithSyncExport(),
		sdk.WithStdout(&buf),
		sdk.WithOTLPHTTP(otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces")))
	if err != nil {
		t.Fatal(err)
	}
	_, s := tp.Tracer("t").Start(context.Background(), "twice")
	s.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"twice"`) {
		t.Errorf("stdout lacks the span: %q", buf.String())
	}
	if hits.Load() == 0 {
		t.Error("the OTLP endpoint got nothing")
	}
}

func TestTracesExporterList(t *testing.T) {
	tests := []struct {
		name, value, wantErr string
	}{
		{name: "otlp and console", value: "otlp,console"},
		{name: "spaces and case", value: " Console , otlp "},
		{name: "none", value: "none"},
		{name: "none with others", value: "none,console", wantErr: "none cannot be combined"},
		{name: "unknown in a list", value: "otlp,zipkin", wantErr: `"zipkin"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OTEL_TRACES_EXPORTER", tt.value)
			tp, err := sdk.New(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := tp.Shutdown(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestGlobalHonoursPropagatorsEnv(t *testing.T) {
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })
	t.Setenv("OTEL_PROPAGATORS", "b3")
	tp, err := sdk.New(context.Background(), sdk.WithoutExporter(), sdk.WithGlobal())
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Shutdown(context.Background())
	ctx, s := tp.Tracer("t").Start(context.Background(), "g")
	defer s.End()
	carrier := otelprop.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	if carrier.Get("b3") == "" || carrier.Get("traceparent") != "" {
		t.Errorf("injected %v, want b3 and no traceparent", carrier)
	}
	if carrier.Get("tracer-vclock") == "" {
		t.Errorf("injected %v, want the clock as well", carrier)
	}

	t.Setenv("OTEL_PROPAGATORS", "nonsense")
	if _, err := sdk.New(context.Background(), sdk.WithoutExporter(), sdk.WithGlobal()); err == nil {
		t.Error("New accepted an unknown propagator")
	}
}

type nilStringer struct{ s string }

func (n *nilStringer) String() string { return n.s }

type nilError struct{ s string }

func (n *nilError) Error() string { return n.s }

type panicky struct{}

func (panicky) String() string { panic("boom") }

func TestSetTagNeverPanics(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp, err := sdk.New(context.Background(), sdk.WithExporter(exp), sdk.WithSyncExport())
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Shutdown(context.Background())
	var ns *nilStringer
	var ne *nilError
	var stringer fmt.Stringer = ns
	var err1 error = ne
	tests := []struct {
		name  string
		key   string
		value any
	}{
		{"typed nil Stringer", "s", stringer},
		{"typed nil error", "e", err1},
		{"typed nil error as error tag", "error", err1},
		{"panicking String", "p", panicky{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, span := sdk.NewTracer(tp).StartSpan(context.Background(), tt.name)
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("SetTag(%q, %v) panicked: %v", tt.key, tt.name, r)
				}
			}()
			span.SetTag(tt.key, tt.value)
			span.Finish()
		})
	}
}
