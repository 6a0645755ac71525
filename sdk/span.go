package sdk

import (
	"context"
	"fmt"
	"reflect"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of spans started with StartSpan.
const ScopeName = "github.com/tracerdev/tracer/sdk"

// Span is an OpenTelemetry span with OpenTracing-style helpers. The embedded
// trace.Span is the real one: everything of the OpenTelemetry API works on
// it.
type Span struct {
	trace.Span
}

// StartSpan starts a span named operation as a child of the span in ctx,
// with the global tracer provider, and returns it with a context carrying
// it. Pass the context on to calls that should be its children.
func StartSpan(ctx context.Context, operation string, opts ...trace.SpanStartOption) (context.Context, *Span) {
	return NewTracer(otel.GetTracerProvider()).StartSpan(ctx, operation, opts...)
}

// SpanFromContext returns the span in ctx with the helpers.
func SpanFromContext(ctx context.Context) *Span {
	return &Span{Span: trace.SpanFromContext(ctx)}
}

// SetTag sets an attribute from any Go value: booleans, integers, floats,
// strings and their slices keep their type; an error is recorded as an
// exception event; anything else is formatted with fmt. As in OpenTracing,
// the tag "error" set to true marks the span as failed. A nil pointer in an
// interface (a typed nil) is a nil value, and a String or Error method that
// panics gives fmt's note of the panic: SetTag never panics.
func (s *Span) SetTag(key string, value any) *Span {
	if isNil(value) {
		value = nil
	}
	if key == "error" {
		switch v := value.(type) {
		case bool:
			if v {
				s.SetStatus(codes.Error, "")
			}
			return s
		case error:
			msg := s.recordError(v)
			s.SetStatus(codes.Error, msg)
			return s
		}
	}
	if err, ok := value.(error); ok {
		s.SetAttributes(attribute.String(key, s.recordError(err)))
		return s
	}
	s.SetAttributes(Attribute(key, value))
	return s
}

// recordError records err as an exception event and returns its message;
// an Error method that panics costs the event, not the caller.
func (s *Span) recordError(err error) string {
	msg := fmt.Sprint(err) // fmt recovers a panicking Error method
	func() {
		defer func() { _ = recover() }()
		s.RecordError(err)
	}()
	return msg
}

// isNil reports whether v is nil or a nil pointer.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// Finish ends the span.
func (s *Span) Finish() { s.End() }

// Attribute converts a Go value to an attribute, keeping the type where
// OpenTelemetry has one.
func Attribute(key string, value any) attribute.KeyValue {
	switch v := value.(type) {
	case nil:
		return attribute.String(key, "")
	case string:
		return attribute.String(key, v)
	case bool:
		return attribute.Bool(key, v)
	case int:
		return attribute.Int(key, v)
	case int8:
		return attribute.Int64(key, int64(v))
	case int16:
		return attribute.Int64(key, int64(v))
	case int32:
		return attribute.Int64(key, int64(v))
	case int64:
		return attribute.Int64(key, v)
	case uint8:
		return attribute.Int64(key, int64(v))
	case uint16:
		return attribute.Int64(key, int64(v))
	case uint32:
		return attribute.Int64(key, int64(v))
	case uint:
		return uintAttr(key, uint64(v))
	case uint64:
		return uintAttr(key, v)
	case float32:
		return attribute.Float64(key, float64(v))
	case float64:
		return attribute.Float64(key, v)
	case []string:
		return attribute.StringSlice(key, v)
	case []bool:
		return attribute.BoolSlice(key, v)
	case []int:
		return attribute.IntSlice(key, v)
	case []int64:
		return attribute.Int64Slice(key, v)
	case []float64:
		return attribute.Float64Slice(key, v)
	case fmt.Stringer:
		return attribute.String(key, fmt.Sprint(v)) // fmt recovers a panicking String method
	default:
		return attribute.String(key, fmt.Sprint(v))
	}
}

// uintAttr keeps a uint64 as an int when it fits, else as its decimal text.
func uintAttr(key string, v uint64) attribute.KeyValue {
	if v <= 1<<63-1 {
		return attribute.Int64(key, int64(v))
	}
	return attribute.String(key, fmt.Sprint(v))
}

// Tracer starts Spans from one TracerProvider.
type Tracer struct {
	tracer trace.Tracer
}

// NewTracer returns a Tracer on tp with the scope ScopeName.
func NewTracer(tp trace.TracerProvider) *Tracer {
	return &Tracer{tracer: tp.Tracer(ScopeName)}
}

// StartSpan starts a span named operation as a child of the span in ctx.
func (t *Tracer) StartSpan(ctx context.Context, operation string, opts ...trace.SpanStartOption) (context.Context, *Span) {
	ctx, s := t.tracer.Start(ctx, operation, opts...)
	return ctx, &Span{Span: s}
}
