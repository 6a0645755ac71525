package sdk

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	otelprop "go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/tracerdev/tracer/exporter/otlp"
	"github.com/tracerdev/tracer/internal/vcstate"
	"github.com/tracerdev/tracer/propagation"
	"github.com/tracerdev/tracer/vclock"
)

// New returns a TracerProvider for the service, with the clock processor in
// front of the exporter. Shut it down (tp.Shutdown) to flush spans at exit.
func New(ctx context.Context, opts ...Option) (*sdktrace.TracerProvider, error) {
	var c config
	for _, o := range opts {
		c = o.apply(c)
	}
	res, instanceID, err := newResource(ctx, c)
	if err != nil {
		return nil, err
	}
	node := c.nodeID
	if node == "" {
		node = NodeID(instanceID)
	} else if !vclock.ValidNode(node) {
		return nil, fmt.Errorf("sdk: node id %q: want 1 to %d characters from [A-Za-z0-9._-]", node, vclock.MaxNodeLen)
	}

	var prop otelprop.TextMapPropagator
	if c.global {
		if prop, err = propagation.FromEnv(); err != nil {
			return nil, fmt.Errorf("sdk: %w", err)
		}
	}

	// Exporter options (WithOTLPGRPC, ...) add to WithExporter's; the
	// environment's choice applies only when no option names one.
	kinds := c.kinds
	if len(kinds) == 0 && len(c.exporters) == 0 && !c.noEnv {
		if kinds, err = envExporters(); err != nil {
			return nil, err
		}
	}
	exporters := c.exporters
	for _, k := range kinds {
		e, err := newExporter(ctx, c, k)
		if err != nil {
			for _, made := range exporters[len(c.exporters):] {
				_ = made.Shutdown(ctx)
			}
			return nil, err
		}
		exporters = append(exporters[:len(exporters):len(exporters)], e)
	}
	downstream := append([]sdktrace.SpanProcessor(nil), c.processors...)
	for _, e := range exporters {
		if c.syncExport {
			downstream = append(downstream, sdktrace.NewSimpleSpanProcessor(e))
		} else {
			downstream = append(downstream, sdktrace.NewBatchSpanProcessor(e))
		}
	}
	var next sdktrace.SpanProcessor
	switch len(downstream) {
	case 0:
	case 1:
		next = downstream[0]
	default:
		next = fanout(downstream)
	}

	popts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSpanProcessor(NewProcessor(node, next, WithProcessorClockLimit(c.clockLimit),
			WithProcessorClockState(c.stateSpans, c.stateIdle))),
	}
	if c.sampler != nil {
		popts = append(popts, sdktrace.WithSampler(c.sampler))
	}
	if c.limits != nil {
		// Its deprecation is upstream's preference for WithRawSpanLimits;
		// our option of the same name keeps its meaning (defaults for unset
		// fields, sdk/trace/provider.go), and this call keeps those defaults
		// upstream's.
		//lint:ignore SA1019 see above
		popts = append(popts, sdktrace.WithSpanLimits(*c.limits))
	}
	popts = append(popts, c.providerOpts...)
	tp := sdktrace.NewTracerProvider(popts...)
	if c.global {
		otel.SetTracerProvider(tp)
		otel.SetTextMapPropagator(prop)
	}
	return tp, nil
}

// newResource merges, lowest first: the SDK defaults, the environment, the
// options. It returns the resource and its service.instance.id.
func newResource(ctx context.Context, c config) (*resource.Resource, string, error) {
	env, err := resource.New(ctx, resource.WithFromEnv())
	if err != nil {
		return nil, "", fmt.Errorf("sdk: resource from environment: %w", err)
	}
	instanceID := c.instanceID
	if instanceID == "" {
		if v, ok := env.Set().Value(semconv.ServiceInstanceIDKey); ok {
			instanceID = v.String()
		} else {
			instanceID = uuid.NewString()
		}
	}
	attrs := []attribute.KeyValue{semconv.ServiceInstanceID(instanceID)}
	if c.serviceName != "" {
		attrs = append(attrs, semconv.ServiceName(c.serviceName))
	}
	attrs = append(attrs, c.attrs...)
	own := resource.NewSchemaless(attrs...)
	res, err := resource.Merge(resource.Default(), env)
	if err != nil {
		return nil, "", fmt.Errorf("sdk: resource: %w", err)
	}
	res, err = resource.Merge(res, own)
	if err != nil {
		return nil, "", fmt.Errorf("sdk: resource: %w", err)
	}
	return res, instanceID, nil
}

// SpanClock rebuilds the clocks a span recorded from its attributes (those
// of an sdktrace.ReadOnlySpan or a tracetest.SpanStub) with
// vclock.FromAttributes; vclock.ErrNoClock when it has none.
func SpanClock(attrs []attribute.KeyValue) (vclock.SpanClock, error) {
	return vclock.FromAttributes(func(key string) (string, bool) {
		for _, a := range attrs {
			if string(a.Key) == key {
				return a.Value.String(), true
			}
		}
		return "", false
	})
}

// NodeID derives a clock node id from a service.instance.id: the id itself
// when it is a valid node id of at most 24 characters, else a 16-digit hex
// FNV-1a hash of it.
func NodeID(instanceID string) string {
	if len(instanceID) <= 24 && vclock.ValidNode(instanceID) {
		return instanceID
	}
	h := fnv.New64a()
	h.Write([]byte(instanceID))
	return fmt.Sprintf("%016x", h.Sum64())
}

// envExporters returns the exporters that OTEL_TRACES_EXPORTER names: a
// comma-separated list of "otlp" (the default), "console" and "none" (alone:
// no exporter), as the OpenTelemetry specification's exporter selection
// says; "otlp" takes its protocol from OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
// or OTEL_EXPORTER_OTLP_PROTOCOL ("grpc", "http/protobuf"; the
// specification's default is http/protobuf). Values follow
// go.opentelemetry.io/contrib/exporters/autoexport (spans.go), which takes
// one name only.
func envExporters() ([]string, error) {
	v := os.Getenv("OTEL_TRACES_EXPORTER")
	if strings.Trim(v, " ,") == "" {
		v = "otlp"
	}
	var kinds []string
	var errs []error
	none := false
	for _, name := range strings.Split(v, ",") {
		switch name = strings.ToLower(strings.TrimSpace(name)); name {
		case "":
		case "otlp":
			proto := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
			if proto == "" {
				proto = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
			}
			switch proto {
			case "", "http/protobuf":
				kinds = addKind(kinds, "otlp-http")
			case "grpc":
				kinds = addKind(kinds, "otlp-grpc")
			default:
				errs = append(errs, fmt.Errorf("sdk: OTEL_EXPORTER_OTLP_PROTOCOL=%q: want grpc or http/protobuf", proto))
			}
		case "console":
			kinds = addKind(kinds, "stdout")
		case "none":
			none = true
		default:
			errs = append(errs, fmt.Errorf("sdk: OTEL_TRACES_EXPORTER=%q: unknown exporter %q, want otlp, console or none", v, name))
		}
	}
	if none && (len(kinds) > 0 || len(errs) > 0) {
		errs = append(errs, fmt.Errorf("sdk: OTEL_TRACES_EXPORTER=%q: none cannot be combined with other exporters", v))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return kinds, nil
}

// newExporter makes the exporter of kind ("otlp-grpc", "otlp-http",
// "stdout") with the options' settings.
func newExporter(ctx context.Context, c config, kind string) (sdktrace.SpanExporter, error) {
	switch kind {
	case "otlp-grpc":
		e, err := otlptracegrpc.New(ctx, c.grpcOpts...)
		if err != nil {
			return nil, fmt.Errorf("sdk: otlp grpc exporter: %w", err)
		}
		return e, nil
	case "otlp-reliable":
		e, err := otlp.New(ctx, c.reliableOpts...)
		if err != nil {
			return nil, fmt.Errorf("sdk: reliable otlp exporter: %w", err)
		}
		return e, nil
	case "otlp-http":
		e, err := otlptracehttp.New(ctx, c.httpOpts...)
		if err != nil {
			return nil, fmt.Errorf("sdk: otlp http exporter: %w", err)
		}
		return e, nil
	default:
		sopts := []stdouttrace.Option{stdouttrace.WithPrettyPrint()}
		if c.stdout != nil {
			sopts = append(sopts, stdouttrace.WithWriter(c.stdout))
		}
		e, err := stdouttrace.New(sopts...)
		if err != nil {
			return nil, fmt.Errorf("sdk: stdout exporter: %w", err)
		}
		return e, nil
	}
}

// ProcessorOption configures NewProcessor.
type ProcessorOption interface {
	applyProcessor(processorConfig) processorConfig
}

type processorConfig struct {
	limit    int
	maxSpans int
	maxIdle  time.Duration
}

type processorOptionFunc func(processorConfig) processorConfig

func (f processorOptionFunc) applyProcessor(c processorConfig) processorConfig { return f(c) }

// WithProcessorClockLimit bounds the clock's entries (default
// vclock.DefaultLimit, at most vclock.MaxLimit; see WithClockLimit).
func WithProcessorClockLimit(n int) ProcessorOption {
	return processorOptionFunc(func(c processorConfig) processorConfig {
		if n > 1 {
			c.limit = n
		}
		return c
	})
}

// WithProcessorClockState bounds the clock state the processor keeps (see
// WithClockState).
func WithProcessorClockState(maxSpans int, maxIdle time.Duration) ProcessorOption {
	return processorOptionFunc(func(c processorConfig) processorConfig {
		if maxSpans > 0 {
			c.maxSpans = maxSpans
		}
		if maxIdle > 0 {
			c.maxIdle = maxIdle
		}
		return c
	})
}

// NewProcessor returns the clock span processor for node, for those who
// build their own TracerProvider: it records the clock on every span and
// then hands the span to next (an exporting processor; nil for none). Put
// it in the provider instead of next, not beside it, so that next sees the
// end-of-span clock attributes. An invalid node id is replaced by its hash
// (see NodeID).
func NewProcessor(node string, next sdktrace.SpanProcessor, opts ...ProcessorOption) sdktrace.SpanProcessor {
	c := processorConfig{limit: vclock.DefaultLimit}
	for _, o := range opts {
		c = o.applyProcessor(c)
	}
	if !vclock.ValidNode(node) {
		node = NodeID(node)
	}
	return vcstate.NewProcessor(vcstate.Config{Node: node, Limit: c.limit, MaxSpans: c.maxSpans, MaxIdle: c.maxIdle}, next)
}

// fanout passes every call to each processor in order.
type fanout []sdktrace.SpanProcessor

func (f fanout) OnStart(ctx context.Context, s sdktrace.ReadWriteSpan) {
	for _, p := range f {
		p.OnStart(ctx, s)
	}
}

func (f fanout) OnEnd(s sdktrace.ReadOnlySpan) {
	for _, p := range f {
		p.OnEnd(s)
	}
}

func (f fanout) Shutdown(ctx context.Context) error {
	var errs []error
	for _, p := range f {
		errs = append(errs, p.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

func (f fanout) ForceFlush(ctx context.Context) error {
	var errs []error
	for _, p := range f {
		errs = append(errs, p.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}
