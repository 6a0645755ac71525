package badger

import (
	"crypto/sha256"
	"encoding/binary"
	"strings"

	"github.com/tracerdev/tracer/storage"
)

// Key prefixes. See doc.go for the layout.
const (
	pSpan     byte = 0x01 // trace | span -> encoded span
	pService  byte = 0x02 // term(service) | start | trace | span
	pOp       byte = 0x03 // term(service) | term(name) | start | trace | span
	pAttr     byte = 0x04 // term(key) | term(value) | start | trace | span
	pDuration byte = 0x05 // term(service) | duration | start | trace | span
	pTime     byte = 0x06 // start | trace | span -> parent | status | service
	pServices byte = 0x07 // term(service) -> service
	pOps      byte = 0x08 // term(service) | term(name) | kind -> name
	pResource byte = 0x09 // resID -> resource attributes
	pResUse   byte = 0x0a // resID | hour -> nothing: spans of that hour use it
	pChild    byte = 0x0b // trace | parent | span -> start | status | service
	pRED      byte = 0x0c // level | group | bucket | term(service) [| term(name)] | kind -> counts
	pEdge     byte = 0x0d // level | bucket | term(parent) | term(child) -> counts
	pSkew     byte = 0x0e // start | trace | span -> parent start | status | parent, child services
	pAttrKey  byte = 0x0f // hour | resource | term(service) | term(key) -> key
	pAttrVal  byte = 0x10 // hour | resource | term(service) | term(key) | term(value) -> value
	pMeta     byte = 0x7f // name -> value: the store's own records (format version)
)

// resKey is the key of a stored resource.
func resKey(b []byte, id resID) []byte {
	return append(append(b, pResource), id[:]...)
}

// resUseKey says that spans that started in the hour of start refer to
// resource id: Purge deletes a resource once no hour is left.
func resUseKey(b []byte, id resID, start int64) []byte {
	b = append(append(b, pResUse), id[:]...)
	return appendTime(b, hourOf(start))
}

// Widths of the aggregates' time buckets, in nanoseconds.
const (
	minuteNs = int64(60e9)
	hourNs   = int64(3600e9)
)

// hourOf is the start of the hour of t (unix nanoseconds).
func hourOf(t int64) int64 { return floorTo(t, hourNs) }

// floorTo rounds t down to a multiple of w, negative times included.
func floorTo(t, w int64) int64 {
	f := t / w * w
	if f > t {
		f -= w
	}
	return f
}

// ceilTo rounds t up to a multiple of w.
func ceilTo(t, w int64) int64 {
	f := floorTo(t, w)
	if f < t {
		f += w
	}
	return f
}

// idLen is the trace id and span id that end every index key.
const idLen = 16 + 8

// suffixLen is start time and ids, the fixed tail of time-ordered index keys.
const suffixLen = 8 + idLen

// maxInlineTerm is the longest string a key holds as is; longer ones are
// replaced by a hash, and readers confirm every hit against the span.
const maxInlineTerm = 256

// appendTerm appends s so that no term is a prefix of another: a 0 byte, a
// uvarint length and the bytes, or for long strings a 1 byte and 16 bytes of
// SHA-256.
func appendTerm(b []byte, s string) []byte {
	if len(s) > maxInlineTerm {
		h := sha256.Sum256([]byte(s))
		b = append(b, 1)
		return append(b, h[:16]...)
	}
	b = append(b, 0)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendTime appends t so that byte order is numeric order, negative times
// included.
func appendTime(b []byte, t int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(t)^(1<<63))
}

func readTime(b []byte) int64 {
	return int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
}

func appendDuration(b []byte, d int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(max(d, 0)))
}

func appendIDs(b []byte, s *storage.Span) []byte {
	b = append(b, s.TraceID[:]...)
	return append(b, s.SpanID[:]...)
}

func spanKey(b []byte, t storage.TraceID, s storage.SpanID) []byte {
	b = append(b, pSpan)
	b = append(b, t[:]...)
	return append(b, s[:]...)
}

// suffix is the tail of a time-ordered index key.
type suffix struct {
	start int64
	trace storage.TraceID
	span  storage.SpanID
}

// parseSuffix reads the last suffixLen bytes of k; ok is false for a key too
// short to be an index key.
func parseSuffix(k []byte) (suffix, bool) {
	if len(k) < suffixLen+1 {
		return suffix{}, false
	}
	k = k[len(k)-suffixLen:]
	var s suffix
	s.start = readTime(k)
	copy(s.trace[:], k[8:24])
	copy(s.span[:], k[24:])
	return s, true
}

// unindexedPrefix marks the attributes the attribute index leaves out: the
// vector clock's, which change on every span and are never searched by
// value in practice. A query on them still works, by testing spans.
const unindexedPrefix = "tracer.vc."

func indexedAttr(key string) bool { return !strings.HasPrefix(key, unindexedPrefix) }

// effectiveAttrs calls fn with each attribute a query can match on the span:
// its own attributes, and the resource's whose key the span does not have.
func effectiveAttrs(s *storage.Span, fn func(a *storage.Attribute)) {
	for i := range s.Attributes {
		fn(&s.Attributes[i])
	}
	for i := range s.Resource {
		if _, ok := s.Attribute(s.Resource[i].Key); !ok {
			fn(&s.Resource[i])
		}
	}
}

// indexKeys calls fn with every index key of s (the span key excluded) and
// its value. The slices are only valid during the call.
func indexKeys(buf []byte, s *storage.Span, fn func(k, v []byte)) []byte {
	key := func(prefix byte, parts func(b []byte) []byte) []byte {
		buf = append(buf[:0], prefix)
		buf = parts(buf)
		buf = appendTime(buf, s.StartTime)
		buf = appendIDs(buf, s)
		return buf
	}
	fn(key(pService, func(b []byte) []byte { return appendTerm(b, s.Service) }), nil)
	fn(key(pOp, func(b []byte) []byte { return appendTerm(appendTerm(b, s.Service), s.Name) }), nil)
	fn(key(pDuration, func(b []byte) []byte {
		return appendDuration(appendTerm(b, s.Service), s.EndTime-s.StartTime)
	}), nil)
	effectiveAttrs(s, func(a *storage.Attribute) {
		if !indexedAttr(a.Key) {
			return
		}
		fn(key(pAttr, func(b []byte) []byte { return appendTerm(appendTerm(b, a.Key), a.Value) }), nil)
	})
	// A resource attribute that the span overrides with another value is
	// indexed too, so that the attribute index holds every span a
	// Query.ResourceAttributes entry can match (hits are confirmed).
	for i := range s.Resource {
		a := &s.Resource[i]
		if own, ok := s.Attribute(a.Key); ok && own.Value != a.Value && indexedAttr(a.Key) {
			fn(key(pAttr, func(b []byte) []byte { return appendTerm(appendTerm(b, a.Key), a.Value) }), nil)
		}
	}
	k := key(pTime, func(b []byte) []byte { return b })
	v := append(buf[len(k):len(k):cap(buf)], s.ParentSpanID[:]...)
	v = append(v, byte(s.StatusCode))
	v = append(v, s.Service...)
	fn(k, v)
	if !s.ParentSpanID.IsZero() {
		buf = append(buf[:0], pChild)
		buf = append(buf, s.TraceID[:]...)
		buf = append(buf, s.ParentSpanID[:]...)
		buf = append(buf, s.SpanID[:]...)
		n := len(buf)
		buf = appendTime(buf, s.StartTime)
		buf = append(buf, byte(s.StatusCode))
		buf = append(buf, s.Service...)
		fn(buf[:n:n], buf[n:])
	}
	return buf
}

// childKeyLen is the length of a 0x0b key: prefix, trace, parent, span.
const childKeyLen = 1 + 16 + 8 + 8

// parseTerm returns the length of the term at the start of b, or -1.
func parseTerm(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	switch b[0] {
	case 0:
		n, w := binary.Uvarint(b[1:])
		if w <= 0 || uint64(len(b)-1-w) < n {
			return -1
		}
		return 1 + w + int(n)
	case 1:
		if len(b) < 17 {
			return -1
		}
		return 17
	}
	return -1
}

func serviceListKey(b []byte, service string) []byte {
	return appendTerm(append(b, pServices), service)
}

func opListKey(b []byte, service, name string, kind storage.SpanKind) []byte {
	b = appendTerm(appendTerm(append(b, pOps), service), name)
	return append(b, byte(kind))
}
