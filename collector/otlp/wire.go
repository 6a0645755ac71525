package otlp

import (
	"encoding/binary"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracerdev/tracer/storage"
)

// maxDepth bounds the nesting of AnyValue arrays and key-value lists: the
// storage package owns the limit (protobuf-go allows 10000). A span whose
// values nest deeper is rejected, not the request.
const maxDepth = storage.MaxValueDepth

var (
	// ErrMalformed is wrapped by every error about a request that is not a
	// valid ExportTraceServiceRequest (bad wire format, bad OTLP/JSON):
	// receivers answer 400 / InvalidArgument.
	ErrMalformed = errors.New("malformed otlp request")
	// ErrTooManySpans is wrapped by the error Scan returns for a request
	// that holds more than Limits.MaxSpans spans: the request is too
	// large, not malformed (receivers answer 413 / ResourceExhausted).
	ErrTooManySpans = errors.New("too many spans in otlp request")

	// errTooDeep is returned by the structure checks for an AnyValue nested
	// deeper than maxDepth; Scan turns it into a rejected span.
	errTooDeep = errors.New("attribute values nested too deeply")
)

// field is one decoded protobuf field. For BytesType and StartGroupType, val
// holds the contents; for numeric types, num holds the value.
type field struct {
	num  protowire.Number
	typ  protowire.Type
	val  []byte
	u64  uint64
	size int // bytes the whole field (tag and value) takes
}

// next reads one field from b. It returns the rest of b after the field.
// A length-delimited field with a one-byte tag and a one-byte length, the
// most common case, takes a fast path small enough to inline.
func next(b []byte) (field, []byte, error) {
	if len(b) >= 2 && b[0]&7 == 2 && b[0] >= 8 && b[0] < 0x80 && b[1] < 0x80 && int(b[1]) <= len(b)-2 {
		l := 2 + int(b[1])
		return field{num: protowire.Number(b[0] >> 3), typ: protowire.BytesType, val: b[2:l], size: l}, b[l:], nil
	}
	return nextSlow(b)
}

func nextSlow(b []byte) (field, []byte, error) {
	var f field
	var n int
	if len(b) > 0 && b[0] < 0x80 {
		f.num, f.typ, n = protowire.Number(b[0]>>3), protowire.Type(b[0]&7), 1
		if f.num == 0 {
			return field{}, nil, fmt.Errorf("%w: field number 0", ErrMalformed)
		}
	} else {
		f.num, f.typ, n = protowire.ConsumeTag(b)
		if n < 0 {
			return field{}, nil, wireErr(protowire.ParseError(n))
		}
	}
	rest := b[n:]
	var m int
	switch f.typ {
	case protowire.BytesType:
		var l uint64
		if len(rest) > 0 && rest[0] < 0x80 {
			l, m = uint64(rest[0]), 1
		} else if l, m = protowire.ConsumeVarint(rest); m < 0 {
			return field{}, nil, wireErr(protowire.ParseError(m))
		}
		if l > uint64(len(rest)-m) {
			return field{}, nil, fmt.Errorf("%w: field %d: length %d past the end", ErrMalformed, f.num, l)
		}
		f.val = rest[m : m+int(l)]
		m += int(l)
	case protowire.VarintType:
		if len(rest) > 0 && rest[0] < 0x80 {
			f.u64, m = uint64(rest[0]), 1
		} else {
			f.u64, m = protowire.ConsumeVarint(rest)
		}
	case protowire.Fixed64Type:
		if len(rest) < 8 {
			return field{}, nil, fmt.Errorf("%w: field %d: truncated fixed64", ErrMalformed, f.num)
		}
		f.u64, m = binary.LittleEndian.Uint64(rest), 8
	case protowire.Fixed32Type:
		if len(rest) < 4 {
			return field{}, nil, fmt.Errorf("%w: field %d: truncated fixed32", ErrMalformed, f.num)
		}
		f.u64, m = uint64(binary.LittleEndian.Uint32(rest)), 4
	case protowire.StartGroupType:
		f.val, m = protowire.ConsumeGroup(f.num, rest)
	default:
		return field{}, nil, fmt.Errorf("%w: field %d: unexpected wire type %d", ErrMalformed, f.num, f.typ)
	}
	if m < 0 {
		return field{}, nil, wireErr(protowire.ParseError(m))
	}
	f.size = n + m
	return f, rest[m:], nil
}

func wireErr(err error) error { return fmt.Errorf("%w: %v", ErrMalformed, err) }

// want checks that a known field has the wire type its schema gives it. A
// known field with another wire type makes the request malformed (protobuf-go
// would keep it as an unknown field; OTLP senders never produce one).
func (f *field) want(t protowire.Type) error {
	if f.typ != t {
		return fmt.Errorf("%w: field %d: wire type %d, want %d", ErrMalformed, f.num, f.typ, t)
	}
	return nil
}

// Field numbers of the OTLP trace messages (opentelemetry-proto v1).
const (
	reqResourceSpans = 1

	rsResource   = 1
	rsScopeSpans = 2

	resAttributes = 1

	ssScope = 1
	ssSpans = 2

	scopeName       = 1
	scopeVersion    = 2
	scopeAttributes = 3

	spTraceID      = 1
	spSpanID       = 2
	spTraceState   = 3
	spParentSpanID = 4
	spName         = 5
	spKind         = 6
	spStart        = 7
	spEnd          = 8
	spAttributes   = 9
	spDroppedAttrs = 10
	spEvents       = 11
	spDroppedEvts  = 12
	spLinks        = 13
	spDroppedLinks = 14
	spStatus       = 15
	spFlags        = 16

	evTime         = 1
	evName         = 2
	evAttributes   = 3
	evDroppedAttrs = 4

	lkTraceID      = 1
	lkSpanID       = 2
	lkTraceState   = 3
	lkAttributes   = 4
	lkDroppedAttrs = 5
	lkFlags        = 6

	stMessage = 2
	stCode    = 3

	kvKey   = 1
	kvValue = 2

	avString   = 1
	avBool     = 2
	avInt      = 3
	avDouble   = 4
	avArray    = 5
	avKVList   = 6
	avBytes    = 7
	avStrindex = 8

	listValues = 1 // ArrayValue.values and KeyValueList.values

	psRejected  = 1
	psMessage   = 2
	respPartial = 1
)

// wireTypes gives the wire type of each known field of a message; index by
// field number, 0 for unknown (skipped).
type wireTypes []protowire.Type

const unknown protowire.Type = -1

func types(pairs ...any) wireTypes {
	var n protowire.Number
	for i := 0; i < len(pairs); i += 2 {
		n = max(n, protowire.Number(pairs[i].(int)))
	}
	t := make(wireTypes, n+1)
	for i := range t {
		t[i] = unknown
	}
	for i := 0; i < len(pairs); i += 2 {
		t[pairs[i].(int)] = pairs[i+1].(protowire.Type)
	}
	return t
}

var (
	bt  = protowire.BytesType
	vt  = protowire.VarintType
	f64 = protowire.Fixed64Type
	f32 = protowire.Fixed32Type

	requestTypes       = types(reqResourceSpans, bt)
	resourceSpansTypes = types(rsResource, bt, rsScopeSpans, bt, 3, bt)
	resourceTypes      = types(resAttributes, bt, 2, vt)
	scopeSpansTypes    = types(ssScope, bt, ssSpans, bt, 3, bt)
	scopeTypes         = types(scopeName, bt, scopeVersion, bt, scopeAttributes, bt, 4, vt)
	spanTypes          = types(spTraceID, bt, spSpanID, bt, spTraceState, bt, spParentSpanID, bt,
		spName, bt, spKind, vt, spStart, f64, spEnd, f64, spAttributes, bt, spDroppedAttrs, vt,
		spEvents, bt, spDroppedEvts, vt, spLinks, bt, spDroppedLinks, vt, spStatus, bt, spFlags, f32)
	eventTypes = types(evTime, f64, evName, bt, evAttributes, bt, evDroppedAttrs, vt)
	linkTypes  = types(lkTraceID, bt, lkSpanID, bt, lkTraceState, bt, lkAttributes, bt,
		lkDroppedAttrs, vt, lkFlags, f32)
	statusTypes   = types(stMessage, bt, stCode, vt)
	keyValueTypes = types(kvKey, bt, kvValue, bt, 3, vt)
	anyValueTypes = types(avString, bt, avBool, vt, avInt, vt, avDouble, f64, avArray, bt,
		avKVList, bt, avBytes, bt, avStrindex, vt)
	listTypes = types(listValues, bt)
)

// check verifies the wire type of f against the message's schema.
func (t wireTypes) check(f *field) error {
	if int(f.num) < len(t) && t[f.num] != unknown {
		return f.want(t[f.num])
	}
	return nil
}
