package sdk

import (
	"io"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerdev/tracer/exporter/otlp"
)

type config struct {
	serviceName  string
	instanceID   string
	nodeID       string
	attrs        []attribute.KeyValue
	sampler      sdktrace.Sampler
	limits       *sdktrace.SpanLimits
	exporters    []sdktrace.SpanExporter
	kinds        []string // exporters named by options, in order: "otlp-grpc", "otlp-http", "stdout"
	noEnv        bool     // WithoutExporter: OTEL_TRACES_EXPORTER is not consulted
	grpcOpts     []otlptracegrpc.Option
	httpOpts     []otlptracehttp.Option
	reliableOpts []otlp.Option // WithReliableOTLP
	stdout       io.Writer
	processors   []sdktrace.SpanProcessor
	syncExport   bool
	clockLimit   int
	stateSpans   int
	stateIdle    time.Duration
	global       bool
	providerOpts []sdktrace.TracerProviderOption
}

// Option configures New.
type Option interface{ apply(config) config }

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithServiceName sets service.name (default: OTEL_SERVICE_NAME, then
// OTEL_RESOURCE_ATTRIBUTES, then "unknown_service:<executable>").
func WithServiceName(name string) Option {
	return optionFunc(func(c config) config {
		if name != "" {
			c.serviceName = name
		}
		return c
	})
}

// WithInstanceID sets service.instance.id (default: from
// OTEL_RESOURCE_ATTRIBUTES, else a random UUID per provider).
func WithInstanceID(id string) Option {
	return optionFunc(func(c config) config {
		if id != "" {
			c.instanceID = id
		}
		return c
	})
}

// WithNodeID sets the process's node id in the vector clock: 1 to 64
// characters from [A-Za-z0-9._-]. By default it is the service.instance.id
// when that is such a string of at most 24 characters, else a 16-digit hex
// hash of it.
func WithNodeID(id string) Option {
	return optionFunc(func(c config) config {
		if id != "" {
			c.nodeID = id
		}
		return c
	})
}

// WithResourceAttributes adds resource attributes; they win over the
// environment's.
func WithResourceAttributes(attrs ...attribute.KeyValue) Option {
	return optionFunc(func(c config) config {
		c.attrs = append(c.attrs, attrs...)
		return c
	})
}

// WithSampler sets the sampler (default: OTEL_TRACES_SAMPLER, else
// parent-based always-on). Use sdktrace.AlwaysSample, NeverSample,
// TraceIDRatioBased and ParentBased, or RateLimited.
func WithSampler(s sdktrace.Sampler) Option {
	return optionFunc(func(c config) config {
		if s != nil {
			c.sampler = s
		}
		return c
	})
}

// WithSpanLimits sets span limits (default: OTEL_SPAN_*_LIMIT, else the
// OpenTelemetry defaults). As with sdktrace.WithSpanLimits, a field that is
// zero or negative gets the OpenTelemetry default; for zero or unlimited
// limits pass sdktrace.WithRawSpanLimits through WithProviderOptions. The
// clock attributes do not count against AttributeCountLimit.
func WithSpanLimits(l sdktrace.SpanLimits) Option {
	return optionFunc(func(c config) config {
		c.limits = &l
		return c
	})
}

// WithExporter sends spans to e, in batches (or synchronously with
// WithSyncExport). It replaces the exporters chosen from the environment;
// several WithExporter options, and WithOTLPGRPC, WithOTLPHTTP or
// WithStdout next to them, send to each.
func WithExporter(e sdktrace.SpanExporter) Option {
	return optionFunc(func(c config) config {
		if e != nil {
			c.exporters = append(c.exporters, e)
		}
		return c
	})
}

// WithOTLPGRPC exports with OTLP over gRPC (default endpoint
// localhost:4317, or OTEL_EXPORTER_OTLP_ENDPOINT and friends), besides the
// other exporters named by options. Given twice, the later options win.
func WithOTLPGRPC(opts ...otlptracegrpc.Option) Option {
	return optionFunc(func(c config) config {
		c.kinds, c.grpcOpts = addKind(c.kinds, "otlp-grpc"), opts
		return c
	})
}

// WithOTLPHTTP exports with OTLP over HTTP/protobuf (default endpoint
// localhost:4318, or OTEL_EXPORTER_OTLP_ENDPOINT and friends), besides the
// other exporters named by options. Given twice, the later options win.
func WithOTLPHTTP(opts ...otlptracehttp.Option) Option {
	return optionFunc(func(c config) config {
		c.kinds, c.httpOpts = addKind(c.kinds, "otlp-http"), opts
		return c
	})
}

// WithReliableOTLP exports with Tracer's reliable OTLP exporter
// (exporter/otlp): a bounded memory queue that never blocks span.End(),
// spilling to a disk spool with otlp.WithSpool, circuit breakers, retries
// and failover over otlp.WithGRPCEndpoint / WithHTTPEndpoint endpoints (by
// default OTEL_EXPORTER_OTLP_ENDPOINT and friends, as WithOTLPGRPC reads
// them), besides the other exporters named by options. Given twice, the
// later options win. The provider's Shutdown shuts it down, leaving what it
// could not send in its spool.
func WithReliableOTLP(opts ...otlp.Option) Option {
	return optionFunc(func(c config) config {
		c.kinds, c.reliableOpts = addKind(c.kinds, "otlp-reliable"), opts
		return c
	})
}

// WithStdout writes spans as indented JSON to w (os.Stdout if nil), for
// development, besides the other exporters named by options.
func WithStdout(w io.Writer) Option {
	return optionFunc(func(c config) config {
		c.kinds, c.stdout = addKind(c.kinds, "stdout"), w
		return c
	})
}

func addKind(kinds []string, k string) []string {
	for _, have := range kinds {
		if have == k {
			return kinds
		}
	}
	return append(kinds[:len(kinds):len(kinds)], k)
}

// WithoutExporter makes New set up none of the exporters that the
// environment or the options before it (WithOTLPGRPC, WithOTLPHTTP,
// WithStdout) name; exporters given with WithExporter and processors given
// with WithSpanProcessor still get spans.
func WithoutExporter() Option {
	return optionFunc(func(c config) config {
		c.kinds, c.noEnv = nil, true
		return c
	})
}

// WithSpanProcessor adds a processor after the clock processor, so it sees
// spans with their clock attributes.
func WithSpanProcessor(p sdktrace.SpanProcessor) Option {
	return optionFunc(func(c config) config {
		if p != nil {
			c.processors = append(c.processors, p)
		}
		return c
	})
}

// WithSyncExport exports each span as it ends instead of in batches. It is
// for tests and examples; production wants batches.
func WithSyncExport() Option {
	return optionFunc(func(c config) config {
		c.syncExport = true
		return c
	})
}

// WithClockLimit bounds the number of entries of the vector clock (default
// vclock.DefaultLimit; at most vclock.MaxLimit, the ceiling every reader of
// a clock accepts, and larger n is lowered to it). Past it the smallest
// entries are dropped and the clock is marked pruned.
func WithClockLimit(n int) Option {
	return optionFunc(func(c config) config {
		if n > 1 {
			c.clockLimit = n
		}
		return c
	})
}

// WithClockState bounds the per-trace clock state the provider keeps for
// open spans: at most maxSpans open spans (default 32768, about 230 bytes
// each), and a trace's state is dropped when no span of it started for
// maxIdle (default 30 minutes). A span whose state was dropped ends without
// clock attributes; such spans are counted by the metric
// tracer.sdk.clock.evicted_spans of the global MeterProvider. The state is
// kept in 16 shards by trace id, so one trace keeps at most maxSpans/16 open
// spans' clocks. Zero or negative values keep the defaults.
func WithClockState(maxSpans int, maxIdle time.Duration) Option {
	return optionFunc(func(c config) config {
		if maxSpans > 0 {
			c.stateSpans = maxSpans
		}
		if maxIdle > 0 {
			c.stateIdle = maxIdle
		}
		return c
	})
}

// WithGlobal makes New install the provider as the global tracer provider
// and, as the global propagator, those named by OTEL_PROPAGATORS with the
// clock added (see propagation.FromEnv), else propagation.Default (trace
// context, baggage, clock).
func WithGlobal() Option {
	return optionFunc(func(c config) config {
		c.global = true
		return c
	})
}

// WithProviderOptions passes options to sdktrace.NewTracerProvider, for
// what this package does not wrap (an ID generator, say). They are applied
// after New's own and win over them.
func WithProviderOptions(opts ...sdktrace.TracerProviderOption) Option {
	return optionFunc(func(c config) config {
		c.providerOpts = append(c.providerOpts, opts...)
		return c
	})
}
