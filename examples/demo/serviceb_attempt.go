package demo

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// attemptKey is the context key under which a retried call carries its
// attempt number (1 for the first) to the client span of that attempt.
type attemptKey struct{}

// keyAttempt is the attribute of a retried call's client spans.
const keyAttempt = attribute.Key("retry.attempt")

func withAttempt(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, attemptKey{}, n)
}

// attempts wraps tp so that the spans its tracers start in a context of
// withAttempt carry the attempt number: how the client spans that package
// interceptors starts for each attempt get it, the interceptors knowing
// nothing of retries.
func attempts(tp trace.TracerProvider) trace.TracerProvider { return attemptProvider{tp: tp} }

type attemptProvider struct {
	embedded.TracerProvider
	tp trace.TracerProvider
}

func (p attemptProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return attemptTracer{tr: p.tp.Tracer(name, opts...)}
}

type attemptTracer struct {
	embedded.Tracer
	tr trace.Tracer
}

func (t attemptTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if n, ok := ctx.Value(attemptKey{}).(int); ok {
		opts = append(opts, trace.WithAttributes(keyAttempt.Int(n)))
	}
	return t.tr.Start(ctx, name, opts...)
}

var (
	_ trace.TracerProvider = attemptProvider{}
	_ trace.Tracer         = attemptTracer{}
)
