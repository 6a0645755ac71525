package propagation

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/propagators/b3"
	"go.opentelemetry.io/contrib/propagators/jaeger"
	"go.opentelemetry.io/otel/propagation"
)

// Default returns W3C trace context (Level 2, see TraceContext), W3C
// baggage and the vector clock, in that order.
func Default() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(
		TraceContext{}, propagation.Baggage{}, NewVClock())
}

// ByName returns the composite of the named propagators, in order. Names
// follow OTEL_PROPAGATORS: "tracecontext", "baggage", "b3" (single header),
// "b3multi", "jaeger", plus "vclock" for Tracer's clock; "tracecontext" is
// this package's TraceContext (W3C Trace Context Level 2); "none" alone
// returns a propagator that does nothing.
func ByName(names ...string) (propagation.TextMapPropagator, error) {
	var ps []propagation.TextMapPropagator
	var errs []error
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		switch n {
		case "tracecontext":
			ps = append(ps, TraceContext{})
		case "baggage":
			ps = append(ps, propagation.Baggage{})
		case "vclock":
			ps = append(ps, NewVClock())
		case "b3":
			ps = append(ps, b3.New(b3.WithInjectEncoding(b3.B3SingleHeader)))
		case "b3multi":
			ps = append(ps, b3.New(b3.WithInjectEncoding(b3.B3MultipleHeader)))
		case "jaeger":
			ps = append(ps, jaeger.Jaeger{})
		case "none":
			if len(names) > 1 {
				errs = append(errs, errors.New(`propagator "none" cannot be combined with others`))
			}
		default:
			errs = append(errs, fmt.Errorf("unknown propagator %q (known: tracecontext, baggage, vclock, b3, b3multi, jaeger, none)", n))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return propagation.NewCompositeTextMapPropagator(ps...), nil
}

// FromEnv returns the propagators named in OTEL_PROPAGATORS (a comma
// separated list, see ByName), or Default when it is unset. Tracer's clock
// is added when the list does not name it and is not "none".
func FromEnv() (propagation.TextMapPropagator, error) {
	v := strings.TrimSpace(os.Getenv("OTEL_PROPAGATORS"))
	if v == "" {
		return Default(), nil
	}
	names := strings.Split(v, ",")
	hasClock, none := false, false
	for _, n := range names {
		switch strings.ToLower(strings.TrimSpace(n)) {
		case "vclock":
			hasClock = true
		case "none":
			none = true
		}
	}
	if !hasClock && !none {
		names = append(names, "vclock")
	}
	p, err := ByName(names...)
	if err != nil {
		return nil, fmt.Errorf("OTEL_PROPAGATORS: %w", err)
	}
	return p, nil
}
