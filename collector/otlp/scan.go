package otlp

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// Reasons a span is rejected, in the order they are checked.
const (
	badTraceID = iota
	badSpanID
	badParentSpanID
	noStartTime
	endsBeforeStart
	emptyName
	longName
	numReasons
)

// reasonText is each reason for one span and for several.
var reasonText = [numReasons][2]string{
	{"span with invalid trace id", "spans with invalid trace id"},
	{"span with invalid span id", "spans with invalid span id"},
	{"span with invalid parent span id", "spans with invalid parent span id"},
	{"span without start time", "spans without start time"},
	{"span ends before it starts", "spans end before they start"},
	{"span without name", "spans without name"},
	{"span with a name too long", "spans with a name too long"},
}

const valid = -1

// spanFacts is what span validation looks at.
type spanFacts struct {
	traceID, spanID, parentSpanID []byte
	start, end                    uint64
	nameLen                       int
}

// reason returns why the span is invalid, or valid.
func (s *spanFacts) reason(maxName int) int {
	switch {
	case len(s.traceID) != 16 || allZero(s.traceID):
		return badTraceID
	case len(s.spanID) != 8 || allZero(s.spanID):
		return badSpanID
	case len(s.parentSpanID) != 0 && len(s.parentSpanID) != 8:
		return badParentSpanID
	case s.start == 0:
		return noStartTime
	case s.end < s.start:
		return endsBeforeStart
	case s.nameLen == 0:
		return emptyName
	case maxName > 0 && s.nameLen > maxName:
		return longName
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

// scanner walks a request, validating it.
type scanner struct {
	lim      Limits
	spans    int
	rejected [numReasons]int
}

func (s *scanner) nRejected() int {
	n := 0
	for _, c := range s.rejected {
		n += c
	}
	return n
}

// Scan validates an ExportTraceServiceRequest in protobuf wire form in one
// pass, allocating nothing per span. A malformed message (bad wire format,
// too many spans) returns an error: the whole request is rejected.
//
// Per span it checks: trace id 16 bytes and not all zero, span id 8 bytes and
// not zero, parent span id empty or 8 bytes, start time non-zero, end time not
// before start time, and a non-empty name of at most lim.MaxNameLen bytes.
// Invalid spans are counted and dropped: when any is, Body is a re-encoded
// request without them (the other spans of the batch and their resource and
// scope kept); otherwise Body is req itself (no copy).
//
// Scan checks the structure of every nested message (attributes, events,
// links, status), so that Decode of an accepted body cannot fail. It is
// stricter than protobuf-go in two ways: a known field with the wrong wire
// type, and AnyValues nested deeper than 64 levels, make the request
// malformed. It does not check that strings are valid UTF-8.
func Scan(req []byte, lim Limits) (ScanResult, error) {
	s := scanner{lim: lim}
	if err := s.walk(req, false, nil); err != nil {
		return ScanResult{}, err
	}
	res := ScanResult{Body: req, Rejected: s.nRejected()}
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
			b.WriteString(reasonText[r][0])
		} else {
			b.WriteString(reasonText[r][1])
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
		rsBuf = rsBuf[:0]
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
				if err := checkResource(g.val); err != nil {
					return err
				}
			case rsScopeSpans:
				ssBuf, err = s.scopeSpans(g.val, rebuild, ssBuf[:0])
				if err != nil {
					return err
				}
				if rebuild {
					rsBuf = protowire.AppendTag(rsBuf, rsScopeSpans, protowire.BytesType)
					rsBuf = protowire.AppendBytes(rsBuf, ssBuf)
				}
				continue
			}
			if rebuild {
				rsBuf = append(rsBuf, graw...)
			}
		}
		if rebuild {
			*out = protowire.AppendTag(*out, reqResourceSpans, protowire.BytesType)
			*out = protowire.AppendBytes(*out, rsBuf)
		}
	}
	return nil
}

// scopeSpans scans a ScopeSpans message; when rebuild is set, it returns buf
// with the message's fields appended, invalid spans left out.
func (s *scanner) scopeSpans(b []byte, rebuild bool, buf []byte) ([]byte, error) {
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return buf, err
		}
		raw := b[:f.size]
		b = rest
		if err := scopeSpansTypes.check(&f); err != nil {
			return buf, err
		}
		switch f.num {
		case ssScope:
			if err := checkScope(f.val); err != nil {
				return buf, err
			}
		case ssSpans:
			r, err := checkSpan(f.val, s.lim.MaxNameLen)
			if err != nil {
				return buf, err
			}
			if !rebuild {
				s.spans++
				if s.lim.MaxSpans > 0 && s.spans > s.lim.MaxSpans {
					return buf, fmt.Errorf("%w: more than %d spans", errMalformed, s.lim.MaxSpans)
				}
				if r != valid {
					s.rejected[r]++
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
	return buf, nil
}

// checkSpan checks a Span's structure and returns why it is invalid, or
// valid.
func checkSpan(b []byte, maxName int) (int, error) {
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
				if err := checkKeyValue(v, 0); err != nil {
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
		case spStart:
			sf.start = f.u64
		case spEnd:
			sf.end = f.u64
		case spAttributes:
			err = checkKeyValue(f.val, 0)
		case spEvents:
			err = checkEvent(f.val)
		case spLinks:
			err = checkLink(f.val)
		case spStatus:
			err = checkFields(f.val, statusTypes)
		}
		if err != nil {
			return 0, err
		}
	}
	return sf.reason(maxName), nil
}

// checkFields checks a message whose known fields are all scalars.
func checkFields(b []byte, t wireTypes) error {
	for len(b) > 0 {
		f, rest, err := next(b)
		if err != nil {
			return err
		}
		b = rest
		if err := t.check(&f); err != nil {
			return err
		}
	}
	return nil
}

// checkAttrs checks a message whose field attrField holds KeyValues and
// whose other known fields are scalars.
func checkAttrs(b []byte, t wireTypes, attrField protowire.Number) error {
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
			if err := checkKeyValue(f.val, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkResource(b []byte) error { return checkAttrs(b, resourceTypes, resAttributes) }
func checkScope(b []byte) error    { return checkAttrs(b, scopeTypes, scopeAttributes) }
func checkEvent(b []byte) error    { return checkAttrs(b, eventTypes, evAttributes) }
func checkLink(b []byte) error     { return checkAttrs(b, linkTypes, lkAttributes) }

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
		return fmt.Errorf("%w: attribute values nested deeper than %d", errMalformed, maxDepth)
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
