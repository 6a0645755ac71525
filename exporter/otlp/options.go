package otlp

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/tracerdev/tracer/exporter/send"
	"github.com/tracerdev/tracer/wal"
)

// Defaults.
const (
	DefaultQueueBytes     = 32 << 20
	DefaultQueueSpans     = 100_000
	DefaultSendBatchBytes = 2 << 20
	DefaultSendBatchSpans = 8192
	DefaultSpoolBytes     = 1 << 30
	// DefaultMaxElapsed bounds how long one send retries (send's
	// Retry.MaxElapsed) before the exporter counts the endpoints down and
	// spills: the sender then retries from the spool.
	DefaultMaxElapsed = 5 * time.Second
)

type config struct {
	endpoints   []send.Endpoint
	headers     map[string]string
	tls         *tls.Config
	insecure    *bool
	compression *string
	spread      bool
	timeout     time.Duration
	retry       send.RetryConfig
	breaker     send.BreakerConfig

	queueBytes, queueSpans int64
	batchBytes, batchSpans int64

	spoolDir      string
	spoolBytes    int64
	spoolSync     wal.SyncPolicy
	spoolInterval time.Duration

	retryPause time.Duration

	meterProvider metric.MeterProvider
	logger        *slog.Logger

	sender sender // tests: replaces send.New
}

// Option configures New.
type Option interface{ apply(config) config }

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// WithEndpoints adds endpoints, in failover order, after those of earlier
// options. Fields an endpoint leaves zero (Headers, TLS, Compression) take
// WithHeaders', WithTLS' and WithCompression's values; WithInsecure sets
// Insecure on every endpoint. Without any endpoint New reads the
// environment as otlptracegrpc and otlptracehttp do.
func WithEndpoints(eps ...send.Endpoint) Option {
	return optionFunc(func(c config) config {
		c.endpoints = append(c.endpoints[:len(c.endpoints):len(c.endpoints)], eps...)
		return c
	})
}

// WithGRPCEndpoint adds an OTLP/gRPC endpoint, host:port.
func WithGRPCEndpoint(hostport string) Option {
	return WithEndpoints(send.Endpoint{Address: hostport, Protocol: send.GRPC})
}

// WithHTTPEndpoint adds an OTLP/HTTP endpoint, the URL of the traces route
// ("http://host:4318/v1/traces"; without a path /v1/traces is added).
func WithHTTPEndpoint(rawURL string) Option {
	return WithEndpoints(send.Endpoint{Address: rawURL, Protocol: send.HTTPProtobuf})
}

// WithHeaders sets headers (gRPC metadata or HTTP headers) sent with every
// request. The map is copied.
func WithHeaders(h map[string]string) Option {
	return optionFunc(func(c config) config {
		c.headers = make(map[string]string, len(h))
		for k, v := range h {
			c.headers[k] = v
		}
		return c
	})
}

// WithTLS sets the client TLS configuration (nil: the system's roots).
func WithTLS(cfg *tls.Config) Option {
	return optionFunc(func(c config) config {
		if cfg != nil {
			c.tls = cfg.Clone()
		}
		return c
	})
}

// WithInsecure sends in plain text (gRPC without TLS).
func WithInsecure() Option {
	return optionFunc(func(c config) config {
		t := true
		c.insecure = &t
		return c
	})
}

// WithCompression sets the compression: "gzip" or "none".
func WithCompression(name string) Option {
	return optionFunc(func(c config) config {
		if name == "none" {
			name = ""
		}
		c.compression = &name
		return c
	})
}

// WithSpread sends each request to the next healthy endpoint in turn
// instead of the first healthy one.
func WithSpread() Option {
	return optionFunc(func(c config) config {
		c.spread = true
		return c
	})
}

// WithTimeout bounds one attempt (default send's 10s).
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c config) config {
		if d > 0 {
			c.timeout = d
		}
		return c
	})
}

// WithRetry sets the backoff between the attempts of one send. Its
// MaxElapsed, when zero, is DefaultMaxElapsed: past it the exporter spills
// what it holds and retries later from the spool.
func WithRetry(r send.RetryConfig) Option {
	return optionFunc(func(c config) config {
		c.retry = r
		return c
	})
}

// WithBreaker configures each endpoint's circuit breaker.
func WithBreaker(b send.BreakerConfig) Option {
	return optionFunc(func(c config) config {
		c.breaker = b
		return c
	})
}

// WithQueue bounds the memory queue: encoded bytes and spans, counting the
// requests being sent or spilled (defaults DefaultQueueBytes,
// DefaultQueueSpans). With a spool, the queue spills its oldest requests
// once it holds half of either bound; it reaches the bound only when the
// disk is slower than the spans come, and then ExportSpans writes to the
// spool itself. Without a spool, the oldest requests are dropped to make
// room, and counted (reason "queue_full"). Zero or negative values keep the
// defaults.
func WithQueue(maxBytes int64, maxSpans int) Option {
	return optionFunc(func(c config) config {
		if maxBytes > 0 {
			c.queueBytes = maxBytes
		}
		if maxSpans > 0 {
			c.queueSpans = int64(maxSpans)
		}
		return c
	})
}

// WithSendBatch bounds one request: consecutive queued batches are sent
// (and spilled) together up to maxBytes and maxSpans (defaults
// DefaultSendBatchBytes, DefaultSendBatchSpans). A batch larger than the
// bound goes alone.
func WithSendBatch(maxBytes int64, maxSpans int) Option {
	return optionFunc(func(c config) config {
		if maxBytes > 0 {
			c.batchBytes = maxBytes
		}
		if maxSpans > 0 {
			c.batchSpans = int64(maxSpans)
		}
		return c
	})
}

// WithSpool keeps what the memory queue cannot hold, and what could not be
// sent, in a write-ahead log in dir, at most maxBytes of disk (default
// DefaultSpoolBytes for zero), replayed oldest first and on the next start.
// When it is full the oldest data is dropped and counted (reason
// "spool_full"). Without it the exporter keeps spans in memory only. One
// process at a time can use a dir.
func WithSpool(dir string, maxBytes int64) Option {
	return optionFunc(func(c config) config {
		c.spoolDir = dir
		if maxBytes > 0 {
			c.spoolBytes = maxBytes
		}
		return c
	})
}

// WithSpoolSync sets the spool's fsync policy: wal.SyncBatch (the default)
// fsyncs every spilled request, surviving a power loss; wal.SyncInterval
// fsyncs every interval (0: the WAL's default), surviving a crash of the
// process but perhaps not the last interval of a power loss.
func WithSpoolSync(p wal.SyncPolicy, interval time.Duration) Option {
	return optionFunc(func(c config) config {
		c.spoolSync, c.spoolInterval = p, interval
		return c
	})
}

// WithMeterProvider sets the provider of the exporter's metrics (and the
// sender's); default the global one.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c config) config {
		if mp != nil {
			c.meterProvider = mp
		}
		return c
	})
}

// WithLogger sets the logger; default slog.Default().
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c config) config {
		if l != nil {
			c.logger = l
		}
		return c
	})
}

// withSender replaces the sender made from the endpoints (tests).
func withSender(s sender) Option {
	return optionFunc(func(c config) config {
		c.sender = s
		return c
	})
}

// withRetryPause sets the pause after a failed send (tests).
func withRetryPause(d time.Duration) Option {
	return optionFunc(func(c config) config {
		c.retryPause = d
		return c
	})
}

func newConfig(opts []Option) (config, error) {
	var c config
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	if c.queueBytes == 0 {
		c.queueBytes = DefaultQueueBytes
	}
	if c.queueSpans == 0 {
		c.queueSpans = DefaultQueueSpans
	}
	if c.batchBytes == 0 {
		c.batchBytes = DefaultSendBatchBytes
	}
	if c.batchSpans == 0 {
		c.batchSpans = DefaultSendBatchSpans
	}
	if c.spoolBytes == 0 {
		c.spoolBytes = DefaultSpoolBytes
	}
	if c.retry.MaxElapsed == 0 {
		c.retry.MaxElapsed = DefaultMaxElapsed
	}
	if c.retryPause == 0 {
		c.retryPause = time.Second
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if c.sender != nil {
		return c, nil
	}
	if len(c.endpoints) == 0 {
		ep, err := envEndpoint(os.Getenv)
		if err != nil {
			return c, err
		}
		c.endpoints = []send.Endpoint{ep}
	}
	for i := range c.endpoints {
		ep := &c.endpoints[i]
		if ep.Address == "" {
			return c, fmt.Errorf("otlp: endpoint %d has no address", i+1)
		}
		switch ep.Protocol {
		case "":
			ep.Protocol = send.GRPC
		case send.GRPC, send.HTTPProtobuf:
		default:
			return c, fmt.Errorf("otlp: endpoint %s: protocol %q: want %q or %q", ep.Address, ep.Protocol, send.GRPC, send.HTTPProtobuf)
		}
		if ep.Headers == nil && c.headers != nil {
			ep.Headers = c.headers
		}
		if ep.TLS == nil && c.tls != nil {
			ep.TLS = c.tls
		}
		if c.insecure != nil {
			ep.Insecure = *c.insecure
		}
		if ep.Compression == "" && c.compression != nil {
			ep.Compression = *c.compression
		}
	}
	return c, nil
}

// envEndpoint reads the endpoint from the environment as otlptracegrpc and
// otlptracehttp do, following
// go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc@v1.47.0/internal/otlpconfig/envconfig.go
// (and internal/envconfig/envconfig.go for the headers): the TRACES_
// variables win over the general ones; OTEL_EXPORTER_OTLP_ENDPOINT is a
// base URL to which HTTP adds /v1/traces, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// is used as it is (an empty path becomes "/"); an http:// scheme means
// insecure, and _INSECURE says so for gRPC; _HEADERS is a comma-separated
// list of key=value with URL-escaped values; _COMPRESSION "gzip"; _PROTOCOL
// "grpc" (the default here, as in the sdk package) or "http/protobuf".
// Without an endpoint: localhost:4317 for gRPC, http://localhost:4318/v1/traces
// for HTTP.
func envEndpoint(getenv func(string) string) (send.Endpoint, error) {
	env := func(name string) (string, bool) {
		for _, n := range []string{"OTEL_EXPORTER_OTLP_TRACES_" + name, "OTEL_EXPORTER_OTLP_" + name} {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return v, true
			}
		}
		return "", false
	}
	ep := send.Endpoint{Protocol: send.GRPC}
	if p, ok := env("PROTOCOL"); ok {
		switch p {
		case "grpc":
		case "http/protobuf":
			ep.Protocol = send.HTTPProtobuf
		default:
			return ep, fmt.Errorf("otlp: OTEL_EXPORTER_OTLP_PROTOCOL=%q: want grpc or http/protobuf", p)
		}
	}
	var u *url.URL
	perSignal := false
	if v := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")); v != "" {
		pu, err := url.Parse(v)
		if err != nil {
			return ep, fmt.Errorf("otlp: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: %w", err)
		}
		u, perSignal = pu, true
	} else if v := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")); v != "" {
		pu, err := url.Parse(v)
		if err != nil {
			return ep, fmt.Errorf("otlp: OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
		}
		u = pu
	}
	insecure := false
	if u != nil {
		insecure = strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "unix")
	}
	if v, ok := env("INSECURE"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return ep, fmt.Errorf("otlp: OTEL_EXPORTER_OTLP_INSECURE=%q: want true or false", v)
		}
		insecure = b
	}
	ep.Insecure = insecure
	switch {
	case ep.Protocol == send.GRPC && u == nil:
		ep.Address = "localhost:4317"
	case ep.Protocol == send.GRPC:
		ep.Address = u.Host
		if u.Scheme == "" || u.Host == "" {
			// "host:port" parses as scheme "host"; take it as it is.
			ep.Address = strings.TrimPrefix(strings.TrimPrefix(u.String(), "//"), "/")
		}
	case u == nil:
		ep.Address = "http://localhost:4318/v1/traces"
		ep.Insecure = true
	default:
		p := u.Path
		if perSignal {
			if p == "" {
				p = "/"
			}
		} else {
			p = path.Join(u.Path, "/v1/traces")
		}
		scheme := u.Scheme
		if scheme == "" {
			scheme = "https"
		}
		if insecure {
			scheme = "http"
		}
		ep.Address = (&url.URL{Scheme: scheme, Host: u.Host, Path: p}).String()
	}
	if h, ok := env("HEADERS"); ok {
		ep.Headers = parseHeaders(h)
	}
	if c, ok := env("COMPRESSION"); ok && c == "gzip" {
		ep.Compression = "gzip"
	}
	return ep, nil
}

// parseHeaders parses "k1=v1,k2=v2" as envconfig's stringToHeader does:
// pairs without "=" or with an undecodable value are skipped.
func parseHeaders(v string) map[string]string {
	h := make(map[string]string)
	for _, pair := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(pair, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		dec, err := url.PathUnescape(val)
		if k == "" || err != nil {
			continue
		}
		h[k] = strings.TrimSpace(dec)
	}
	return h
}
