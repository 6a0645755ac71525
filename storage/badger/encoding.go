package badger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/tracerdev/tracer/storage"
)

// spanVersion is the first byte of every encoded span. Version 1 held the
// resource attributes inline; version 2 refers to a resource stored once.
const spanVersion = 2

// resID is a resource's key: the first 16 bytes of the SHA-256 of its
// encoding.
type resID [16]byte

// appendSpan appends the binary encoding of s to b, its resource given as
// res (nil: none).
//
// Layout (version 2): version byte, trace id (16), span id (8), parent id
// (8), then in order: trace state, flags, name, kind, start time, duration,
// status code, status message, service, the resource (a 0 byte for none, or
// a 1 byte and its resID), scope name, scope version, attributes, events,
// links, and the three dropped counts. Strings are a uvarint length and the
// bytes; integers are (zigzag) varints; lists are a uvarint count and the
// items; an attribute is key, type byte, value. Version 1 had the resource
// attributes as a list in place of the resource reference.
func appendSpan(b []byte, s *storage.Span, res *resID) []byte {
	b = append(b, spanVersion)
	b = append(b, s.TraceID[:]...)
	b = append(b, s.SpanID[:]...)
	b = append(b, s.ParentSpanID[:]...)
	b = appendString(b, s.TraceState)
	b = binary.AppendUvarint(b, uint64(s.Flags))
	b = appendString(b, s.Name)
	b = append(b, byte(s.Kind))
	b = binary.AppendVarint(b, s.StartTime)
	b = binary.AppendVarint(b, s.EndTime-s.StartTime)
	b = append(b, byte(s.StatusCode))
	b = appendString(b, s.StatusMessage)
	b = appendString(b, s.Service)
	if res == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = append(b, res[:]...)
	}
	b = appendString(b, s.ScopeName)
	b = appendString(b, s.ScopeVersion)
	b = appendAttrs(b, s.Attributes)
	b = binary.AppendUvarint(b, uint64(len(s.Events)))
	for i := range s.Events {
		e := &s.Events[i]
		b = binary.AppendVarint(b, e.Time-s.StartTime)
		b = appendString(b, e.Name)
		b = appendAttrs(b, e.Attributes)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Links)))
	for i := range s.Links {
		l := &s.Links[i]
		b = append(b, l.TraceID[:]...)
		b = append(b, l.SpanID[:]...)
		b = appendString(b, l.TraceState)
		b = appendAttrs(b, l.Attributes)
	}
	b = binary.AppendUvarint(b, uint64(s.DroppedAttributes))
	b = binary.AppendUvarint(b, uint64(s.DroppedEvents))
	b = binary.AppendUvarint(b, uint64(s.DroppedLinks))
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendAttrs(b []byte, attrs []storage.Attribute) []byte {
	b = binary.AppendUvarint(b, uint64(len(attrs)))
	for i := range attrs {
		b = appendString(b, attrs[i].Key)
		b = append(b, byte(attrs[i].Type))
		b = appendString(b, attrs[i].Value)
	}
	return b
}

var errTruncated = errors.New("truncated")

// decoder reads the encoding written by appendSpan from a string, so that
// every decoded string is a substring of one allocation. The first error
// sticks; every read after it returns zero values.
type decoder struct {
	s   string
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.s = ""
}

func (d *decoder) take(n int) string {
	if d.err != nil {
		return ""
	}
	if n < 0 || n > len(d.s) {
		d.fail(errTruncated)
		return ""
	}
	v := d.s[:n]
	d.s = d.s[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.s) == 0 {
		d.fail(errTruncated)
		return 0
	}
	v := d.s[0]
	d.s = d.s[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	var v uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.err != nil {
			return 0
		}
		if i >= len(d.s) {
			d.fail(errTruncated)
			return 0
		}
		c := d.s[i]
		if i == binary.MaxVarintLen64-1 && c > 1 {
			break
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			d.s = d.s[i+1:]
			return v
		}
	}
	d.fail(errors.New("varint overflows 64 bits"))
	return 0
}

func (d *decoder) uint32() uint32 {
	v := d.uvarint()
	if v > math.MaxUint32 {
		d.fail(fmt.Errorf("value %d overflows uint32", v))
		return 0
	}
	return uint32(v)
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.s)) {
		d.fail(errTruncated)
		return ""
	}
	return d.take(int(n))
}

// count reads a list length, refusing one that cannot fit in what is left
// (each item takes at least min bytes), so that bad input cannot make the
// decoder allocate much.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.s)/min) {
		d.fail(fmt.Errorf("list of %d items does not fit in %d bytes", n, len(d.s)))
		return 0
	}
	return int(n)
}

func (d *decoder) attrs() []storage.Attribute {
	n := d.count(3)
	if n == 0 {
		return nil
	}
	out := make([]storage.Attribute, n)
	for i := range out {
		out[i].Key = d.string()
		out[i].Type = storage.ValueType(d.byte())
		out[i].Value = d.string()
	}
	return out
}

// resolver returns the stored resource with an id.
type resolver interface {
	resource(id resID) ([]storage.Attribute, error)
}

// decodeSpan decodes a span written by appendSpan, reading its resource from
// res; with a nil res the span's Resource is left nil. Bad input is an
// error.
func decodeSpan(b []byte, res resolver) (storage.Span, error) {
	var s storage.Span
	d := decoder{s: string(b)}
	v := d.byte()
	if d.err == nil && v != 1 && v != spanVersion {
		return s, fmt.Errorf("decode span: unknown version %d", v)
	}
	copy(s.TraceID[:], d.take(16))
	copy(s.SpanID[:], d.take(8))
	copy(s.ParentSpanID[:], d.take(8))
	s.TraceState = d.string()
	s.Flags = d.uint32()
	s.Name = d.string()
	s.Kind = storage.SpanKind(d.byte())
	s.StartTime = d.varint()
	s.EndTime = s.StartTime + d.varint()
	s.StatusCode = storage.StatusCode(d.byte())
	s.StatusMessage = d.string()
	s.Service = d.string()
	var rid resID
	var hasRes bool
	if v == 1 {
		s.Resource = d.attrs()
	} else {
		switch d.byte() {
		case 0:
		case 1:
			copy(rid[:], d.take(16))
			hasRes = true
		default:
			d.fail(errors.New("bad resource reference"))
		}
	}
	s.ScopeName = d.string()
	s.ScopeVersion = d.string()
	s.Attributes = d.attrs()
	if n := d.count(3); n > 0 {
		s.Events = make([]storage.Event, n)
		for i := range s.Events {
			e := &s.Events[i]
			e.Time = s.StartTime + d.varint()
			e.Name = d.string()
			e.Attributes = d.attrs()
		}
	}
	if n := d.count(26); n > 0 {
		s.Links = make([]storage.Link, n)
		for i := range s.Links {
			l := &s.Links[i]
			copy(l.TraceID[:], d.take(16))
			copy(l.SpanID[:], d.take(8))
			l.TraceState = d.string()
			l.Attributes = d.attrs()
		}
	}
	s.DroppedAttributes = d.uint32()
	s.DroppedEvents = d.uint32()
	s.DroppedLinks = d.uint32()
	if d.err != nil {
		return storage.Span{}, fmt.Errorf("decode span: %w", d.err)
	}
	if len(d.s) != 0 {
		return storage.Span{}, fmt.Errorf("decode span: %d trailing bytes", len(d.s))
	}
	if hasRes && res != nil {
		r, err := res.resource(rid)
		if err != nil {
			return storage.Span{}, fmt.Errorf("decode span: %w", err)
		}
		s.Resource = r
	}
	return s, nil
}

// decodeAttrs decodes a stored resource, written by appendAttrs.
func decodeAttrs(b []byte) ([]storage.Attribute, error) {
	d := decoder{s: string(b)}
	a := d.attrs()
	if d.err == nil && len(d.s) != 0 {
		d.fail(fmt.Errorf("%d trailing bytes", len(d.s)))
	}
	if d.err != nil {
		return nil, fmt.Errorf("decode resource: %w", d.err)
	}
	return a, nil
}

// node is what the aggregates and summaries need of a span, decoded without
// its attributes, events and links.
type node struct {
	parent  storage.SpanID
	service string
	name    string
	kind    storage.SpanKind
	start   int64
	end     int64
	status  storage.StatusCode
}

func nodeOf(s *storage.Span) *node {
	return &node{
		parent: s.ParentSpanID, service: s.Service, name: s.Name, kind: s.Kind,
		start: s.StartTime, end: s.EndTime, status: s.StatusCode,
	}
}

// decodeNode decodes the head of a span written by appendSpan.
func decodeNode(b []byte) (*node, error) {
	var n node
	d := decoder{s: string(b)}
	v := d.byte()
	if d.err == nil && v != 1 && v != spanVersion {
		return nil, fmt.Errorf("decode span: unknown version %d", v)
	}
	d.take(16 + 8)
	copy(n.parent[:], d.take(8))
	d.string() // trace state
	d.uint32() // flags
	n.name = d.string()
	n.kind = storage.SpanKind(d.byte())
	n.start = d.varint()
	n.end = n.start + d.varint()
	n.status = storage.StatusCode(d.byte())
	d.string() // status message
	n.service = d.string()
	if d.err != nil {
		return nil, fmt.Errorf("decode span: %w", d.err)
	}
	return &n, nil
}

// span returns the fields of a span that storage.SummaryBuilder reads.
func (n *node) span() storage.Span {
	return storage.Span{
		ParentSpanID: n.parent, Service: n.service, Name: n.name, Kind: n.kind,
		StartTime: n.start, EndTime: n.end, StatusCode: n.status,
	}
}
