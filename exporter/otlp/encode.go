package otlp

import (
	"math"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/encoding/protowire"
)

// The encoder writes an ExportTraceServiceRequest straight in the protobuf
// wire format with protowire: no generated message objects, one pass, one
// allocation (the result) per batch. It follows the mapping of the OTel
// exporters' transform,
// go.opentelemetry.io/otel/exporters/otlp/otlptrace@v1.47.0/internal/tracetransform
// (span.go, attribute.go, resource.go, instrumentation.go): spans grouped by
// resource and then by instrumentation scope, Status always present, flags
// with the "has is-remote" bit, INVALID for values of unknown type. The field
// numbers are those of opentelemetry/proto/trace/v1/trace.proto and
// common/v1/common.proto; TestEncodeMatchesOTLPTraceGRPC compares the result
// with what otlptracegrpc sends.

// Field numbers.
const (
	fReqResourceSpans = 1

	fRSResource   = 1
	fRSScopeSpans = 2
	fRSSchemaURL  = 3

	fResAttributes = 1

	fSSScope     = 1
	fSSSpans     = 2
	fSSSchemaURL = 3

	fScopeName       = 1
	fScopeVersion    = 2
	fScopeAttributes = 3

	fSpanTraceID           = 1
	fSpanSpanID            = 2
	fSpanTraceState        = 3
	fSpanParentSpanID      = 4
	fSpanName              = 5
	fSpanKind              = 6
	fSpanStart             = 7
	fSpanEnd               = 8
	fSpanAttributes        = 9
	fSpanDroppedAttributes = 10
	fSpanEvents            = 11
	fSpanDroppedEvents     = 12
	fSpanLinks             = 13
	fSpanDroppedLinks      = 14
	fSpanStatus            = 15
	fSpanFlags             = 16

	fEventTime              = 1
	fEventName              = 2
	fEventAttributes        = 3
	fEventDroppedAttributes = 4

	fLinkTraceID           = 1
	fLinkSpanID            = 2
	fLinkTraceState        = 3
	fLinkAttributes        = 4
	fLinkDroppedAttributes = 5
	fLinkFlags             = 6

	fStatusMessage = 2
	fStatusCode    = 3

	fKVKey   = 1
	fKVValue = 2

	fAnyString = 1
	fAnyBool   = 2
	fAnyInt    = 3
	fAnyDouble = 4
	fAnyArray  = 5
	fAnyKVList = 6
	fAnyBytes  = 7

	fListValues = 1 // ArrayValue.values and KeyValueList.values

	// SpanFlags of trace.proto.
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// group is the spans of one resource and scope.
type group struct {
	res   *resource.Resource
	rkey  attribute.Distinct
	scope instrumentation.Scope
	first int // index into encoder.order of its first span
	n     int
}

type encoder struct {
	buf    []byte
	groups []group
	which  []int32 // group of each span
	order  []int32 // span indices grouped
}

var encoders = sync.Pool{New: func() any { return new(encoder) }}

// encodeSpans returns spans as an ExportTraceServiceRequest in protobuf
// wire form, in a new slice of its exact size, and the number of spans it
// holds (nil spans are skipped).
func encodeSpans(spans []sdktrace.ReadOnlySpan) ([]byte, int) {
	e := encoders.Get().(*encoder)
	b, n := e.encode(spans)
	out := make([]byte, len(b))
	copy(out, b)
	if cap(e.buf) <= 64<<20 {
		encoders.Put(e)
	}
	return out, n
}

func (e *encoder) encode(spans []sdktrace.ReadOnlySpan) ([]byte, int) {
	e.groups = e.groups[:0]
	e.which = e.which[:0]
	count := 0
	for _, s := range spans {
		if s == nil {
			e.which = append(e.which, -1)
			continue
		}
		count++
		e.which = append(e.which, int32(e.groupOf(s)))
	}
	// Counting sort of the span indices by group, keeping their order.
	pos := 0
	for i := range e.groups {
		e.groups[i].first = pos
		pos += e.groups[i].n
		e.groups[i].n = 0
	}
	e.order = append(e.order[:0], make([]int32, pos)...)
	for i, g := range e.which {
		if g < 0 {
			continue
		}
		gr := &e.groups[g]
		e.order[gr.first+gr.n] = int32(i)
		gr.n++
	}

	b := e.buf[:0]
	for gi := 0; gi < len(e.groups); {
		// One ResourceSpans for the run of groups of this resource:
		// groupOf keeps a resource's groups together.
		g := e.groups[gi]
		var rs int
		b, rs = beginMsg(b, fReqResourceSpans, 3)
		if g.res != nil {
			var r int
			b, r = beginMsg(b, fRSResource, 2)
			for it := g.res.Iter(); it.Next(); {
				b = appendKV(b, fResAttributes, it.Attribute())
			}
			b = endMsg(b, r, 2)
		}
		gj := gi
		for ; gj < len(e.groups) && e.groups[gj].rkey == g.rkey; gj++ {
			b = e.appendScopeSpans(b, spans, &e.groups[gj])
		}
		if g.res != nil {
			b = appendString(b, fRSSchemaURL, g.res.SchemaURL())
		}
		b = endMsg(b, rs, 3)
		gi = gj
	}
	e.buf = b
	return b, count
}

// groupOf returns the index of s's group, adding one when needed; the
// groups of one resource stay next to each other.
func (e *encoder) groupOf(s sdktrace.ReadOnlySpan) int {
	res := s.Resource()
	scope := s.InstrumentationScope()
	// The common case: the same resource and scope as the last span.
	if n := len(e.groups); n > 0 {
		g := &e.groups[n-1]
		if g.res == res && g.scope == scope {
			g.n++
			return n - 1
		}
	}
	var rkey attribute.Distinct
	if res != nil {
		rkey = res.Equivalent()
	}
	last := -1 // the last group of this resource
	for i := range e.groups {
		g := &e.groups[i]
		if g.rkey != rkey {
			continue
		}
		last = i
		if g.scope == scope {
			g.n++
			return i
		}
	}
	ng := group{res: res, rkey: rkey, scope: scope, n: 1}
	if last < 0 || last == len(e.groups)-1 {
		e.groups = append(e.groups, ng)
		return len(e.groups) - 1
	}
	// Insert after the resource's last group, renumbering the spans
	// already assigned to the groups that move.
	at := last + 1
	e.groups = append(e.groups, group{})
	copy(e.groups[at+1:], e.groups[at:])
	e.groups[at] = ng
	for i, w := range e.which {
		if int(w) >= at {
			e.which[i] = w + 1
		}
	}
	return at
}

func (e *encoder) appendScopeSpans(b []byte, spans []sdktrace.ReadOnlySpan, g *group) []byte {
	var ss int
	b, ss = beginMsg(b, fRSScopeSpans, 3)
	if g.scope != (instrumentation.Scope{}) {
		var sc int
		b, sc = beginMsg(b, fSSScope, 1)
		b = appendString(b, fScopeName, g.scope.Name)
		b = appendString(b, fScopeVersion, g.scope.Version)
		for it := g.scope.Attributes.Iter(); it.Next(); {
			b = appendKV(b, fScopeAttributes, it.Attribute())
		}
		b = endMsg(b, sc, 1)
	}
	for _, i := range e.order[g.first : g.first+g.n] {
		b = appendSpan(b, spans[i])
	}
	b = appendString(b, fSSSchemaURL, g.scope.SchemaURL)
	return endMsg(b, ss, 3)
}

func appendSpan(b []byte, s sdktrace.ReadOnlySpan) []byte {
	var sp int
	b, sp = beginMsg(b, fSSSpans, 2)
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	b = appendBytes(b, fSpanTraceID, tid[:])
	b = appendBytes(b, fSpanSpanID, sid[:])
	if ts := sc.TraceState(); ts.Len() > 0 {
		b = appendString(b, fSpanTraceState, ts.String())
	}
	parent := s.Parent()
	if psid := parent.SpanID(); psid.IsValid() {
		b = appendBytes(b, fSpanParentSpanID, psid[:])
	}
	b = appendString(b, fSpanName, s.Name())
	if k := spanKind(s.SpanKind()); k != 0 {
		b = protowire.AppendTag(b, fSpanKind, protowire.VarintType)
		b = protowire.AppendVarint(b, k)
	}
	b = appendFixed64(b, fSpanStart, unixNano(s.StartTime().UnixNano()))
	b = appendFixed64(b, fSpanEnd, unixNano(s.EndTime().UnixNano()))
	for _, kv := range s.Attributes() {
		b = appendKV(b, fSpanAttributes, kv)
	}
	b = appendUint(b, fSpanDroppedAttributes, clampUint32(s.DroppedAttributes()))
	for _, ev := range s.Events() {
		var m int
		b, m = beginMsg(b, fSpanEvents, 1)
		b = appendFixed64(b, fEventTime, unixNano(ev.Time.UnixNano()))
		b = appendString(b, fEventName, ev.Name)
		for _, kv := range ev.Attributes {
			b = appendKV(b, fEventAttributes, kv)
		}
		b = appendUint(b, fEventDroppedAttributes, clampUint32(ev.DroppedAttributeCount))
		b = endMsg(b, m, 1)
	}
	b = appendUint(b, fSpanDroppedEvents, clampUint32(s.DroppedEvents()))
	for _, l := range s.Links() {
		var m int
		b, m = beginMsg(b, fSpanLinks, 1)
		lt, ls := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		b = appendBytes(b, fLinkTraceID, lt[:])
		b = appendBytes(b, fLinkSpanID, ls[:])
		// tracetransform's links() leaves the link's trace state out
		// (v1.47.0); the field exists, so we send it.
		if ts := l.SpanContext.TraceState(); ts.Len() > 0 {
			b = appendString(b, fLinkTraceState, ts.String())
		}
		for _, kv := range l.Attributes {
			b = appendKV(b, fLinkAttributes, kv)
		}
		b = appendUint(b, fLinkDroppedAttributes, clampUint32(l.DroppedAttributeCount))
		b = appendFixed32(b, fLinkFlags, spanFlags(l.SpanContext.TraceFlags(), l.SpanContext))
		b = endMsg(b, m, 1)
	}
	b = appendUint(b, fSpanDroppedLinks, clampUint32(s.DroppedLinks()))
	st := s.Status()
	var m int
	b, m = beginMsg(b, fSpanStatus, 1)
	b = appendString(b, fStatusMessage, st.Description)
	if c := statusCode(st.Code); c != 0 {
		b = protowire.AppendTag(b, fStatusCode, protowire.VarintType)
		b = protowire.AppendVarint(b, c)
	}
	b = endMsg(b, m, 1)
	b = appendFixed32(b, fSpanFlags, spanFlags(sc.TraceFlags(), parent))
	return endMsg(b, sp, 2)
}

func spanFlags(tf trace.TraceFlags, parent trace.SpanContext) uint32 {
	f := uint32(tf) | flagHasIsRemote
	if parent.IsRemote() {
		f |= flagIsRemote
	}
	return f
}

func spanKind(k trace.SpanKind) uint64 {
	switch k {
	case trace.SpanKindInternal:
		return 1
	case trace.SpanKindServer:
		return 2
	case trace.SpanKindClient:
		return 3
	case trace.SpanKindProducer:
		return 4
	case trace.SpanKindConsumer:
		return 5
	default:
		return 0
	}
}

func statusCode(c codes.Code) uint64 {
	switch c {
	case codes.Ok:
		return 1
	case codes.Error:
		return 2
	default:
		return 0
	}
}

func unixNano(n int64) uint64 { return uint64(max(0, n)) }

func clampUint32(v int) uint64 {
	if v < 0 {
		return 0
	}
	return uint64(min(int64(v), math.MaxUint32))
}

// appendKV appends a KeyValue as field num.
func appendKV(b []byte, num protowire.Number, kv attribute.KeyValue) []byte {
	var m int
	b, m = beginMsg(b, num, 1)
	b = appendString(b, fKVKey, string(kv.Key))
	b = appendAnyValue(b, fKVValue, kv.Value)
	return endMsg(b, m, 1)
}

// appendAnyValue appends v as an AnyValue in field num, as
// tracetransform.Value maps it.
func appendAnyValue(b []byte, num protowire.Number, v attribute.Value) []byte {
	var m int
	b, m = beginMsg(b, num, 1)
	switch v.Type() {
	case attribute.EMPTY:
	case attribute.BOOL:
		b = protowire.AppendTag(b, fAnyBool, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeBool(v.AsBool()))
	case attribute.INT64:
		b = protowire.AppendTag(b, fAnyInt, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(v.AsInt64()))
	case attribute.FLOAT64:
		b = protowire.AppendTag(b, fAnyDouble, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(v.AsFloat64()))
	case attribute.STRING:
		b = protowire.AppendTag(b, fAnyString, protowire.BytesType)
		b = protowire.AppendString(b, v.AsString())
	case attribute.BYTESLICE:
		b = protowire.AppendTag(b, fAnyBytes, protowire.BytesType)
		b = protowire.AppendBytes(b, v.AsByteSlice())
	case attribute.BOOLSLICE, attribute.INT64SLICE, attribute.FLOAT64SLICE, attribute.STRINGSLICE, attribute.SLICE:
		var a int
		b, a = beginMsg(b, fAnyArray, 2)
		switch v.Type() {
		case attribute.BOOLSLICE:
			for _, x := range v.AsBoolSlice() {
				b = appendAnyValue(b, fListValues, attribute.BoolValue(x))
			}
		case attribute.INT64SLICE:
			for _, x := range v.AsInt64Slice() {
				b = appendAnyValue(b, fListValues, attribute.Int64Value(x))
			}
		case attribute.FLOAT64SLICE:
			for _, x := range v.AsFloat64Slice() {
				b = appendAnyValue(b, fListValues, attribute.Float64Value(x))
			}
		case attribute.STRINGSLICE:
			for _, x := range v.AsStringSlice() {
				b = appendAnyValue(b, fListValues, attribute.StringValue(x))
			}
		default:
			for _, x := range v.AsSlice() {
				b = appendAnyValue(b, fListValues, x)
			}
		}
		b = endMsg(b, a, 2)
	case attribute.MAP:
		var l int
		b, l = beginMsg(b, fAnyKVList, 2)
		for _, kv := range v.AsMap() {
			b = appendKV(b, fListValues, kv)
		}
		b = endMsg(b, l, 2)
	default:
		b = protowire.AppendTag(b, fAnyString, protowire.BytesType)
		b = protowire.AppendString(b, "INVALID")
	}
	return endMsg(b, m, 1)
}

// beginMsg appends the tag of a length-delimited field num and reserve
// bytes for its length, and returns where the length goes. endMsg writes
// the length there once the content is appended, moving the content when
// the length's varint is not reserve bytes long. A good guess of reserve
// makes that rare.
func beginMsg(b []byte, num protowire.Number, reserve int) ([]byte, int) {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	at := len(b)
	for range reserve {
		b = append(b, 0)
	}
	return b, at
}

func endMsg(b []byte, at, reserve int) []byte {
	n := len(b) - at - reserve
	sz := protowire.SizeVarint(uint64(n))
	switch {
	case sz > reserve:
		for range sz - reserve {
			b = append(b, 0)
		}
		copy(b[at+sz:], b[at+reserve:at+reserve+n])
	case sz < reserve:
		copy(b[at+sz:], b[at+reserve:])
		b = b[:at+sz+n]
	}
	protowire.AppendVarint(b[at:at], uint64(n))
	return b
}

// The scalar appenders leave out proto3 defaults, as proto.Marshal does.

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytes(b []byte, num protowire.Number, p []byte) []byte {
	if len(p) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, p)
}

func appendUint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendFixed64(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

func appendFixed32(b []byte, num protowire.Number, v uint32) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, v)
}
