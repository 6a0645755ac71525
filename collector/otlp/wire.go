package otlp

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// maxDepth bounds the nesting of AnyValue arrays and key-value lists. Deeper
// values make the request malformed (protobuf-go allows 10000; OTLP senders
// never come close, and the bound keeps the stack small).
const maxDepth = 64

// errMalformed is wrapped by every error about bad wire format.
var errMalformed = errors.New("malformed otlp request")

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
func next(b []byte) (field, []byte, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return field{}, nil, wireErr(protowire.ParseError(n))
	}
	f := field{num: num, typ: typ}
	rest := b[n:]
	var m int
	switch typ {
	case protowire.VarintType:
		f.u64, m = protowire.ConsumeVarint(rest)
	case protowire.Fixed64Type:
		f.u64, m = protowire.ConsumeFixed64(rest)
	case protowire.Fixed32Type:
		var v uint32
		v, m = protowire.ConsumeFixed32(rest)
		f.u64 = uint64(v)
	case protowire.BytesType:
		f.val, m = protowire.ConsumeBytes(rest)
	case protowire.StartGroupType:
		f.val, m = protowire.ConsumeGroup(num, rest)
	default:
		return field{}, nil, fmt.Errorf("%w: field %d: unexpected wire type %d", errMalformed, num, typ)
	}
	if m < 0 {
		return field{}, nil, wireErr(protowire.ParseError(m))
	}
	f.size = n + m
	return f, rest[m:], nil
}

func wireErr(err error) error { return fmt.Errorf("%w: %v", errMalformed, err) }

// want checks that a known field has the wire type its schema gives it. A
// known field with another wire type makes the request malformed (protobuf-go
// would keep it as an unknown field; OTLP senders never produce one).
func (f *field) want(t protowire.Type) error {
	if f.typ != t {
		return fmt.Errorf("%w: field %d: wire type %d, want %d", errMalformed, f.num, f.typ, t)
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
