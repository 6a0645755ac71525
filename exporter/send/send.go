// Package send delivers OTLP trace requests, already encoded, to one or more
// OTLP endpoints (gRPC or HTTP) reliably: per endpoint a circuit breaker
// (closed, open, half-open with one probe), retries with exponential backoff
// and jitter that honour the server's RetryInfo (gRPC) and Retry-After
// (HTTP), an ordered list of endpoints with failover and fail-back, and
// optionally spreading requests over the healthy ones. Permanent errors
// (InvalidArgument, 400...) and the spans an OTLP partial success rejects
// are not retried, only counted.
//
// It is the sending half of the reliable exporter (exporter/otlp, which
// queues and spools) and of "tracer agent" (whose WAL is the queue). The
// bytes go out as they are: gRPC through a pass-through codec, HTTP as the
// body of POST /v1/traces.
//
// TODO(issue 15): the implementation; this file is the contract.
package send

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Protocol is an endpoint's OTLP transport.
type Protocol string

// The OTLP transports, named as OTEL_EXPORTER_OTLP_PROTOCOL names them.
const (
	GRPC         Protocol = "grpc"
	HTTPProtobuf Protocol = "http/protobuf"
)

// Endpoint is one OTLP destination.
type Endpoint struct {
	// Address is host:port for GRPC (4317), or the URL of the traces
	// route for HTTPProtobuf ("http://host:4318/v1/traces"; a URL without a
	// path gets /v1/traces).
	Address  string
	Protocol Protocol
	// Insecure uses plain text (gRPC) instead of TLS; an http:// URL is
	// plain text anyway.
	Insecure bool
	// TLS is the client TLS configuration; nil means the system's roots.
	TLS *tls.Config
	// Headers are sent with every request (gRPC metadata or HTTP headers).
	Headers map[string]string
	// Compression is "gzip" or "" (none).
	Compression string
}

// RetryConfig is the backoff between attempts of one Send.
type RetryConfig struct {
	InitialInterval time.Duration // default 100ms
	MaxInterval     time.Duration // default 5s
	Multiplier      float64       // default 2
	// MaxElapsed bounds one Send's attempts; 0 means until its ctx is
	// done.
	MaxElapsed time.Duration
}

// BreakerConfig configures each endpoint's circuit breaker.
type BreakerConfig struct {
	// Failures is how many consecutive retryable failures open it;
	// default 3.
	Failures int
	// OpenFor is how long it stays open before a half-open probe;
	// default 5s.
	OpenFor time.Duration
}

// Config configures a Sender. Zero fields take defaults.
type Config struct {
	// Endpoints in failover order: the first healthy one gets the traffic,
	// and traffic fails back to an earlier one when its breaker closes.
	Endpoints []Endpoint
	// Spread sends each request to the next healthy endpoint in turn
	// instead of the first healthy one.
	Spread bool
	// Timeout bounds one attempt; default 10s.
	Timeout time.Duration
	Retry   RetryConfig
	Breaker BreakerConfig
	// MeterProvider gets the sender's metrics (sent, rejected, retried,
	// failed by reason, breaker state per endpoint); nil: the global one.
	MeterProvider metric.MeterProvider
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Result is what an accepted request's answer said.
type Result struct {
	// Endpoint is the Address that accepted the request.
	Endpoint string
	// Rejected is the partial success's rejected_spans, with its message.
	Rejected int64
	Message  string
}

// PermanentError is an answer that retrying cannot change (InvalidArgument,
// HTTP 400...): the request's spans are lost and counted.
type PermanentError struct {
	Endpoint string
	Err      error
}

func (e *PermanentError) Error() string {
	return "permanent export error from " + e.Endpoint + ": " + e.Err.Error()
}
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err (from Send) is a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// Sender sends requests to its endpoints. It is safe for concurrent use.
type Sender struct{}

// New returns a Sender for cfg. It does not connect: connections are made
// on first use and remade as needed.
func New(cfg Config) (*Sender, error) {
	return nil, errors.New("send: not implemented yet (issue 15)")
}

// Send sends body, an ExportTraceServiceRequest in protobuf wire form
// holding spans spans, as it is. It tries endpoints in order (or spread)
// past open breakers, retrying retryable failures with backoff until one
// accepts it, ctx is done or Retry.MaxElapsed has passed. It returns the
// accepting endpoint's Result, a *PermanentError, or the last retryable
// error. Send does not keep body after it returns.
func (s *Sender) Send(ctx context.Context, body []byte, spans int) (Result, error) {
	return Result{}, errors.New("send: not implemented yet (issue 15)")
}

// Close closes the connections; Send fails afterwards.
func (s *Sender) Close() error { return nil }
