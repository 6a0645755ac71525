// Package exportertest holds what the exporter's process tests share: the
// deterministic ids of the spans its test application (./app) ends, so
// that a test knows every trace and span id to look for.
package exportertest

import (
	"encoding/binary"

	"go.opentelemetry.io/otel/trace"
)

// TraceID is the id of the i-th trace (from 1) the application starts.
func TraceID(i uint64) trace.TraceID {
	var t trace.TraceID
	t[0], t[1] = 0xe2, 0xe0
	binary.BigEndian.PutUint64(t[8:], i)
	return t
}

// SpanID is the id of the i-th span (from 1) the application starts.
func SpanID(i uint64) trace.SpanID {
	var s trace.SpanID
	binary.BigEndian.PutUint64(s[:], i)
	return s
}
