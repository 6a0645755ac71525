package otlp

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracerdev/tracer/storage"
)

// RejectReason is why Scan rejected a span. Its String is a stable short
// name, fit for a metric label.
type RejectReason int

// The reasons, in the order Scan checks them: a span invalid in several
// ways is counted under the first.
const (
	RejectTraceID        RejectReason = iota // invalid_trace_id: not 16 bytes, or all zero
	RejectSpanID                             // invalid_span_id: not 8 bytes, or all zero
	RejectParentSpanID                       // invalid_parent_span_id: neither empty nor 8 bytes
	RejectNoStartTime                        // no_start_time: start time 0
	RejectTimeOutOfRange                     // time_out_of_range: a span or event time at or above 2^63 ns
	RejectEndBeforeStart                     // end_before_start
	RejectEmptyName                          // empty_name
	RejectNameTooLong                        // name_too_long: longer than Limits.MaxNameLen
	RejectInvalidKind                        // invalid_kind: a span kind outside the OTLP enum
	RejectInvalidStatus                      // invalid_status: a status code outside the OTLP enum
	RejectNestingTooDeep                     // nesting_too_deep: an attribute value nested deeper than storage.MaxValueDepth
	NumRejectReasons                         // the number of reasons
)

// reasonText is each reason's label, and its text for one span and for
// several.
var reasonText = [NumRejectReasons][3]string{
	{"invalid_trace_id", "span with invalid trace id", "spans with invalid trace id"},
	{"invalid_span_id", "span with invalid span id", "spans with invalid span id"},
	{"invalid_parent_span_id", "span with invalid parent span id", "spans with invalid parent span id"},
	{"no_start_time", "span without start time", "spans without start time"},
	{"time_out_of_range", "span with a time at or above 2^63 ns", "spans with a time at or above 2^63 ns"},
	{"end_before_start", "span ends before it starts", "spans end before they start"},
	{"empty_name", "span without name", "spans without name"},
	{"name_too_long", "span with a name too long", "spans with a name too long"},
	{"invalid_kind", "span with an unknown span kind", "spans with an unknown span kind"},
	{"invalid_status", "span with an unknown status code", "spans with an unknown status code"},
	{"nesting_too_deep", "span with attribute values nested too deeply", "spans with attribute values nested too deeply"},
}

// String returns the reason's label, such as "invalid_trace_id".
func (r RejectReason) String() string {
	if r < 0 || r >= NumRejectReasons {
		return "RejectReason(" + strconv.Itoa(int(r)) + ")"
	}
	return reasonText[r][0]
}

const valid RejectReason = -1

// maxTime is the first time Scan rejects: storage keeps times as int64.
const maxTime = 1 << 63

// Largest valid values of the OTLP enums.
const (
	maxKind   = uint64(storage.KindConsumer)
	maxStatus = uint64(storage.StatusError)
)

// spanFacts is what span validation looks at.
type spanFacts struct {
	traceID, spanID, parentSpanID []byte
	start, end                    uint64
	kind, status                  uint64
	nameLen                       int
	badTime                       bool // an event time out of range
	deep                          bool // some attribute value nested too deeply
}

// reason returns why the span is invalid, or valid.
func (s *spanFacts) reason(maxName int) RejectReason {
	switch {
	case len(s.traceID) != 16 || allZero(s.traceID):
		return RejectTraceID
	case len(s.spanID) != 8 || allZero(s.spanID):
		return RejectSpanID
	case len(s.parentSpanID) != 0 && len(s.parentSpanID) != 8:
		return RejectParentSpanID
	case s.start == 0:
		return RejectNoStartTime
	case s.start >= maxTime || s.end >= maxTime || s.badTime:
		return RejectTimeOutOfRange
	case s.end < s.start:
		return RejectEndBeforeStart
	case s.nameLen == 0:
		return RejectEmptyName
	case maxName > 0 && s.nameLen > maxName:
		return RejectNameTooLong
	case s.kind > maxKind:
		return RejectInvalidKind
	case s.status > maxStatus:
		return RejectInvalidStatus
	case s.deep:
		return RejectNestingTooDeep
	}
	return valid
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// soft clears err when it is errTooDeep, noting it in deep: a value nested
// too deeply rejects the span (or resource, or scope), not the request.
func soft(err error, deep *bool) error {
	if err == errTooDeep {
		*deep = true
		return nil
	}
	return err
}

// scanner walks a request, validating it.
type scanner struct {
	lim      Limits
	spans    int
	rejected [NumRejectReasons]int
}

func (s *scanner) nRejected() int {
	n := 0
	for _, c := range s.rejected {
		n += c
	}
	return n
}

// Scan validates an ExportTraceServiceRequest in protobuf wire form in one
// pass, allocating nothing per span. A malformed message (bad wire format)
// returns an error wrapping ErrMalformed, and one with more than
// lim.MaxSpans spans an error wrapping ErrTooManySpans: the whole request is
// rejected.
//
// Per span it checks, in this order (see RejectReason): trace id 16 bytes and
// not all zero, span id 8 bytes and not zero, parent span id empty or 8
// bytes, start time non-zero, start, end and event times below 2^63 ns (what
// storage's int64 nanoseconds hold), end time not before start time, a
// non-empty name of at most lim.MaxNameLen bytes, a span kind and a status
// code within the OTLP enums (protobuf-go would keep other values; storage
// cannot), and attribute values (of the span, its events and its links)
// nested at most storage.MaxValueDepth deep. A resource or scope whose
// attributes nest deeper rejects all of its spans with nesting_too_deep, and
// is left out of Body with them.
//
// Invalid spans are counted and dropped: when any is, Body is a re-encoded
// request without them (the other spans of the batch and their resource and
// scope kept); otherwise Body is req itself (no copy).
//
// Scan checks the structure of every nested message (attributes, events,
// links, status), so that Decode of an accepted body cannot fail. It is
// stricter than protobuf-go in that a known field with the wrong wire type
// makes the request malformed. It does not check that strings are valid
// UTF-8, and leaves string lengths other than the name's to Decode.
func Scan(req []byte, lim Limits) (ScanResult, error) {
	s := scanner{lim: lim}
	if err := s.walk(req, false, nil); err != nil {
		return ScanResult{}, err
	}
	res := ScanResult{Body: req, Rejected: s.nRejected(), Rejections: s.rejected}
	res.Accepted = s.spans - res.Rejected
	if res.Rejected == 0 {
		return res, nil
	}
	res.Reason = s.reason()
	out := make([]byte, 0, len(req))
	if err := s.walk(req, true, &out); err != nil {
		return ScanResult{}, err // cannot happen: the first pass accepted req
	}
	res.Body = out
	return res, nil
}

func (s *scanner) reason() string {
	var b strings.Builder
	for r, n := range s.rejected {
		if n == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(strconv.Itoa(n))
		b.WriteByte(' ')
		if n == 1 {
			b.WriteString(reasonText[r][1])
		} else {
			b.WriteString(reasonText[r][2])
		}
	}
	return b.String()
}

// walk scans the request. When rebuild is set (a second pass, after the
// first found invalid spans), it also appends to out the request without the
// invalid spans, and counts nothing.
func (s *scanner) walk(req []byte, rebuild bool, out *[]byte) error {
	var rsBuf, ssBuf []byte
	for b := req; len(b) > 0; {
		f, rest, err := next(b)
		if err != nil {
			return err
		}
		raw := b[:f.size]
		b = rest
		if err := requestTypes.check(&f); err != nil {
			return err
		}
		if f.num != reqResourceSpans {
			if rebuild {
				*out = append(*out, raw...)
			}
			continue
		}
		// ResourceSpans.
		deep := false
		if rebuild {
			// The first pass checked everything; only whether the
			// resource is too deep matters here, and it may come last.
			deep = resourceTooDeep(f.val)
			if deep {
				continue
			}
		}
		rsBuf = rsBuf[:0]
		validHere := 0 // spans counted valid before the resource was seen
		for rb := f.val; len(rb) > 0; {
			g, rest, err := next(rb)
			if err != nil {
				return err
			}
			graw := rb[:g.size]
			rb = rest
			if err := resourceSpansTypes.check(&g); err != nil {
				return err
			}
			switch g.num {
			case rsResource:
				if err := soft(checkResource(g.val), &deep); err != nil {
					return err
				}
			case rsScopeSpans:
				var n int
				ssBuf, n, err = s.scopeSpans(g.val, rebuild, deep, ssBuf[:0])
				if err != nil {
					return err
				}
				validHere += n
				if rebuild && ssBuf != nil {
					rsBuf = protowire.AppendTag(rsBuf, rsScopeSpans, protowire.BytesType)
					rsBuf = protowire.AppendBytes(rsBuf, ssBuf)
				}
				continue
			}
			if rebuild {
				rsBuf = append(rsBuf, graw...)
			}
		}
		if deep && !rebuild {
			// scopeSpans counted the spans after the resource; these came
			// before it.
			s.rejected[RejectNestingTooDeep] += validHere
		}
		if rebuild {
			*out = protowire.AppendTag(*out, reqResourceSpans, protowire.BytesType)
			*out = protowire.AppendBytes(*out, rsBuf)
		}
	}
	return nil
}

// resourceTooDeep reports whether the ResourceSpans b (already checked) has
// a resource whose attributes nest too deeply.
func resourceTooDeep(b []byte) bool {
	for len(b) > 0 {
		f, rest, _ := next(b)
		b = rest
		if f.num == rsResource && checkResource(f.val) == errTooDeep {
			return true
		}
	}
	return false
}

// scopeTooDeep is resourceTooDeep for the scope of a ScopeSpans.
func scopeTooDeep(b []byte) bool {
	for len(b) > 0 {
		f, rest, _ := next(b)
		b = rest
		if f.num == ssScope && checkScope(f.val) == errTooDeep {
			return true
		}
	}
	return false
}

// scopeSpans scans a ScopeSpans message; deep says its resource is too
// deep, so that every span is rejected. It returns how many spans it
// counted as valid. When rebuild is set, it returns buf with the message's
// fields appended, invalid spans left out, or nil when the whole message is
// left out (its scope is too deep).
func (s *scanner) scopeSpans(b []byte, rebuild, deep bool, buf []byte) ([]byte, int, error) {
	if rebuild && scopeTooDeep(b) {
		return nil, 0, nil
	}
	validHere := 0
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return buf, 0, err
		}
		raw := b[:f.size]
		b = rest
		if err := scopeSpansTypes.check(&f); err != nil {
			return buf, 0, err
		}
		switch f.num {
		case ssScope:
			wasDeep := deep
			if err := soft(checkScope(f.val), &deep); err != nil {
				return buf, 0, err
			}
			if deep && !wasDeep && !rebuild {
				s.rejected[RejectNestingTooDeep] += validHere
				validHere = 0
			}
		case ssSpans:
			r, err := checkSpan(f.val, s.lim.MaxNameLen)
			if err != nil {
				return buf, 0, err
			}
			if r == valid && deep {
				r = RejectNestingTooDeep
			}
			if !rebuild {
				s.spans++
				if s.lim.MaxSpans > 0 && s.spans > s.lim.MaxSpans {
					return buf, 0, fmt.Errorf("%w: more than %d", ErrTooManySpans, s.lim.MaxSpans)
				}
				if r != valid {
					s.rejected[r]++
				} else {
					validHere++
				}
			}
			if r != valid {
				continue
			}
		}
		if rebuild {
			buf = append(buf, raw...)
		}
	}
	return buf, validHere, nil
}

// checkSpan checks a Span's structure and returns why it is invalid, or
// valid.
func checkSpan(b []byte, maxName int) (RejectReason, error) {
	var sf spanFacts
	for len(b) > 0 {
		// Fast paths for the times and for short ids, names and
		// attributes: one-byte tags and lengths.
		if len(b) >= 9 && (b[0] == spStart<<3|1 || b[0] == spEnd<<3|1) {
			v := binary.LittleEndian.Uint64(b[1:])
			if b[0] == spStart<<3|1 {
				sf.start = v
			} else {
				sf.end = v
			}
			b = b[9:]
			continue
		}
		if len(b) >= 2 && b[1] < 0x80 && 2+int(b[1]) <= len(b) {
			v := b[2 : 2+int(b[1])]
			switch b[0] {
			case spTraceID<<3 | 2:
				sf.traceID = v
			case spSpanID<<3 | 2:
				sf.spanID = v
			case spParentSpanID<<3 | 2:
				sf.parentSpanID = v
			case spName<<3 | 2:
				sf.nameLen = len(v)
			case spAttributes<<3 | 2:
				if err := soft(checkKeyValue(v, 0), &sf.deep); err != nil {
					return 0, err
				}
			default:
				v = nil
			}
			if v != nil {
				b = b[2+len(v):]
				continue
			}
		}
		f, rest, err := next(b)
		if err != nil {
			return 0, err
		}
		b = rest
		if err := spanTypes.check(&f); err != nil {
			return 0, err
		}
		switch f.num {
		case spTraceID:
			sf.traceID = f.val
		case spSpanID:
			sf.spanID = f.val
		case spParentSpanID:
			sf.parentSpanID = f.val
		case spName:
			sf.nameLen = len(f.val)
		case spKind:
			sf.kind = f.u64
		case spStart:
			sf.start = f.u64
		case spEnd:
			sf.end = f.u64
		case spAttributes:
			err = soft(checkKeyValue(f.val, 0), &sf.deep)
		case spEvents:
			err = checkEvent(f.val, &sf)
		case spLinks:
			err = soft(checkLink(f.val), &sf.deep)
		case spStatus:
			err = checkStatus(f.val, &sf)
		}
		if err != nil {
			return 0, err
		}
	}
	return sf.reason(maxName), nil
}

// checkStatus checks a Status and notes its code in sf (the last one wins,
// as in protobuf).
func checkStatus(b []byte, sf *spanFacts) error {
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if err := statusTypes.check(&f); err != nil {
			return err
		}
		if f.num == stCode {
			sf.status = f.u64
		}
	}
	return nil
}

// checkAttrs checks a message whose field attrField holds KeyValues and
// whose other known fields are scalars. It returns errTooDeep, after
// checking the whole message, when some value nests too deeply.
func checkAttrs(b []byte, t wireTypes, attrField protowire.Number) error {
	deep := false
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if err := t.check(&f); err != nil {
			return err
		}
		if f.num == attrField {
			if err := soft(checkKeyValue(f.val, 0), &deep); err != nil {
				return err
			}
		}
	}
	if deep {
		return errTooDeep
	}
	return nil
}

func checkResource(b []byte) error { return checkAttrs(b, resourceTypes, resAttributes) }
func checkScope(b []byte) error    { return checkAttrs(b, scopeTypes, scopeAttributes) }
func checkLink(b []byte) error     { return checkAttrs(b, linkTypes, lkAttributes) }

// checkEvent checks an Event and notes in sf a time out of range or values
// nested too deeply.
func checkEvent(b []byte, sf *spanFacts) error {
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if err := eventTypes.check(&f); err != nil {
			return err
		}
		switch f.num {
		case evTime:
			if f.u64 >= maxTime {
				sf.badTime = true
			}
		case evAttributes:
			if err := soft(checkKeyValue(f.val, 0), &sf.deep); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkKeyValue checks a KeyValue. A value nested too deeply returns
// errTooDeep at once: the rest of it is not looked at, since whatever holds
// it is left out.
func checkKeyValue(b []byte, depth int) error {
	// Fast path for the common shape: a key with a one-byte length, then a
	// value with a one-byte length holding a single scalar.
	if len(b) >= 2 && b[0] == 0x0a && b[1] < 0x80 { // key: field 1, bytes
		k := 2 + int(b[1])
		if k+2 <= len(b) && b[k] == 0x12 && b[k+1] < 0x80 && k+2+int(b[k+1]) == len(b) { // value: field 2, bytes
			if scalarValue(b[k+2:]) {
				return nil
			}
		}
	}
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if err := keyValueTypes.check(&f); err != nil {
			return err
		}
		if f.num == kvValue {
			if err := checkAnyValue(f.val, depth); err != nil {
				return err
			}
		}
	}
	return nil
}

// scalarValue reports whether v is an AnyValue made of exactly one
// well-formed string, bool, int or double field (or nothing), written
// compactly. Anything else takes the general path.
func scalarValue(v []byte) bool {
	if len(v) == 0 {
		return true
	}
	switch v[0] {
	case 0x0a: // string_value, one-byte length
		return len(v) >= 2 && v[1] < 0x80 && 2+int(v[1]) == len(v)
	case 0x10, 0x18: // bool_value, int_value
		_, n := protowire.ConsumeVarint(v[1:])
		return n > 0 && 1+n == len(v)
	case 0x21: // double_value
		return len(v) == 9
	}
	return false
}

func checkAnyValue(b []byte, depth int) error {
	if depth >= maxDepth {
		return errTooDeep
	}
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if err := anyValueTypes.check(&f); err != nil {
			return err
		}
		switch f.num {
		case avArray, avKVList:
			if err := checkList(f.val, f.num == avKVList, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkList checks an ArrayValue (kv false) or a KeyValueList (kv true).
func checkList(b []byte, kv bool, depth int) error {
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if err := listTypes.check(&f); err != nil {
			return err
		}
		if f.num != listValues {
			continue
		}
		if kv {
			err = checkKeyValue(f.val, depth)
		} else {
			err = checkAnyValue(f.val, depth)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
