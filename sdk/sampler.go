package sdk

import (
	"fmt"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// RateLimited returns a sampler that samples at most perSecond new traces
// per second (a token bucket holding one second's worth), and honours the
// parent's decision for spans with a parent, so a trace is kept or dropped
// whole. A perSecond of 0 or less samples no root.
func RateLimited(perSecond float64) sdktrace.Sampler {
	return sdktrace.ParentBased(newRateLimiter(perSecond, time.Now))
}

type rateLimiter struct {
	mu       sync.Mutex
	rate     float64 // tokens per second
	capacity float64
	tokens   float64
	last     time.Time
	now      func() time.Time
}

func newRateLimiter(perSecond float64, now func() time.Time) *rateLimiter {
	capacity := max(perSecond, 1)
	return &rateLimiter{rate: perSecond, capacity: capacity, tokens: capacity, last: now(), now: now}
}

func (r *rateLimiter) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	res := sdktrace.SamplingResult{
		Decision:   sdktrace.Drop,
		Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState(),
	}
	if r.rate <= 0 {
		return res
	}
	r.mu.Lock()
	now := r.now()
	r.tokens = min(r.capacity, r.tokens+now.Sub(r.last).Seconds()*r.rate)
	r.last = now
	if r.tokens >= 1 {
		r.tokens--
		res.Decision = sdktrace.RecordAndSample
	}
	r.mu.Unlock()
	return res
}

func (r *rateLimiter) Description() string {
	return fmt.Sprintf("RateLimited{%g/s}", r.rate)
}
