package otlp

import (
	"errors"

	"github.com/tracerdev/tracer/storage"
)

var errNotImplemented = errors.New("otlp: not implemented")

// Limits bounds what a request may carry.
type Limits struct {
	// MaxSpans is the most spans a request may hold; more rejects the whole
	// request. 0 means unlimited.
	MaxSpans int
	// MaxAttributes is the most attributes a span keeps; Decode drops the
	// extra ones and counts them. 0 means unlimited.
	MaxAttributes int
	// MaxAttributeValueLen is the longest string value kept; Decode
	// truncates longer ones at a UTF-8 boundary and counts them. 0 means
	// unlimited.
	MaxAttributeValueLen int
	// MaxNameLen is the longest span name accepted; Scan rejects spans with
	// longer names. 0 means unlimited.
	MaxNameLen int
}

// DefaultLimits returns the limits the collector uses unless configured.
func DefaultLimits() Limits {
	return Limits{MaxSpans: 100000, MaxAttributes: 128, MaxAttributeValueLen: 4096, MaxNameLen: 1024}
}

// ScanResult is what Scan found.
type ScanResult struct {
	// Body is what to store: the request itself when every span is valid,
	// otherwise a re-encoded request without the invalid spans.
	Body     []byte
	Accepted int
	Rejected int
	// Reason summarises why spans were rejected, for example
	// "2 spans with invalid trace id; 1 span ends before it starts".
	Reason string
}

// Scan validates an ExportTraceServiceRequest in protobuf wire form in one
// pass, allocating nothing per span. A malformed message (bad wire format,
// too many spans) returns an error: the whole request is rejected.
//
// Per span it checks: trace id 16 bytes and not all zero, span id 8 bytes and
// not zero, parent span id empty or 8 bytes, start time non-zero, end time not
// before start time, and a non-empty name of at most lim.MaxNameLen bytes.
// Invalid spans are counted and dropped: when any is, Body is a re-encoded
// request without them (the other spans of the batch and their resource and
// scope kept); otherwise Body is req itself (no copy).
func Scan(req []byte, lim Limits) (ScanResult, error) {
	return ScanResult{}, errNotImplemented
}

// DecodeStats counts what Decode did.
type DecodeStats struct{ Spans, DroppedAttributes, TruncatedValues int }

// Decode turns a request body (as returned by Scan) into storage.Span values
// appended to dst. Resource attributes go to Span.Resource and service.name
// to Span.Service ("unknown_service" when absent); scope name and version,
// attributes, events, links, status, kind, flags and dropped counts are
// copied. AnyValues become the canonical strings documented on
// storage.Attribute. lim.MaxAttributes and lim.MaxAttributeValueLen are
// applied to span attributes and what they dropped or truncated is counted
// in DecodeStats (and, for dropped attributes, in Span.DroppedAttributes).
func Decode(dst []storage.Span, body []byte, lim Limits) ([]storage.Span, DecodeStats, error) {
	return dst, DecodeStats{}, errNotImplemented
}

// FromJSON converts an OTLP/JSON ExportTraceServiceRequest into protobuf wire
// form. It follows the OTLP/JSON mapping: hex trace and span ids, enums as
// ints or names, 64-bit ints as strings or numbers, lowerCamelCase or
// snake_case keys.
func FromJSON(body []byte) ([]byte, error) {
	return nil, errNotImplemented
}

// ResponseBytes returns the wire bytes of an ExportTraceServiceResponse whose
// partial_success carries rejected and msg; when rejected is 0 and msg is
// empty it is the empty response.
func ResponseBytes(rejected int, msg string) []byte {
	return nil
}
