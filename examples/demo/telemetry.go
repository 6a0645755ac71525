package demo

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprop "go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerdev/tracer/propagation"
	"github.com/tracerdev/tracer/sdk"
)

// Telemetry says how a service reports its spans.
type Telemetry struct {
	// Collector is the OTLP/gRPC endpoint (host:port) spans are sent to,
	// without TLS; empty means the OTEL_EXPORTER_OTLP_* variables, whose
	// default is localhost:4317.
	Collector string
	// Skew shifts every timestamp the service reports (span starts and ends,
	// event times) by this much, as a host whose clock is off would. The
	// demo sets it on one service so that the skew analysis has something
	// real to find.
	Skew time.Duration
	// InstanceID is the service.instance.id, and so the service's node in
	// the vector clock; empty generates one.
	InstanceID string
	// Exporter, when set, receives the spans instead of OTLP (Collector is
	// then ignored), still shifted by Skew: tests collect spans in memory
	// with it. The provider's Shutdown shuts it down.
	Exporter sdktrace.SpanExporter
	// BatchTimeout is the longest a span waits before it is exported; 0
	// means the SDK's default (5s, or OTEL_BSP_SCHEDULE_DELAY). The demo
	// shortens it so that traces show up at once.
	BatchTimeout time.Duration
}

// NewProvider returns the TracerProvider of one service: Tracer's SDK (spans
// carry the vector clock) exporting OTLP/gRPC as t says. Shut it down to
// flush its spans.
func NewProvider(ctx context.Context, service string, t Telemetry) (*sdktrace.TracerProvider, error) {
	exp := t.Exporter
	if exp == nil {
		var opts []otlptracegrpc.Option
		if t.Collector != "" {
			opts = append(opts, otlptracegrpc.WithEndpoint(t.Collector), otlptracegrpc.WithInsecure())
		}
		var err error
		if exp, err = otlptracegrpc.New(ctx, opts...); err != nil {
			return nil, fmt.Errorf("%s: otlp exporter: %w", service, err)
		}
	}
	sopts := []sdk.Option{sdk.WithServiceName(service)}
	if t.BatchTimeout > 0 {
		bsp := sdktrace.NewBatchSpanProcessor(Skew(exp, t.Skew), sdktrace.WithBatchTimeout(t.BatchTimeout))
		sopts = append(sopts, sdk.WithoutExporter(), sdk.WithSpanProcessor(bsp))
	} else {
		sopts = append(sopts, sdk.WithExporter(Skew(exp, t.Skew)))
	}
	if t.InstanceID != "" {
		sopts = append(sopts, sdk.WithInstanceID(t.InstanceID))
	}
	tp, err := sdk.New(ctx, sopts...)
	if err != nil {
		_ = exp.Shutdown(ctx)
		return nil, err
	}
	return tp, nil
}

// Propagator is what every example service propagates: W3C trace context,
// baggage and Tracer's clock.
func Propagator() otelprop.TextMapPropagator { return propagation.Default() }

// Skew returns next with every span's timestamps shifted by d (next itself
// when d is 0).
func Skew(next sdktrace.SpanExporter, d time.Duration) sdktrace.SpanExporter {
	if d == 0 {
		return next
	}
	return skewExporter{next: next, d: d}
}

type skewExporter struct {
	next sdktrace.SpanExporter
	d    time.Duration
}

func (e skewExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	shifted := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		shifted[i] = skewedSpan{ReadOnlySpan: s, d: e.d}
	}
	return e.next.ExportSpans(ctx, shifted)
}

func (e skewExporter) Shutdown(ctx context.Context) error { return e.next.Shutdown(ctx) }

// skewedSpan is a span whose clock is off by d.
type skewedSpan struct {
	sdktrace.ReadOnlySpan
	d time.Duration
}

func (s skewedSpan) StartTime() time.Time { return s.ReadOnlySpan.StartTime().Add(s.d) }
func (s skewedSpan) EndTime() time.Time   { return s.ReadOnlySpan.EndTime().Add(s.d) }

func (s skewedSpan) Events() []sdktrace.Event {
	events := s.ReadOnlySpan.Events()
	if len(events) == 0 {
		return events
	}
	out := make([]sdktrace.Event, len(events))
	for i, ev := range events {
		ev.Time = ev.Time.Add(s.d)
		out[i] = ev
	}
	return out
}
