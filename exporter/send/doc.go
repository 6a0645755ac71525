// Package send delivers OTLP trace requests, already encoded, to one or more
// OTLP endpoints (gRPC or HTTP) reliably: per endpoint a circuit breaker
// (closed, open, half-open with one probe), retries with exponential backoff
// and full jitter that honour the server's RetryInfo (gRPC) and Retry-After
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
// # Retries
//
// Which answers are retryable follows the OTel Go exporters:
// go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc/client.go
// (retryableGRPCStatus, throttleDelay: Canceled, DeadlineExceeded, Aborted,
// OutOfRange, Unavailable and DataLoss are retryable, ResourceExhausted only
// with a google.rpc.RetryInfo) and otlptracehttp/client.go (429, 502, 503,
// 504 are retryable with Retry-After in seconds or as an HTTP date; any other
// status is permanent). Unlike otlptracehttp, a transport error (connection
// refused, reset, timeout) is retryable: it is what a down endpoint looks
// like, and it is what fails traffic over.
//
// A permanent answer ends the Send at once, even when later endpoints
// remain: OTLP means it as "this data will never be accepted". An OTLP
// partial success is an accepted request; its rejected_spans and
// error_message are in the Result and counted, not retried.
//
// One Send tries the endpoints in rounds: each round goes over the endpoints
// (in order, or round-robin with Config.Spread) whose breaker lets a request
// through and that no server asked to wait, and between rounds it sleeps the
// greater of an exponentially growing, fully jittered backoff and the time
// until the first endpoint becomes usable again (a server's retry delay, an
// open breaker's half-open time). It stops early, with the last error, when
// that sleep would outlast ctx or Retry.MaxElapsed.
//
// # Circuit breakers
//
// Each endpoint's breaker opens after Breaker.Failures consecutive retryable
// failures; after Breaker.OpenFor it is half-open and lets exactly one
// request through as a probe: success closes it, failure opens it again. In
// failover order an endpoint whose breaker closed gets the traffic back
// (fail-back). A permanent error is an answer, so it counts as the endpoint
// working; an attempt cut by the caller's ctx says nothing and settles
// nothing. A server's retry delay makes every Send skip that endpoint until
// it has passed (failing over meanwhile).
//
// Over gRPC a lost connection leaves the channel idle and the probe's RPC
// reconnects; after a failed connection attempt gRPC keeps reconnecting in
// the background, with a backoff capped at min(OpenFor, 5s), and a probe
// that finds the channel still failing fails fast and restarts that
// backoff. So a returning endpoint gets its traffic back within about two
// OpenFor periods, and a dead one never holds a Send longer than Timeout.
// Sender.Available tells a queue in front whether a Send would try anything
// now, so that it can spill at once while every endpoint is down.
//
// # Metrics
//
// Through Config.MeterProvider, meter "github.com/tracerdev/tracer/exporter/send",
// every instrument with the attribute server.address (the endpoint's
// Address):
//
//	tracer.exporter.sent.requests    counter {request}  requests an endpoint accepted
//	tracer.exporter.sent.spans       counter {span}     spans in them (rejected ones included)
//	tracer.exporter.rejected.spans   counter {span}     spans a partial success rejected
//	tracer.exporter.failed.requests  counter {request}  attempts that failed, error.type = "retryable" or "permanent"
//	tracer.exporter.failed.spans     counter {span}     spans lost to permanent errors (error.type = "permanent")
//	tracer.exporter.retries          counter {attempt}  attempts after the first of a Send
//	tracer.exporter.breaker.state    gauge   {state}    0 closed, 1 half-open, 2 open
//	tracer.exporter.attempt.duration histogram s        one attempt's latency, with error.type when it failed
package send
