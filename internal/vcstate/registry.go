package vcstate

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/trace"
)

// providers maps a TracerProvider to the Processor that serves it. A
// processor registers itself at its first span, so that a propagator, which
// only sees a context, can find the clock of the span in it.
var providers sync.Map // trace.TracerProvider -> *Processor

// ForSpan returns the processor that recorded span, or nil.
func ForSpan(span trace.Span) *Processor {
	if !span.SpanContext().IsValid() {
		return nil
	}
	v, ok := providers.Load(span.TracerProvider())
	if !ok {
		return nil
	}
	return v.(*Processor)
}

// RequestText returns the clock to send with a request made from ctx: the
// clock recorded at the start of ctx's span (the request's causal past: not
// what other goroutines of the process learnt since), else the process's
// current clock for the trace, else a received clock passed on unchanged.
func RequestText(ctx context.Context) (string, bool) {
	span := trace.SpanFromContext(ctx)
	if p := ForSpan(span); p != nil {
		if t, ok := p.SpanText(span.SpanContext()); ok {
			return t, true
		}
		if t, ok := p.Text(span.SpanContext().TraceID()); ok {
			return t, true
		}
	}
	if in := InboundFrom(ctx); in != nil {
		return in.Text, true
	}
	return "", false
}

// ResponseText returns the clock to send back with a response from ctx: the
// process's current clock for the trace, so the caller learns everything
// this process did; else a received clock passed back unchanged.
func ResponseText(ctx context.Context) (string, bool) {
	span := trace.SpanFromContext(ctx)
	if p := ForSpan(span); p != nil {
		if t, ok := p.Text(span.SpanContext().TraceID()); ok {
			return t, true
		}
	}
	if in := InboundFrom(ctx); in != nil {
		return in.Text, true
	}
	return "", false
}

// Receive merges a clock from a response (validated text) into the clock of
// ctx's span's trace. It reports whether there was a clock to merge into.
func Receive(ctx context.Context, text string) bool {
	span := trace.SpanFromContext(ctx)
	p := ForSpan(span)
	if p == nil {
		return false
	}
	return p.Receive(span.SpanContext().TraceID(), text)
}
