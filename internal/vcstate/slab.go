package vcstate

import (
	"go.opentelemetry.io/otel/attribute"
)

// Sizes of a slab's chunks. A chunk lives while any span carved from it is
// referenced, so they are small: a batching exporter holds the spans of the
// last few seconds, whose chunks are the ones the shard filled then. Small
// chunks also stay in the CPU's cache while they fill: with chunks of 128
// attributes (8 KiB) carving cost about twice as much in the profile of
// BenchmarkSpanStartEnd. A span end costs 1/slabSpans of an allocation for
// its wrapper and, with n attributes in all, about n/slabAttrs for them.
const (
	slabSpans = 16 // clockSpans per chunk: 16 x 40 B
	slabAttrs = 32 // attributes per chunk: 32 x 64 B
)

// slab hands out the memory of ended spans: the wrapper and its attribute
// slice, carved from chunks that each take one allocation, so that a span
// end costs a fraction of an allocation rather than one per part. Its
// shard's mutex guards it. What it hands out is never reused: it belongs to
// the span, and the garbage collector frees a chunk after its last span.
type slab struct {
	spans []clockSpan
	attrs []attribute.KeyValue
}

// take returns a new clockSpan and an empty slice with room for n
// attributes exactly (capped, so an append by a reader copies rather than
// writes over the next span's).
func (s *slab) take(n int) (*clockSpan, []attribute.KeyValue) {
	if len(s.spans) == 0 {
		s.spans = make([]clockSpan, slabSpans)
	}
	cs := &s.spans[0]
	s.spans = s.spans[1:]
	if n > slabAttrs/2 { // a span with many attributes gets its own
		return cs, make([]attribute.KeyValue, 0, n)
	}
	if len(s.attrs) < n {
		s.attrs = make([]attribute.KeyValue, slabAttrs)
	}
	attrs := s.attrs[:0:n]
	s.attrs = s.attrs[n:]
	return cs, attrs
}
