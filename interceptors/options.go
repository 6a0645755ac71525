package interceptors

import (
	"strings"

	"go.opentelemetry.io/otel"
	otelprop "go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the spans this package makes.
const ScopeName = "github.com/tracerdev/tracer/interceptors"

// Filter decides from a call's full method name ("/pkg.Service/Method")
// whether to trace it.
type Filter func(fullMethod string) bool

// DefaultFilter traces every call except gRPC health checks and server
// reflection.
func DefaultFilter(fullMethod string) bool {
	return !strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") &&
		!strings.HasPrefix(fullMethod, "/grpc.reflection.v1.ServerReflection/") &&
		!strings.HasPrefix(fullMethod, "/grpc.reflection.v1alpha.ServerReflection/")
}

// Any returns a filter that traces a call when any of fs does.
func Any(fs ...Filter) Filter {
	return func(m string) bool {
		for _, f := range fs {
			if f(m) {
				return true
			}
		}
		return false
	}
}

// All returns a filter that traces a call when all of fs do.
func All(fs ...Filter) Filter {
	return func(m string) bool {
		for _, f := range fs {
			if !f(m) {
				return false
			}
		}
		return true
	}
}

// Not inverts f.
func Not(f Filter) Filter { return func(m string) bool { return !f(m) } }

type config struct {
	tp            trace.TracerProvider
	prop          otelprop.TextMapPropagator
	filter        Filter
	spanName      func(fullMethod string) string
	messageEvents bool
}

// Option configures a handler or interceptor.
type Option interface{ apply(config) config }

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithTracerProvider sets the provider (default: the global one, looked up
// when the handler is made).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c config) config {
		if tp != nil {
			c.tp = tp
		}
		return c
	})
}

// WithPropagators sets the propagators of request metadata (default: the
// global propagator). The response clock always travels in
// propagation.Header.
func WithPropagators(p otelprop.TextMapPropagator) Option {
	return optionFunc(func(c config) config {
		if p != nil {
			c.prop = p
		}
		return c
	})
}

// WithFilter sets which calls are traced (default DefaultFilter); nil
// traces every call.
func WithFilter(f Filter) Option {
	return optionFunc(func(c config) config {
		c.filter = f
		return c
	})
}

// WithSpanNameFormatter names spans (default: the full method without its
// leading slash, "pkg.Service/Method").
func WithSpanNameFormatter(f func(fullMethod string) string) Option {
	return optionFunc(func(c config) config {
		if f != nil {
			c.spanName = f
		}
		return c
	})
}

// WithMessageEvents records an event with the message's size for every
// message sent and received (default off).
func WithMessageEvents(on bool) Option {
	return optionFunc(func(c config) config {
		c.messageEvents = on
		return c
	})
}

func newConfig(opts []Option) config {
	c := config{filter: DefaultFilter}
	for _, o := range opts {
		c = o.apply(c)
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.prop == nil {
		c.prop = otel.GetTextMapPropagator()
	}
	return c
}
