// Package otlp is the collector's hot path for OTLP trace requests in
// protobuf wire form.
//
// Scan validates an ExportTraceServiceRequest in one pass over the wire
// format (google.golang.org/protobuf/encoding/protowire) without building an
// object graph and without allocating per span; when some spans are invalid
// it re-encodes the request without them and counts them by RejectReason.
// Decode turns a scanned body into storage.Span values, straight from the
// wire, applying Limits. FromJSON converts OTLP/JSON (the slow path) to
// protobuf wire form in one streaming pass, in memory bounded by JSONCost,
// and ResponseBytes encodes the ExportTraceServiceResponse with its partial
// success.
//
// Errors: ErrMalformed for input that is not a request (400 /
// InvalidArgument), ErrTooManySpans for one over Limits.MaxSpans (413 /
// ResourceExhausted). Anything wrong with a single span (ids, times at or
// above 2^63 ns, unknown kinds or status codes, values nested deeper than
// storage.MaxValueDepth) rejects only that span, as an OTLP partial success.
//
// Memory: Decode never copies a resource per span: the spans of one
// ResourceSpans share one Resource slice. Every string that reaches storage
// has a limit in Limits (DefaultLimits is the one owner of the defaults).
//
// All functions are safe for concurrent use; none keeps references to its
// arguments after it returns, except that ScanResult.Body may be the request
// slice itself and that strings in decoded spans are copies (or, with
// DecodeImmutable, point into the body).
package otlp
