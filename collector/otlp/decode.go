package otlp

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

// DecodeStats counts what Decode did, and what the limits cut.
type DecodeStats struct {
	Spans int
	// DroppedAttributes counts the attributes of spans, resources, events
	// and links dropped by the count limits.
	DroppedAttributes int
	// TruncatedValues counts the attribute string values cut to
	// MaxAttributeValueLen.
	TruncatedValues int
	// TruncatedStrings counts the other strings cut to their limits (keys,
	// status messages, event names, scope names and versions) and the trace
	// states dropped for their length.
	TruncatedStrings int
	// DroppedEvents and DroppedLinks count what MaxEvents and MaxLinks
	// dropped.
	DroppedEvents, DroppedLinks int
	// Skipped counts spans left out because Scan would reject them for
	// time_out_of_range, invalid_kind or invalid_status: checks that older
	// collectors did not make, so that their WAL records still decode.
	Skipped int
}

const (
	serviceName    = "service.name"
	unknownService = "unknown_service"
)

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
// Limits: every count and length of lim except MaxSpans and MaxNameLen is
// applied here, as its doc in Limits says (cut or dropped, and counted in
// DecodeStats); span attributes past the count also add to
// Span.DroppedAttributes, and events and links past theirs to
// Span.DroppedEvents and Span.DroppedLinks. Clock attributes are kept whole
// and beyond the count (see Limits).
//
// A malformed body, or one that holds a span Scan would reject, is an
// error; dst is then returned at its original length. Two exceptions, so
// that records scanned by other versions or under other limits still
// decode: the name length is left to Scan, and a span invalid for its times,
// kind or status (which older collectors accepted) is left out and counted
// in DecodeStats.Skipped, the rest of the body decoded.
//
// Ownership: the strings of the decoded spans share one copy of body, made
// by Decode (so the caller may reuse body), and spans of the same
// ResourceSpans share their Resource slice, the same backing array for all of
// them (a store may detect that by identity and keep the resource once):
// treat it as read-only. Decoding costs no memory per span for the resource,
// however large it is.
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

	clockExtra int // clock attributes the current span keeps past MaxAttributes

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
		if a.Key == serviceName {
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

// resource decodes a Resource's attributes. Past MaxResourceAttributes
// they are dropped, but for service.name: the span's Service comes from it.
func (d *decoder) resource(b []byte) error {
	n, service := 0, false
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
			if over(n, d.lim.MaxResourceAttributes) && (service || string(kvKeyOf(f.val)) != serviceName) {
				d.stats.DroppedAttributes++
				continue
			}
			n++
			if !service && string(kvKeyOf(f.val)) == serviceName {
				service = true
			}
			a, err := d.keyValue(f.val)
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
				name = d.str(d.cut(g.val, d.lim.MaxScopeLen))
			case scopeVersion:
				version = d.str(d.cut(g.val, d.lim.MaxScopeLen))
			case scopeAttributes:
				if err := checkKeyValue(g.val, 0); err != nil {
					return dst, fmt.Errorf("scope attribute: %w", err)
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
		if err := d.span(&dst[len(dst)-1], f.val); err == errSkip {
			dst = dst[:len(dst)-1]
			d.stats.Skipped++
			continue
		} else if err != nil {
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
	d.clockExtra = 0
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
			sp.TraceState = d.str(d.traceState(f.val))
		case spName:
			sf.nameLen = len(f.val)
			sp.Name = d.str(f.val)
		case spKind:
			sf.kind = f.u64
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
			if err := d.status(sp, &sf, f.val); err != nil {
				return err
			}
		case spFlags:
			sp.Flags = uint32(f.u64)
		}
	}
	// MaxNameLen is Scan's to apply: a body scanned under other limits (a
	// replay after a configuration change) still decodes.
	if r := sf.reason(0); r != valid {
		if skipped(r) {
			d.attrs = d.attrs[:d.attrStart] // the span's attributes, not the next one's
			return errSkip
		}
		return fmt.Errorf("invalid: %s (run Scan first)", reasonText[r][1])
	}
	sp.Kind = storage.SpanKind(sf.kind)
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
			if over(len(d.events)-d.evStart, d.lim.MaxEvents) {
				sp.DroppedEvents++
				d.stats.DroppedEvents++
				continue
			}
			e, err := d.event(f.val)
			if err == errSkip {
				d.events, d.links = d.events[:d.evStart], d.links[:d.lkStart]
				return errSkip
			}
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
			if over(len(d.links)-d.lkStart, d.lim.MaxLinks) {
				sp.DroppedLinks++
				d.stats.DroppedLinks++
				continue
			}
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
	if over(len(d.attrs)-d.attrStart-d.clockExtra, d.lim.MaxAttributes) {
		if err := checkKeyValue(b, 0); err != nil {
			return err
		}
		if !clockKey(kvKeyOf(b)) || d.clockExtra >= len(clockKeys) {
			sp.DroppedAttributes++
			d.stats.DroppedAttributes++
			return nil
		}
		d.clockExtra++
	}
	a, err := d.keyValue(b)
	if err != nil {
		return err
	}
	d.addAttr(a)
	return nil
}

// errSkip is what span returns for a span to leave out and count in
// DecodeStats.Skipped.
var errSkip = errors.New("skip span")

// skipped reports whether Decode skips a span invalid for reason r instead
// of failing: the reasons Scan did not check before, so that a WAL written
// by an older collector still decodes (its other spans are not lost).
func skipped(r RejectReason) bool {
	return r == RejectTimeOutOfRange || r == RejectInvalidKind || r == RejectInvalidStatus
}

// over reports whether n items already kept reach the limit max (0:
// unlimited).
func over(n, max int) bool { return max > 0 && n >= max }

// clockKeys are the attributes that carry a span's vector clock.
var clockKeys = [...]string{vclock.AttrNode, vclock.AttrTick, vclock.AttrDeps, vclock.AttrEndTick, vclock.AttrEndDeps}

// clockKey reports whether k is one of clockKeys.
func clockKey(k []byte) bool {
	if len(k) < len("tracer.vc.") || string(k[:len("tracer.vc.")]) != "tracer.vc." {
		return false
	}
	for _, c := range clockKeys {
		if string(k) == c {
			return true
		}
	}
	return false
}

// kvKeyOf returns the key of the KeyValue b (already checked): the last
// key field, as protobuf merges.
func kvKeyOf(b []byte) []byte {
	var k []byte
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return k
		}
		b = rest
		if f.num == kvKey {
			k = f.val
		}
	}
	return k
}

func (d *decoder) status(sp *storage.Span, sf *spanFacts, b []byte) error {
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
			sp.StatusMessage = d.str(d.cut(f.val, d.lim.MaxStatusMessageLen))
		case stCode:
			sf.status = f.u64
			sp.StatusCode = storage.StatusCode(f.u64) // checked by span
		}
	}
	return nil
}

func (d *decoder) event(b []byte) (storage.Event, error) {
	var e storage.Event
	n := 0
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
			if f.u64 >= maxTime {
				return e, errSkip
			}
			e.Time = int64(f.u64)
		case evName:
			e.Name = d.str(d.cut(f.val, d.lim.MaxEventNameLen))
		case evAttributes:
			if over(n, d.lim.MaxEventAttributes) {
				d.stats.DroppedAttributes++
				continue
			}
			n++
			a, err := d.keyValue(f.val)
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
	n := 0
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
			l.TraceState = d.str(d.traceState(f.val))
		case lkAttributes:
			if over(n, d.lim.MaxLinkAttributes) {
				d.stats.DroppedAttributes++
				continue
			}
			n++
			a, err := d.keyValue(f.val)
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

// keyValue decodes a KeyValue, cutting its key and string values to their
// limits unless it is a clock attribute. A value field that appears more
// than once is merged, as protobuf does.
func (d *decoder) keyValue(b []byte) (storage.Attribute, error) {
	var a storage.Attribute
	// Fast path for the common shape: a key with a one-byte length, then a
	// value with a one-byte length holding a single short string or an int.
	if len(b) >= 2 && b[0] == 0x0a && b[1] < 0x80 {
		k := 2 + int(b[1])
		if k+2 <= len(b) && b[k] == 0x12 && b[k+1] < 0x80 && k+2+int(b[k+1]) == len(b) {
			v := b[k+2:]
			key := b[2:k]
			switch {
			case len(v) >= 2 && v[0] == 0x0a && v[1] < 0x80 && 2+int(v[1]) == len(v):
				s := v[2:]
				if !clockKey(key) {
					s = d.truncate(s)
					key = d.cut(key, d.lim.MaxKeyLen)
				}
				return storage.Attribute{Key: d.str(key), Type: storage.TypeString, Value: d.str(s)}, nil
			case len(v) >= 2 && v[0] == 0x18:
				if n, m := protowire.ConsumeVarint(v[1:]); m > 0 && 1+m == len(v) {
					if !clockKey(key) {
						key = d.cut(key, d.lim.MaxKeyLen)
					}
					return storage.Attribute{Key: d.str(key), Type: storage.TypeInt,
						Value: d.keep(strconv.AppendInt(d.num[:0], int64(n), 10))}, nil
				}
			}
		}
	}
	var key, val []byte
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
			key = f.val
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
	limit := !clockKey(key)
	if limit {
		key = d.cut(key, d.lim.MaxKeyLen)
	}
	a.Key = d.str(key)
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
	return cutUTF8(v, max)
}

// cut cuts v to max bytes (0: unlimited) at a UTF-8 boundary, counting it
// in TruncatedStrings.
func (d *decoder) cut(v []byte, max int) []byte {
	if max <= 0 || len(v) <= max {
		return v
	}
	d.stats.TruncatedStrings++
	return cutUTF8(v, max)
}

// cutUTF8 returns v cut to at most max < len(v) bytes, at a rune start.
func cutUTF8(v []byte, max int) []byte {
	n := max
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return v[:n]
}

// traceState returns v, or nil (counted) when it is longer than
// MaxTraceStateLen.
func (d *decoder) traceState(v []byte) []byte {
	if max := d.lim.MaxTraceStateLen; max > 0 && len(v) > max {
		d.stats.TruncatedStrings++
		return nil
	}
	return v
}

// appendList appends the JSON of the merged run of field which (avArray or
// avKVList) found in the AnyValue fields b.
func (d *decoder) appendList(js, b []byte, which protowire.Number, limit bool, depth int) ([]byte, error) {
	if depth >= maxDepth {
		return js, fmt.Errorf("invalid: %s (run Scan first)", reasonText[RejectNestingTooDeep][1])
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
	if limit {
		key = d.cut(key, d.lim.MaxKeyLen)
	}
	js = storage.AppendJSONString(js, key)
	js = append(js, ':')
	return d.appendValue(js, val, limit, depth)
}

// appendValue appends the JSON of an AnyValue.
func (d *decoder) appendValue(js, b []byte, limit bool, depth int) ([]byte, error) {
	if depth >= maxDepth {
		return js, fmt.Errorf("invalid: %s (run Scan first)", reasonText[RejectNestingTooDeep][1])
	}
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
