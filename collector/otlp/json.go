package otlp

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// FromJSON converts an OTLP/JSON ExportTraceServiceRequest into protobuf wire
// form, following the OTLP/JSON mapping of the OTLP specification: trace and
// span ids (of spans and links) are hex strings, not base64; enums may be
// ints or names; 64-bit ints may be strings or numbers; keys may be
// lowerCamelCase or the proto field names; unknown fields and enum names are
// ignored, and so is null for any field. Data after the request object, and
// string values that are not UTF-8, are malformed (as protojson has them).
//
// It is a single pass over body that writes the wire form as it reads (no
// object graph, no generic map): it allocates JSONCost(len(body)) bytes at
// most, whatever the body holds. Errors wrap ErrMalformed.
//
// An attribute value nested deeper than storage.MaxValueDepth is not an
// error here: the levels past the limit are left out, so that Scan rejects
// just the span (or resource or scope) that carries it.
func FromJSON(body []byte) ([]byte, error) {
	return AppendFromJSON(make([]byte, 0, len(body)+outMargin), body)
}

// outMargin is how much longer than its input the output may be: the
// length prefixes of large messages that grow past one byte.
const outMargin = 64

// AppendFromJSON is FromJSON appending to dst; with cap(dst)-len(dst) at
// least len(body)+64 it allocates only to unescape strings other than
// string values (in practice never).
func AppendFromJSON(dst, body []byte) ([]byte, error) {
	c := jconv{in: body, out: dst}
	c.ws()
	err := c.message(&jRequest, 0)
	if err == nil {
		if c.ws(); c.pos < len(c.in) {
			err = c.fail("data after the request object")
		}
	}
	if err != nil {
		return dst, fmt.Errorf("%w: otlp/json: %v", ErrMalformed, err)
	}
	return c.out, nil
}

// JSONCost bounds the bytes FromJSON allocates for an n-byte body: the
// output, which is never longer than the body by more than 64 bytes (ids
// shrink from hex, numbers from digits, names to tags), and scratch space
// to unescape strings other than string values, at most n. A receiver
// reserves it, on top of the body, against its in-flight cap.
func JSONCost(n int) int64 { return 2*int64(n) + 2*outMargin }

// jkind is how a field's JSON value maps to the wire.
type jkind uint8

const (
	jMessage jkind = iota
	jString        // string
	jHexID         // bytes, from hex
	jBytes         // bytes, from base64
	jFixed64       // uint64 as fixed64, from a number or a string
	jFixed32       // uint32 as fixed32
	jUint32        // uint32 as varint
	jInt64         // int64 as varint
	jInt32         // int32 as varint
	jEnum          // int32 as varint, from a number or a name
	jBool          // bool as varint
	jDouble        // double as fixed64, from a number or "NaN", "Infinity", "-Infinity"
)

type jfield struct {
	camel, snake string
	num          protowire.Number
	kind         jkind
	repeated     bool
	oneof        bool // written even when zero
	deeper       bool // its AnyValues are one level deeper
	msg          *jmsg
	enum         map[string]int32
}

type jmsg struct {
	fields   []jfield
	anyValue bool
}

func (m *jmsg) field(key []byte) *jfield {
	for i := range m.fields {
		f := &m.fields[i]
		if string(key) == f.camel || string(key) == f.snake {
			return f
		}
	}
	return nil
}

var jRequest, jResourceSpans, jResource, jScopeSpans, jScope, jSpan, jEvent, jLink, jStatus, jKeyValue, jAnyValue, jArray, jKVList jmsg

func init() {
	attrs := func(num protowire.Number) jfield {
		return jfield{camel: "attributes", snake: "attributes", num: num, repeated: true, msg: &jKeyValue}
	}
	dropped := func(num protowire.Number) jfield {
		return jfield{camel: "droppedAttributesCount", snake: "dropped_attributes_count", num: num, kind: jUint32}
	}
	jRequest.fields = []jfield{{camel: "resourceSpans", snake: "resource_spans", num: reqResourceSpans, repeated: true, msg: &jResourceSpans}}
	jResourceSpans.fields = []jfield{
		{camel: "resource", snake: "resource", num: rsResource, msg: &jResource},
		{camel: "scopeSpans", snake: "scope_spans", num: rsScopeSpans, repeated: true, msg: &jScopeSpans},
		{camel: "schemaUrl", snake: "schema_url", num: 3, kind: jString},
	}
	jResource.fields = []jfield{attrs(resAttributes), dropped(2)}
	jScopeSpans.fields = []jfield{
		{camel: "scope", snake: "scope", num: ssScope, msg: &jScope},
		{camel: "spans", snake: "spans", num: ssSpans, repeated: true, msg: &jSpan},
		{camel: "schemaUrl", snake: "schema_url", num: 3, kind: jString},
	}
	jScope.fields = []jfield{
		{camel: "name", snake: "name", num: scopeName, kind: jString},
		{camel: "version", snake: "version", num: scopeVersion, kind: jString},
		attrs(scopeAttributes), dropped(4),
	}
	jSpan.fields = []jfield{
		{camel: "traceId", snake: "trace_id", num: spTraceID, kind: jHexID},
		{camel: "spanId", snake: "span_id", num: spSpanID, kind: jHexID},
		{camel: "traceState", snake: "trace_state", num: spTraceState, kind: jString},
		{camel: "parentSpanId", snake: "parent_span_id", num: spParentSpanID, kind: jHexID},
		{camel: "flags", snake: "flags", num: spFlags, kind: jFixed32},
		{camel: "name", snake: "name", num: spName, kind: jString},
		{camel: "kind", snake: "kind", num: spKind, kind: jEnum, enum: spanKinds},
		{camel: "startTimeUnixNano", snake: "start_time_unix_nano", num: spStart, kind: jFixed64},
		{camel: "endTimeUnixNano", snake: "end_time_unix_nano", num: spEnd, kind: jFixed64},
		attrs(spAttributes), dropped(spDroppedAttrs),
		{camel: "events", snake: "events", num: spEvents, repeated: true, msg: &jEvent},
		{camel: "droppedEventsCount", snake: "dropped_events_count", num: spDroppedEvts, kind: jUint32},
		{camel: "links", snake: "links", num: spLinks, repeated: true, msg: &jLink},
		{camel: "droppedLinksCount", snake: "dropped_links_count", num: spDroppedLinks, kind: jUint32},
		{camel: "status", snake: "status", num: spStatus, msg: &jStatus},
	}
	jEvent.fields = []jfield{
		{camel: "timeUnixNano", snake: "time_unix_nano", num: evTime, kind: jFixed64},
		{camel: "name", snake: "name", num: evName, kind: jString},
		attrs(evAttributes), dropped(evDroppedAttrs),
	}
	jLink.fields = []jfield{
		{camel: "traceId", snake: "trace_id", num: lkTraceID, kind: jHexID},
		{camel: "spanId", snake: "span_id", num: lkSpanID, kind: jHexID},
		{camel: "traceState", snake: "trace_state", num: lkTraceState, kind: jString},
		attrs(lkAttributes), dropped(lkDroppedAttrs),
		{camel: "flags", snake: "flags", num: lkFlags, kind: jFixed32},
	}
	jStatus.fields = []jfield{
		{camel: "message", snake: "message", num: stMessage, kind: jString},
		{camel: "code", snake: "code", num: stCode, kind: jEnum, enum: statusCodes},
	}
	jKeyValue.fields = []jfield{
		{camel: "key", snake: "key", num: kvKey, kind: jString},
		{camel: "value", snake: "value", num: kvValue, msg: &jAnyValue},
		{camel: "keyStrindex", snake: "key_strindex", num: 3, kind: jInt32},
	}
	jAnyValue.anyValue = true
	jAnyValue.fields = []jfield{
		{camel: "stringValue", snake: "string_value", num: avString, kind: jString, oneof: true},
		{camel: "boolValue", snake: "bool_value", num: avBool, kind: jBool, oneof: true},
		{camel: "intValue", snake: "int_value", num: avInt, kind: jInt64, oneof: true},
		{camel: "doubleValue", snake: "double_value", num: avDouble, kind: jDouble, oneof: true},
		{camel: "arrayValue", snake: "array_value", num: avArray, msg: &jArray, oneof: true},
		{camel: "kvlistValue", snake: "kvlist_value", num: avKVList, msg: &jKVList, oneof: true},
		{camel: "bytesValue", snake: "bytes_value", num: avBytes, kind: jBytes, oneof: true},
		{camel: "stringValueStrindex", snake: "string_value_strindex", num: avStrindex, kind: jInt32, oneof: true},
	}
	jArray.fields = []jfield{{camel: "values", snake: "values", num: listValues, repeated: true, deeper: true, msg: &jAnyValue}}
	jKVList.fields = []jfield{{camel: "values", snake: "values", num: listValues, repeated: true, deeper: true, msg: &jKeyValue}}
}

var spanKinds = map[string]int32{
	"SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2,
	"SPAN_KIND_CLIENT": 3, "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5,
}

var statusCodes = map[string]int32{"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}

// jconv converts one OTLP/JSON body.
type jconv struct {
	in      []byte
	pos     int
	out     []byte
	stack   []byte // open brackets while skipping a value
	scratch []byte // unescaped strings that are not string values
	buf     [64]byte
}

func (c *jconv) fail(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", c.pos, fmt.Sprintf(format, args...))
}

// ws skips white space.
func (c *jconv) ws() {
	for c.pos < len(c.in) {
		switch c.in[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (c *jconv) peek() byte {
	c.ws()
	if c.pos < len(c.in) {
		return c.in[c.pos]
	}
	return 0
}

func (c *jconv) expect(b byte) error {
	if c.peek() != b {
		if c.pos >= len(c.in) {
			return c.fail("unexpected end, want %q", b)
		}
		return c.fail("unexpected %q, want %q", c.in[c.pos], b)
	}
	c.pos++
	return nil
}

// null consumes a null literal if one comes next.
func (c *jconv) null() bool {
	if c.peek() == 'n' && len(c.in)-c.pos >= 4 && string(c.in[c.pos:c.pos+4]) == "null" {
		c.pos += 4
		return true
	}
	return false
}

// begin appends the tag of a length-delimited field and a one-byte length
// placeholder; end fixes the length.
func (c *jconv) begin(num protowire.Number) int {
	c.out = protowire.AppendTag(c.out, num, protowire.BytesType)
	c.out = append(c.out, 0)
	return len(c.out)
}

func (c *jconv) end(start int) {
	n := len(c.out) - start
	if n < 0x80 {
		c.out[start-1] = byte(n)
		return
	}
	k := protowire.SizeVarint(uint64(n))
	for i := 1; i < k; i++ {
		c.out = append(c.out, 0) // within the margin FromJSON reserves
	}
	copy(c.out[start-1+k:], c.out[start:start+n])
	protowire.AppendVarint(c.out[:start-1], uint64(n))
}

// message reads a JSON object of message m, appending its fields.
func (c *jconv) message(m *jmsg, depth int) error {
	if err := c.expect('{'); err != nil {
		return err
	}
	if m.anyValue && depth >= maxDepth {
		// Too deep to store: leave the rest out; Scan sees the depth and
		// rejects what holds it.
		c.pos--
		return c.skip()
	}
	if c.peek() == '}' {
		c.pos++
		return nil
	}
	for {
		key, err := c.str()
		if err != nil {
			return err
		}
		if err := c.expect(':'); err != nil {
			return err
		}
		if f := m.field(key); f == nil {
			if err := c.skip(); err != nil {
				return err
			}
		} else if !c.null() {
			if err := c.value(f, depth); err != nil {
				return fmt.Errorf("%s: %w", f.camel, err)
			}
		}
		switch c.peek() {
		case ',':
			c.pos++
		case '}':
			c.pos++
			return nil
		default:
			return c.fail("want ',' or '}' in object")
		}
	}
}

// value reads the value of field f (not null).
func (c *jconv) value(f *jfield, depth int) error {
	if !f.repeated {
		return c.one(f, depth)
	}
	if err := c.expect('['); err != nil {
		return err
	}
	if c.peek() == ']' {
		c.pos++
		return nil
	}
	for {
		if err := c.one(f, depth); err != nil {
			return err
		}
		switch c.peek() {
		case ',':
			c.pos++
		case ']':
			c.pos++
			return nil
		default:
			return c.fail("want ',' or ']' in array")
		}
	}
}

// one reads one value of field f.
func (c *jconv) one(f *jfield, depth int) error {
	switch f.kind {
	case jMessage:
		start := c.begin(f.num)
		if f.deeper {
			depth++
		}
		if err := c.message(f.msg, depth); err != nil {
			return err
		}
		c.end(start)
		return nil
	case jString:
		if c.peek() != '"' {
			return c.fail("want a string")
		}
		if !f.oneof && len(c.in)-c.pos >= 2 && c.in[c.pos+1] == '"' {
			c.pos += 2 // "": the default, not written
			return nil
		}
		start := c.begin(f.num)
		var err error
		if c.out, err = c.unescape(c.out); err != nil {
			return err
		}
		c.end(start)
		return nil
	case jHexID:
		s, err := c.str()
		if err != nil {
			return err
		}
		if len(s) == 0 {
			return nil
		}
		if len(s)%2 != 0 {
			return c.fail("id %q: not hex", s)
		}
		c.out = protowire.AppendTag(c.out, f.num, protowire.BytesType)
		c.out = protowire.AppendVarint(c.out, uint64(len(s)/2))
		for i := 0; i < len(s); i += 2 {
			hi, ok1 := unhex(s[i])
			lo, ok2 := unhex(s[i+1])
			if !ok1 || !ok2 {
				return c.fail("id %q: not hex", s)
			}
			c.out = append(c.out, hi<<4|lo)
		}
		return nil
	case jBytes:
		s, err := c.str()
		if err != nil {
			return err
		}
		enc := base64.StdEncoding
		for _, b := range s {
			if b == '-' || b == '_' {
				enc = base64.URLEncoding
				break
			}
		}
		if len(s)%4 != 0 {
			enc = enc.WithPadding(base64.NoPadding)
		}
		start := c.begin(f.num)
		if c.out, err = enc.AppendDecode(c.out, s); err != nil {
			return c.fail("bytes: %v", err)
		}
		c.end(start)
		return nil
	case jBool:
		var v uint64
		switch {
		case c.lit("true"):
			v = 1
		case c.lit("false"):
		default:
			return c.fail("want true or false")
		}
		if v != 0 || f.oneof {
			c.out = protowire.AppendTag(c.out, f.num, protowire.VarintType)
			c.out = protowire.AppendVarint(c.out, v)
		}
		return nil
	case jDouble:
		v, err := c.double()
		if err != nil {
			return err
		}
		if v != 0 || math.Signbit(v) || f.oneof {
			c.out = protowire.AppendTag(c.out, f.num, protowire.Fixed64Type)
			c.out = protowire.AppendFixed64(c.out, math.Float64bits(v))
		}
		return nil
	case jEnum:
		if c.peek() == '"' {
			s, err := c.str()
			if err != nil {
				return err
			}
			if v, ok := f.enum[string(s)]; ok {
				c.varint(f, uint64(int64(v)))
				return nil
			}
			// protojson also takes the number in a string, and ignores
			// names it does not know (with DiscardUnknown, which the
			// conversion before this one used): the field stays unset.
			if n := numberLen(s); n == 0 || n != len(s) {
				return nil
			}
			v, err := c.integerOf(s, 32, true)
			if err != nil {
				return err
			}
			c.varint(f, v)
			return nil
		}
		fallthrough
	case jInt32, jInt64, jUint32:
		bits, signed := 32, f.kind != jUint32
		if f.kind == jInt64 {
			bits = 64
		}
		v, err := c.integer(bits, signed)
		if err != nil {
			return err
		}
		c.varint(f, v)
		return nil
	case jFixed64, jFixed32:
		bits := 64
		if f.kind == jFixed32 {
			bits = 32
		}
		v, err := c.integer(bits, false)
		if err != nil {
			return err
		}
		if v == 0 && !f.oneof {
			return nil
		}
		if bits == 64 {
			c.out = protowire.AppendTag(c.out, f.num, protowire.Fixed64Type)
			c.out = protowire.AppendFixed64(c.out, v)
		} else {
			c.out = protowire.AppendTag(c.out, f.num, protowire.Fixed32Type)
			c.out = protowire.AppendFixed32(c.out, uint32(v))
		}
		return nil
	}
	return c.fail("unknown field kind %d", f.kind)
}

func (c *jconv) varint(f *jfield, v uint64) {
	if v == 0 && !f.oneof {
		return
	}
	c.out = protowire.AppendTag(c.out, f.num, protowire.VarintType)
	c.out = protowire.AppendVarint(c.out, v)
}

func unhex(b byte) (byte, bool) {
	switch {
	case b >= '0' && b <= '9':
		return b - '0', true
	case b >= 'a' && b <= 'f':
		return b - 'a' + 10, true
	case b >= 'A' && b <= 'F':
		return b - 'A' + 10, true
	}
	return 0, false
}

func (c *jconv) lit(s string) bool {
	if len(c.in)-c.pos >= len(s) && string(c.in[c.pos:c.pos+len(s)]) == s {
		c.pos += len(s)
		return true
	}
	return false
}

// number returns the literal of a JSON number, or of one in a string when
// quoted is allowed (OTLP/JSON writes 64-bit ints as strings).
func (c *jconv) number() ([]byte, error) {
	if c.peek() == '"' {
		s, err := c.str()
		if err != nil {
			return nil, err
		}
		if n := numberLen(s); n != len(s) || n == 0 {
			return s, c.fail("%q is not a number", s)
		}
		return s, nil
	}
	n := numberLen(c.in[c.pos:])
	if n == 0 {
		return nil, c.fail("want a number")
	}
	s := c.in[c.pos : c.pos+n]
	c.pos += n
	return s, nil
}

// numberLen returns the length of the JSON number at the start of b, or 0.
func numberLen(b []byte) int {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0
		}
	}
	return i
}

// integer reads an integer of bits bits (signed or not) from a number or a
// numeric string. A fraction or an exponent is accepted when the value is
// whole, as protojson does ("1.0", "1e3"). Signed values come back as their
// two's complement in 64 bits, the varint form of int32 and int64.
func (c *jconv) integer(bits int, signed bool) (uint64, error) {
	s, err := c.number()
	if err != nil {
		return 0, err
	}
	return c.integerOf(s, bits, signed)
}

// integerOf is integer for the number literal s.
func (c *jconv) integerOf(s []byte, bits int, signed bool) (uint64, error) {
	if v, ok := plainUint(s, bits, signed); ok {
		return v, nil
	}
	digits, ok := wholeDigits(s)
	if !ok {
		return 0, c.fail("%s is not an integer", s)
	}
	if signed {
		v, err := strconv.ParseInt(digits, 10, bits)
		if err != nil {
			return 0, c.fail("%s out of range", s)
		}
		return uint64(v), nil
	}
	v, err := strconv.ParseUint(digits, 10, bits)
	if err != nil {
		return 0, c.fail("%s out of range", s)
	}
	return v, nil
}

// plainUint parses s when it is plain digits (the common case) of a value
// that fits bits bits, signed or not, without allocating.
func plainUint(s []byte, bits int, signed bool) (uint64, bool) {
	if len(s) == 0 || len(s) > 19 { // 19 digits always fit in 63 bits
		return 0, false
	}
	var v uint64
	for _, d := range s {
		if d < '0' || d > '9' {
			return 0, false
		}
		v = v*10 + uint64(d-'0')
	}
	if signed {
		bits--
	}
	return v, bits == 64 || v < 1<<bits
}

// wholeDigits rewrites the JSON number s as an optional '-' and decimal
// digits, if it is a whole number of at most 20 digits.
func wholeDigits(s []byte) (string, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intPart, rest := s[:i], s[i:]
	var frac []byte
	if len(rest) > 0 && rest[0] == '.' {
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		frac, rest = rest[1:j], rest[j:]
	}
	exp := 0
	if len(rest) > 0 {
		e, err := strconv.Atoi(string(rest[1:]))
		if err != nil || e > 40 || e < -40 {
			return "", false
		}
		exp = e
	}
	if len(rest) == 0 && len(frac) == 0 {
		if neg {
			return "-" + string(intPart), true
		}
		return string(intPart), true
	}
	all := append(append([]byte{}, intPart...), frac...)
	shift := exp - len(frac) // the decimal point moves right by shift
	if shift < 0 {
		cut := len(all) + shift
		if cut < 0 {
			cut = 0
		}
		for _, d := range all[cut:] {
			if d != '0' {
				return "", false
			}
		}
		all = all[:cut]
	} else {
		for ; shift > 0; shift-- {
			all = append(all, '0')
		}
	}
	for len(all) > 1 && all[0] == '0' {
		all = all[1:]
	}
	if len(all) == 0 {
		all = append(all, '0')
	}
	if len(all) > 20 {
		return "", false
	}
	if neg {
		return "-" + string(all), true
	}
	return string(all), true
}

// double reads a number, or a string holding one or "NaN", "Infinity" or
// "-Infinity".
func (c *jconv) double() (float64, error) {
	if c.peek() == '"' {
		save := c.pos
		s, err := c.str()
		if err != nil {
			return 0, err
		}
		switch string(s) {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		c.pos = save
	}
	s, err := c.number()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		return 0, c.fail("%s out of range", s)
	}
	return v, nil
}

// str reads a JSON string and returns its contents: a slice of the input
// when it has no escapes, else the unescaped text in c.scratch, valid until
// the next call.
func (c *jconv) str() ([]byte, error) {
	if c.peek() != '"' {
		return nil, c.fail("want a string")
	}
	start := c.pos + 1
	for i := start; i < len(c.in); i++ {
		switch b := c.in[i]; {
		case b == '"':
			c.pos = i + 1
			return c.in[start:i], nil
		case b == '\\':
			if c.scratch == nil {
				c.scratch = c.buf[:0]
			}
			var err error
			c.scratch, err = c.unescape(c.scratch[:0])
			return c.scratch, err
		case b < 0x20:
			c.pos = i
			return nil, c.fail("control character in string")
		}
	}
	c.pos = len(c.in)
	return nil, c.fail("unterminated string")
}

// unescape reads a JSON string (c.pos at its opening quote) and appends
// its unescaped contents to dst.
func (c *jconv) unescape(dst []byte) ([]byte, error) {
	if c.peek() != '"' {
		return dst, c.fail("want a string")
	}
	c.pos++
	for c.pos < len(c.in) {
		b := c.in[c.pos]
		switch {
		case b == '"':
			c.pos++
			return dst, nil
		case b < 0x20:
			return dst, c.fail("control character in string")
		case b != '\\':
			// A run of plain bytes. It holds whole UTF-8 sequences (it ends
			// at ASCII), so it is checked alone, as protojson checks.
			i, hi := c.pos, byte(0)
			for i < len(c.in) && c.in[i] != '"' && c.in[i] != '\\' && c.in[i] >= 0x20 {
				hi |= c.in[i]
				i++
			}
			if hi >= utf8.RuneSelf && !utf8.Valid(c.in[c.pos:i]) {
				return dst, c.fail("invalid UTF-8 in string")
			}
			dst = append(dst, c.in[c.pos:i]...)
			c.pos = i
			continue
		}
		if c.pos+1 >= len(c.in) {
			break
		}
		e := c.in[c.pos+1]
		c.pos += 2
		switch e {
		case '"', '\\', '/':
			dst = append(dst, e)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := c.hex4()
			if !ok {
				return dst, c.fail("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if len(c.in)-c.pos >= 2 && c.in[c.pos] == '\\' && c.in[c.pos+1] == 'u' {
					save := c.pos
					c.pos += 2
					if lo, ok := c.hex4(); ok {
						if d := utf16.DecodeRune(r, lo); d != utf8.RuneError {
							r2 = d
						} else {
							c.pos = save
						}
					} else {
						c.pos = save
					}
				}
				r = r2
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, c.fail("bad escape \\%c", e)
		}
	}
	return dst, c.fail("unterminated string")
}

func (c *jconv) hex4() (rune, bool) {
	if len(c.in)-c.pos < 4 {
		return 0, false
	}
	var r rune
	for _, b := range c.in[c.pos : c.pos+4] {
		v, ok := unhex(b)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	c.pos += 4
	return r, true
}

// skip reads any JSON value, checking its syntax, without recursion: its
// depth is bounded only by the input.
func (c *jconv) skip() error {
	c.stack = c.stack[:0]
	for {
		// A value.
		switch b := c.peek(); {
		case b == '{' || b == '[':
			c.pos++
			c.stack = append(c.stack, b)
			if b == '{' {
				if c.peek() == '}' {
					c.pos++
					c.stack = c.stack[:len(c.stack)-1]
					break
				}
				if err := c.skipKey(); err != nil {
					return err
				}
				continue
			}
			if c.peek() == ']' {
				c.pos++
				c.stack = c.stack[:len(c.stack)-1]
				break
			}
			continue
		case b == '"':
			if _, err := c.str(); err != nil {
				return err
			}
		case b == 't':
			if !c.lit("true") {
				return c.fail("bad literal")
			}
		case b == 'f':
			if !c.lit("false") {
				return c.fail("bad literal")
			}
		case b == 'n':
			if !c.lit("null") {
				return c.fail("bad literal")
			}
		default:
			if _, err := c.number(); err != nil {
				return err
			}
		}
		// After a value: close what is done, or go on to the next element.
		for {
			if len(c.stack) == 0 {
				return nil
			}
			top := c.stack[len(c.stack)-1]
			b := c.peek()
			if b == ',' {
				c.pos++
				if top == '{' {
					if err := c.skipKey(); err != nil {
						return err
					}
				}
				break
			}
			if (top == '{' && b == '}') || (top == '[' && b == ']') {
				c.pos++
				c.stack = c.stack[:len(c.stack)-1]
				continue
			}
			return c.fail("unexpected %q", b)
		}
	}
}

// skipKey reads an object key and its colon.
func (c *jconv) skipKey() error {
	if _, err := c.str(); err != nil {
		return err
	}
	return c.expect(':')
}
