// Package otlp is the collector's hot path for OTLP trace requests in
// protobuf wire form.
//
// Scan validates an ExportTraceServiceRequest in one pass over the wire
// format (google.golang.org/protobuf/encoding/protowire) without building an
// object graph and without allocating per span; when some spans are invalid
// it re-encodes the request without them. Decode turns a scanned body into
// storage.Span values, straight from the wire. FromJSON converts OTLP/JSON
// (the slow path) to protobuf wire form, and ResponseBytes encodes the
// ExportTraceServiceResponse with its partial success.
//
// All functions are safe for concurrent use; none keeps references to its
// arguments after it returns, except that ScanResult.Body may be the request
// slice itself and that strings in decoded spans are copies.
package otlp
