package otlp

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracerdev/tracer/storage"
)

// DecodeStats counts what Decode did.
type DecodeStats struct{ Spans, DroppedAttributes, TruncatedValues int }

const unknownService = "unknown_service"

// Decode turns a request body (as returned by Scan) into storage.Span values
// appended to dst.
//
// Resource attributes go to Span.Resource and service.name to Span.Service
// ("unknown_service" when absent or empty); scope name and version,
// attributes, events, links, status, kind, flags and dropped counts are
// copied. AnyValues become the canonical strings documented on
// storage.Attribute: ints in decimal, doubles with strconv 'g' -1 64, bools
// "true"/"false", bytes raw, arrays and key-value lists as JSON (elements in
// wire order; bytes as base64 strings; NaN and infinities as the strings
// "NaN", "Infinity", "-Infinity"; a value with nothing set as null).
//
// Limits: at most lim.MaxAttributes span attributes are kept, the rest are
// dropped, counted in DecodeStats and added to Span.DroppedAttributes. String
// values of span, event and link attributes (nested ones included) longer
// than lim.MaxAttributeValueLen are cut at a UTF-8 boundary and counted.
// Resource attributes are kept whole.
//
// A malformed body, or one that holds a span Scan would reject for its ids,
// times or empty name, is an error; dst is then returned at its original
// length. (Name length is left to Scan, so that records scanned under other
// limits still decode.)
//
// Ownership: the strings of the decoded spans share one copy of body, made
// by Decode (so the caller may reuse body), and spans of the same
// ResourceSpans share their Resource slice: treat it as read-only.
// Attribute, event and link slices have their capacity cut to their length,
// so appending to them never overwrites another span's.
func Decode(dst []storage.Span, body []byte, lim Limits) ([]storage.Span, DecodeStats, error) {
	return decode(dst, body, string(body), lim)
}

// DecodeImmutable is Decode for a body that nobody modifies any more (a WAL
// record, say): the decoded strings refer to body itself instead of a copy,
// which saves copying the body. The caller must not modify body afterwards,
// for as long as any decoded span or string is in use.
func DecodeImmutable(dst []storage.Span, body []byte, lim Limits) ([]storage.Span, DecodeStats, error) {
	return decode(dst, body, unsafe.String(unsafe.SliceData(body), len(body)), lim)
}

// decode decodes body, whose contents src holds as a string.
func decode(dst []storage.Span, body []byte, src string, lim Limits) ([]storage.Span, DecodeStats, error) {
	n0 := len(dst)
	d := decoder{lim: lim, body: body, src: src}
	dst, err := d.request(dst, body)
	if err != nil {
		return dst[:n0], d.stats, err
	}
	return dst, d.stats, nil
}

// decoder holds the state of one Decode call: slabs that the decoded spans'
// slices are cut from, so that a span costs no allocation of its own in the
// common case.
type decoder struct {
	lim   Limits
	body  []byte
	src   string // string(body): decoded strings are substrings of it
	stats DecodeStats

	attrs     []storage.Attribute
	attrStart int
	events    []storage.Event
	evStart   int
	links     []storage.Link
	lkStart   int

	arena strings.Builder // formatted numbers and JSON values
	json  []byte          // scratch for JSON values
	num   [32]byte        // scratch for numbers
}

const slabSize = 512

// str returns v as a string: a substring of d.src when v is part of d.body.
func (d *decoder) str(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	off := cap(d.body) - cap(v)
	if off >= 0 && off+len(v) <= len(d.body) && &d.body[off] == &v[0] {
		return d.src[off : off+len(v)]
	}
	return string(v)
}

// keep returns b as a string that lives in the arena.
func (d *decoder) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if d.arena.Cap()-d.arena.Len() < len(b) {
		d.arena = strings.Builder{}
		d.arena.Grow(max(4096, len(b)))
	}
	start := d.arena.Len()
	d.arena.Write(b)
	return d.arena.String()[start:]
}

// addAttr appends a to the attribute slab, keeping the current run (from
// d.attrStart) contiguous.
func (d *decoder) addAttr(a storage.Attribute) {
	if len(d.attrs) == cap(d.attrs) {
		run := len(d.attrs) - d.attrStart
		s := make([]storage.Attribute, run, max(slabSize, 2*run))
		copy(s, d.attrs[d.attrStart:])
		d.attrs, d.attrStart = s, 0
	}
	d.attrs = append(d.attrs, a)
}

// takeAttrs ends the current run and returns it (nil when empty).
func (d *decoder) takeAttrs() []storage.Attribute {
	run := d.attrs[d.attrStart:len(d.attrs):len(d.attrs)]
	d.attrStart = len(d.attrs)
	if len(run) == 0 {
		return nil
	}
	return run
}

func (d *decoder) request(dst []storage.Span, b []byte) ([]storage.Span, error) {
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return dst, err
		}
		b = rest
		if err := requestTypes.check(&f); err != nil {
			return dst, err
		}
		if f.num == reqResourceSpans {
			if dst, err = d.resourceSpans(dst, f.val); err != nil {
				return dst, err
			}
		}
	}
	return dst, nil
}

// resourceSpans decodes one ResourceSpans. Its resource may come after its
// scope spans on the wire, so a first pass collects the resource.
func (d *decoder) resourceSpans(dst []storage.Span, b []byte) ([]storage.Span, error) {
	for rb := b; len(rb) > 0; {
		f, rest, err := next(rb)
		if err != nil {
			return dst, err
		}
		rb = rest
		if err := resourceSpansTypes.check(&f); err != nil {
			return dst, err
		}
		if f.num == rsResource {
			if err := d.resource(f.val); err != nil {
				return dst, err
			}
		}
	}
	res := d.takeAttrs()
	service := ""
	for _, a := range res {
		if a.Key == "service.name" {
			service = a.Value
			break
		}
	}
	if service == "" {
		service = unknownService
	}
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return dst, err
		}
		b = rest
		if f.num == rsScopeSpans {
			if dst, err = d.scopeSpans(dst, f.val, res, service); err != nil {
				return dst, err
			}
		}
	}
	return dst, nil
}

func (d *decoder) resource(b []byte) error {
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if err := resourceTypes.check(&f); err != nil {
			return err
		}
		if f.num == resAttributes {
			a, err := d.keyValue(f.val, false)
			if err != nil {
				return err
			}
			d.addAttr(a)
		}
	}
	return nil
}

func (d *decoder) scopeSpans(dst []storage.Span, b []byte, res []storage.Attribute, service string) ([]storage.Span, error) {
	var name, version string
	for sb := b; len(sb) > 0; {
		f, rest, err := next(sb)
		if err != nil {
			return dst, err
		}
		sb = rest
		if err := scopeSpansTypes.check(&f); err != nil {
			return dst, err
		}
		if f.num != ssScope {
			continue
		}
		for cb := f.val; len(cb) > 0; {
			g, rest, err := next(cb)
			if err != nil {
				return dst, err
			}
			cb = rest
			if err := scopeTypes.check(&g); err != nil {
				return dst, err
			}
			switch g.num {
			case scopeName:
				name = d.str(g.val)
			case scopeVersion:
				version = d.str(g.val)
			case scopeAttributes:
				if err := checkKeyValue(g.val, 0); err != nil {
					return dst, err
				}
			}
		}
	}
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return dst, err
		}
		b = rest
		if f.num != ssSpans {
			continue
		}
		dst = append(dst, storage.Span{
			Service: service, Resource: res, ScopeName: name, ScopeVersion: version,
		})
		if err := d.span(&dst[len(dst)-1], f.val); err != nil {
			return dst, fmt.Errorf("span %d: %w", d.stats.Spans, err)
		}
		d.stats.Spans++
	}
	return dst, nil
}

// span decodes one Span into sp. Attributes come first (one pass), events
// and links in a second pass, so that each slab run stays contiguous.
func (d *decoder) span(sp *storage.Span, b []byte) error {
	var sf spanFacts
	var nested bool
	for rb := b; len(rb) > 0; {
		// Fast paths for the times and for short ids, names and
		// attributes: one-byte tags and lengths.
		if len(rb) >= 9 && (rb[0] == spStart<<3|1 || rb[0] == spEnd<<3|1) {
			v := binary.LittleEndian.Uint64(rb[1:])
			if rb[0] == spStart<<3|1 {
				sf.start = v
			} else {
				sf.end = v
			}
			rb = rb[9:]
			continue
		}
		if len(rb) >= 2 && rb[1] < 0x80 && 2+int(rb[1]) <= len(rb) {
			v := rb[2 : 2+int(rb[1])]
			switch rb[0] {
			case spTraceID<<3 | 2:
				sf.traceID = v
			case spSpanID<<3 | 2:
				sf.spanID = v
			case spParentSpanID<<3 | 2:
				sf.parentSpanID = v
			case spName<<3 | 2:
				sf.nameLen = len(v)
				sp.Name = d.str(v)
			case spAttributes<<3 | 2:
				if err := d.spanAttr(sp, v); err != nil {
					return err
				}
			default:
				v = nil
			}
			if v != nil {
				rb = rb[2+len(v):]
				continue
			}
		}
		f, rest, err := next(rb)
		if err != nil {
			return err
		}
		rb = rest
		if err := spanTypes.check(&f); err != nil {
			return err
		}
		switch f.num {
		case spTraceID:
			sf.traceID = f.val
		case spSpanID:
			sf.spanID = f.val
		case spParentSpanID:
			sf.parentSpanID = f.val
		case spTraceState:
			sp.TraceState = d.str(f.val)
		case spName:
			sf.nameLen = len(f.val)
			sp.Name = d.str(f.val)
		case spKind:
			sp.Kind = storage.SpanKind(enum(f.u64, int64(storage.KindConsumer)))
		case spStart:
			sf.start = f.u64
		case spEnd:
			sf.end = f.u64
		case spAttributes:
			if err := d.spanAttr(sp, f.val); err != nil {
				return err
			}
		case spDroppedAttrs:
			sp.DroppedAttributes += uint32(f.u64)
		case spDroppedEvts:
			sp.DroppedEvents = uint32(f.u64)
		case spDroppedLinks:
			sp.DroppedLinks = uint32(f.u64)
		case spEvents, spLinks:
			nested = true
		case spStatus:
			if err := d.status(sp, f.val); err != nil {
				return err
			}
		case spFlags:
			sp.Flags = uint32(f.u64)
		}
	}
	// MaxNameLen is Scan's to apply: a body scanned under other limits (a
	// replay after a configuration change) still decodes.
	if r := sf.reason(0); r != valid {
		return fmt.Errorf("invalid: %s (run Scan first)", reasonText[r][0])
	}
	copy(sp.TraceID[:], sf.traceID)
	copy(sp.SpanID[:], sf.spanID)
	copy(sp.ParentSpanID[:], sf.parentSpanID)
	sp.StartTime = int64(sf.start)
	sp.EndTime = int64(sf.end)
	sp.Attributes = d.takeAttrs()
	if !nested {
		return nil
	}
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		switch f.num {
		case spEvents:
			e, err := d.event(f.val)
			if err != nil {
				return err
			}
			if len(d.events) == cap(d.events) {
				run := len(d.events) - d.evStart
				s := make([]storage.Event, run, max(slabSize/4, 2*run))
				copy(s, d.events[d.evStart:])
				d.events, d.evStart = s, 0
			}
			d.events = append(d.events, e)
		case spLinks:
			l, err := d.link(f.val)
			if err != nil {
				return err
			}
			if len(d.links) == cap(d.links) {
				run := len(d.links) - d.lkStart
				s := make([]storage.Link, run, max(slabSize/8, 2*run))
				copy(s, d.links[d.lkStart:])
				d.links, d.lkStart = s, 0
			}
			d.links = append(d.links, l)
		}
	}
	if n := len(d.events); n > d.evStart {
		sp.Events = d.events[d.evStart:n:n]
		d.evStart = n
	}
	if n := len(d.links); n > d.lkStart {
		sp.Links = d.links[d.lkStart:n:n]
		d.lkStart = n
	}
	return nil
}

// spanAttr decodes a span attribute, or drops and counts it past
// MaxAttributes.
func (d *decoder) spanAttr(sp *storage.Span, b []byte) error {
	if d.lim.MaxAttributes > 0 && len(d.attrs)-d.attrStart >= d.lim.MaxAttributes {
		if err := checkKeyValue(b, 0); err != nil {
			return err
		}
		sp.DroppedAttributes++
		d.stats.DroppedAttributes++
		return nil
	}
	a, err := d.keyValue(b, true)
	if err != nil {
		return err
	}
	d.addAttr(a)
	return nil
}

// enum returns v as an int32 enum value when it is in [0, hi], else 0.
func enum(v uint64, hi int64) int64 {
	e := int64(int32(v))
	if e < 0 || e > hi {
		return 0
	}
	return e
}

func (d *decoder) status(sp *storage.Span, b []byte) error {
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if err := statusTypes.check(&f); err != nil {
			return err
		}
		switch f.num {
		case stMessage:
			sp.StatusMessage = d.str(f.val)
		case stCode:
			sp.StatusCode = storage.StatusCode(enum(f.u64, int64(storage.StatusError)))
		}
	}
	return nil
}

func (d *decoder) event(b []byte) (storage.Event, error) {
	var e storage.Event
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return e, err
		}
		b = rest
		if err := eventTypes.check(&f); err != nil {
			return e, err
		}
		switch f.num {
		case evTime:
			e.Time = int64(f.u64)
		case evName:
			e.Name = d.str(f.val)
		case evAttributes:
			a, err := d.keyValue(f.val, true)
			if err != nil {
				return e, err
			}
			d.addAttr(a)
		}
	}
	e.Attributes = d.takeAttrs()
	return e, nil
}

// link decodes a Link. Ids of the wrong length are left zero.
func (d *decoder) link(b []byte) (storage.Link, error) {
	var l storage.Link
	var tid, sid []byte
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return l, err
		}
		b = rest
		if err := linkTypes.check(&f); err != nil {
			return l, err
		}
		switch f.num {
		case lkTraceID:
			tid = f.val
		case lkSpanID:
			sid = f.val
		case lkTraceState:
			l.TraceState = d.str(f.val)
		case lkAttributes:
			a, err := d.keyValue(f.val, true)
			if err != nil {
				return l, err
			}
			d.addAttr(a)
		}
	}
	if len(tid) == len(l.TraceID) {
		copy(l.TraceID[:], tid)
	}
	if len(sid) == len(l.SpanID) {
		copy(l.SpanID[:], sid)
	}
	l.Attributes = d.takeAttrs()
	return l, nil
}

// keyValue decodes a KeyValue; limit says whether MaxAttributeValueLen
// applies. A value field that appears more than once is merged, as protobuf
// does.
func (d *decoder) keyValue(b []byte, limit bool) (storage.Attribute, error) {
	var a storage.Attribute
	// Fast path for the common shape: a key with a one-byte length, then a
	// value with a one-byte length holding a single short string or an int.
	if len(b) >= 2 && b[0] == 0x0a && b[1] < 0x80 {
		k := 2 + int(b[1])
		if k+2 <= len(b) && b[k] == 0x12 && b[k+1] < 0x80 && k+2+int(b[k+1]) == len(b) {
			v := b[k+2:]
			switch {
			case len(v) >= 2 && v[0] == 0x0a && v[1] < 0x80 && 2+int(v[1]) == len(v):
				s := v[2:]
				if limit {
					s = d.truncate(s)
				}
				return storage.Attribute{Key: d.str(b[2:k]), Type: storage.TypeString, Value: d.str(s)}, nil
			case len(v) >= 2 && v[0] == 0x18:
				if n, m := protowire.ConsumeVarint(v[1:]); m > 0 && 1+m == len(v) {
					return storage.Attribute{Key: d.str(b[2:k]), Type: storage.TypeInt,
						Value: d.keep(strconv.AppendInt(d.num[:0], int64(n), 10))}, nil
				}
			}
		}
	}
	var val []byte
	var merged []byte // only when the value field repeats
	n := 0
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return a, err
		}
		b = rest
		if err := keyValueTypes.check(&f); err != nil {
			return a, err
		}
		switch f.num {
		case kvKey:
			a.Key = d.str(f.val)
		case kvValue:
			n++
			switch n {
			case 1:
				val = f.val
			case 2:
				merged = append(append(merged, val...), f.val...)
				val = merged
			default:
				merged = append(merged, f.val...)
				val = merged
			}
		}
	}
	t, v, err := d.anyValue(val, limit)
	a.Type, a.Value = t, v
	return a, err
}

// oneof finds which field of the AnyValue in b is set: the last one seen.
// For the message kinds (array, kvlist) the value is the merge of the run of
// that field since the last other oneof field: run is where it starts in b.
func oneof(b []byte) (which protowire.Number, last field, run int, err error) {
	for pos := 0; pos < len(b); {
		f, _, err := next(b[pos:])
		if err != nil {
			return 0, field{}, 0, err
		}
		if err := anyValueTypes.check(&f); err != nil {
			return 0, field{}, 0, err
		}
		if f.num >= avString && f.num <= avStrindex {
			if f.num != which {
				run = pos
			}
			which, last = f.num, f
		}
		pos += f.size
	}
	return which, last, run, nil
}

func (d *decoder) anyValue(b []byte, limit bool) (storage.ValueType, string, error) {
	which, f, run, err := oneof(b)
	if err != nil {
		return 0, "", err
	}
	switch which {
	case avString:
		v := f.val
		if limit {
			v = d.truncate(v)
		}
		return storage.TypeString, d.str(v), nil
	case avBool:
		if f.u64 != 0 {
			return storage.TypeBool, "true", nil
		}
		return storage.TypeBool, "false", nil
	case avInt:
		return storage.TypeInt, d.keep(strconv.AppendInt(d.num[:0], int64(f.u64), 10)), nil
	case avDouble:
		return storage.TypeDouble, d.keep(strconv.AppendFloat(d.num[:0], math.Float64frombits(f.u64), 'g', -1, 64)), nil
	case avBytes:
		return storage.TypeBytes, d.str(f.val), nil
	case avArray, avKVList:
		js, err := d.appendList(d.json[:0], b[run:], which, limit, 0)
		d.json = js[:0]
		if err != nil {
			return 0, "", err
		}
		if which == avArray {
			return storage.TypeArray, d.keep(js), nil
		}
		return storage.TypeMap, d.keep(js), nil
	}
	return storage.TypeString, "", nil
}

// truncate cuts v to MaxAttributeValueLen bytes at a UTF-8 boundary.
func (d *decoder) truncate(v []byte) []byte {
	max := d.lim.MaxAttributeValueLen
	if max <= 0 || len(v) <= max {
		return v
	}
	d.stats.TruncatedValues++
	n := max
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return v[:n]
}

// appendList appends the JSON of the merged run of field which (avArray or
// avKVList) found in the AnyValue fields b.
func (d *decoder) appendList(js, b []byte, which protowire.Number, limit bool, depth int) ([]byte, error) {
	if depth >= maxDepth {
		return js, fmt.Errorf("%w: attribute values nested deeper than %d", errMalformed, maxDepth)
	}
	kv := which == avKVList
	if kv {
		js = append(js, '{')
	} else {
		js = append(js, '[')
	}
	first := true
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return js, err
		}
		b = rest
		if f.num >= avString && f.num <= avStrindex && f.num != which {
			break // the run ends at the next other oneof field
		}
		if f.num != which {
			continue
		}
		for lb := f.val; len(lb) > 0; {
			g, rest, err := next(lb)
			if err != nil {
				return js, err
			}
			lb = rest
			if err := listTypes.check(&g); err != nil {
				return js, err
			}
			if g.num != listValues {
				continue
			}
			if !first {
				js = append(js, ',')
			}
			first = false
			if kv {
				js, err = d.appendKeyValue(js, g.val, limit, depth+1)
			} else {
				js, err = d.appendValue(js, g.val, limit, depth+1)
			}
			if err != nil {
				return js, err
			}
		}
	}
	if kv {
		return append(js, '}'), nil
	}
	return append(js, ']'), nil
}

func (d *decoder) appendKeyValue(js, b []byte, limit bool, depth int) ([]byte, error) {
	var key, val []byte
	var merged []byte
	n := 0
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return js, err
		}
		b = rest
		if err := keyValueTypes.check(&f); err != nil {
			return js, err
		}
		switch f.num {
		case kvKey:
			key = f.val
		case kvValue:
			n++
			if n == 1 {
				val = f.val
			} else {
				if n == 2 {
					merged = append(merged, val...)
				}
				merged = append(merged, f.val...)
				val = merged
			}
		}
	}
	js = storage.AppendJSONString(js, key)
	js = append(js, ':')
	return d.appendValue(js, val, limit, depth)
}

// appendValue appends the JSON of an AnyValue.
func (d *decoder) appendValue(js, b []byte, limit bool, depth int) ([]byte, error) {
	which, f, run, err := oneof(b)
	if err != nil {
		return js, err
	}
	switch which {
	case avString:
		v := f.val
		if limit {
			v = d.truncate(v)
		}
		return storage.AppendJSONString(js, v), nil
	case avBool:
		if f.u64 != 0 {
			return append(js, "true"...), nil
		}
		return append(js, "false"...), nil
	case avInt:
		return strconv.AppendInt(js, int64(f.u64), 10), nil
	case avDouble:
		return storage.AppendJSONFloat(js, math.Float64frombits(f.u64)), nil
	case avBytes:
		js = append(js, '"')
		js = base64.StdEncoding.AppendEncode(js, f.val)
		return append(js, '"'), nil
	case avArray, avKVList:
		return d.appendList(js, b[run:], which, limit, depth)
	}
	return append(js, "null"...), nil
}
