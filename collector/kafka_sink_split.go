package collector

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// The Kafka sink's messages follow the OpenTelemetry Collector's kafka
// exporter with encoding otlp_proto and partition_traces_by_id (read in
// opentelemetry-collector-contrib):
//
//   - exporter/kafkaexporter/kafka_exporter.go, kafkaTracesMessager.
//     partitionData: the request is split by trace
//     (pkg/batchpersignal/batchpersignal.go SplitTraces: each part keeps
//     the spans' resource and scope, with their schema URLs), and each
//     part's key is the trace id as 32 lowercase hex digits
//     (traceutil.TraceIDToHexOrEmptyString), not the 16 raw bytes;
//   - exporter/kafkaexporter/internal/marshaler/pdata_marshaler.go: the
//     value is the part as an ExportTraceServiceRequest in protobuf wire
//     form (ptrace.ProtoMarshaler), one message per part;
//   - headers: the exporter adds some only for include_metadata_keys
//     (metadataToHeaders, off by default); Tracer adds none;
//   - exporter/kafkaexporter/internal/splitter/splitter.go: a part larger
//     than max_message_bytes is split (by resource, scope, then span); a
//     single span that is still too large is left to fail at the broker.
//
// Tracer does the same on the wire bytes, without decoding: the fields of
// resources, scopes and spans are copied as they came. Where it differs:
// one message per trace of a request, the trace's resources and scopes
// together (SplitTraces makes one per resource, scope and trace; both are
// valid requests, and the kafka receiver — receiver/kafkareceiver/
// unmarshaler.go, ptrace.ProtoUnmarshaler — reads either), a request of a
// single trace that fits is sent as its bytes unchanged, and a span too
// large to fit alone is dropped and counted instead of failing the batch
// for ever.

// kafkaMessageOverhead is what a message costs in a record batch beyond
// its value: the batch header (65 bytes in franz-go's recordBatchOverhead),
// the record's framing and its 32-byte key. A value of at most
// MaxMessageBytes - kafkaMessageOverhead fits a batch of MaxMessageBytes
// alone.
const kafkaMessageOverhead = 128

// errSplitMalformed is wrapped by the errors of a record the splitter
// cannot parse.
var errSplitMalformed = errors.New("malformed ExportTraceServiceRequest")

// traceMessage is one message the splitter makes: spans of one trace as
// an ExportTraceServiceRequest.
type traceMessage struct {
	traceID [16]byte
	value   []byte // the record itself, or a new slice
	spans   int
}

// splitStats counts what splitting a record did beyond one message per
// trace.
type splitStats struct {
	tooLarge     int // spans dropped: too large for a message alone
	tooLargeSize int // the largest of them, as a message
	badTraceID   int // spans dropped: a trace id that is not 16 bytes
	splitTraces  int // traces sent over several messages
}

// Field numbers of the OTLP messages the splitter walks
// (opentelemetry-proto v1, as collector/otlp/wire.go names them).
const (
	splitReqResourceSpans = 1
	splitRSScopeSpans     = 2
	splitSSSpans          = 2
	splitSpanTraceID      = 1
)

// splitRaw is a field of a ResourceSpans or ScopeSpans other than its
// scope spans or spans (resource, scope, schema URL, unknown fields), as it
// came, and how many scope spans or spans came before it.
type splitRaw struct {
	b   []byte
	pos int32
}

type splitRS struct {
	raw0, rawN int32 // its fields in splitter.rsRaws
	hdr        int   // their bytes
}

type splitSS struct {
	rs         int32
	ord        int32 // among its resource's scope spans
	raw0, rawN int32 // in splitter.ssRaws
	hdr        int
}

type splitSpan struct {
	ss   int32
	ord  int32  // among its scope's spans
	b    []byte // the field as it came: tag, length, message
	next int32  // the trace's next span, or -1
}

type splitTrace struct {
	id          [16]byte
	first, last int32
	n           int
}

// splitter splits ExportTraceServiceRequests by trace id and under a size;
// its slices are reused from record to record. Not safe for concurrent
// use.
type splitter struct {
	rss    []splitRS
	sss    []splitSS
	spans  []splitSpan
	rsRaws []splitRaw
	ssRaws []splitRaw
	traces []splitTrace
	byID   map[[16]byte]int32
	chunk  []int32 // spans of the message being built
}

// split appends to dst the messages of req, one per trace id (in the order
// the traces first appear), each value at most maxValue bytes: a trace that
// does not fit is spread over several messages, whole spans each; a span
// that cannot fit alone (with its resource and scope) is dropped and
// counted in the stats. A request of one trace that fits is its own value,
// not a copy. A malformed request returns an error and no messages.
func (s *splitter) split(dst []traceMessage, req []byte, maxValue int) ([]traceMessage, splitStats, error) {
	var st splitStats
	if err := s.parse(req, &st); err != nil {
		return dst, splitStats{}, err
	}
	if len(s.traces) == 1 && len(req) <= maxValue && st.badTraceID == 0 {
		t := &s.traces[0]
		return append(dst, traceMessage{traceID: t.id, value: req, spans: t.n}), st, nil
	}
	for ti := range s.traces {
		t := &s.traces[ti]
		s.chunk = s.chunk[:0]
		for i := t.first; i >= 0; i = s.spans[i].next {
			s.chunk = append(s.chunk, i)
		}
		if s.size(s.chunk) <= maxValue {
			dst = s.emit(dst, t.id, s.chunk)
			continue
		}
		dst = s.spread(dst, t.id, maxValue, &st)
	}
	return dst, st, nil
}

// spread emits the spans of s.chunk (one trace) over as many messages as
// needed, filling each greedily in order with upper bounds on the lengths.
func (s *splitter) spread(dst []traceMessage, id [16]byte, maxValue int, st *splitStats) []traceMessage {
	start := len(dst)
	var cur []int32
	bound := 0 // upper bound of cur's message size
	flush := func() {
		if len(cur) > 0 {
			dst = s.emit(dst, id, cur)
			cur, bound = cur[:0], 0
		}
	}
	for _, i := range s.chunk {
		sp := &s.spans[i]
		ss := &s.sss[sp.ss]
		rs := &s.rss[ss.rs]
		alone := s.size([]int32{i})
		if alone > maxValue {
			st.tooLarge++
			st.tooLargeSize = max(st.tooLargeSize, alone)
			continue
		}
		// What adding the span costs, each length counted as 5 bytes.
		add := len(sp.b)
		newSS := len(cur) == 0 || s.spans[cur[len(cur)-1]].ss != sp.ss
		newRS := len(cur) == 0 || s.sss[s.spans[cur[len(cur)-1]].ss].rs != ss.rs
		if newSS {
			add += 6 + ss.hdr
		}
		if newRS {
			add += 6 + rs.hdr
		}
		if len(cur) > 0 && bound+add > maxValue {
			flush()
			add = len(sp.b) + 6 + ss.hdr + 6 + rs.hdr
		}
		cur = append(cur, i)
		bound += add
		if bound > maxValue { // fits alone (alone <= maxValue), by less than the bound
			flush()
		}
	}
	flush()
	if len(dst)-start > 1 {
		st.splitTraces++
	}
	return dst
}

// parse walks req, filling the splitter's tables.
func (s *splitter) parse(req []byte, st *splitStats) error {
	s.rss, s.sss, s.spans = s.rss[:0], s.sss[:0], s.spans[:0]
	s.rsRaws, s.ssRaws, s.traces = s.rsRaws[:0], s.ssRaws[:0], s.traces[:0]
	if s.byID == nil {
		s.byID = make(map[[16]byte]int32)
	}
	clear(s.byID)
	for b := req; len(b) > 0; {
		num, val, _, rest, err := splitField(b)
		if err != nil {
			return err
		}
		b = rest
		if num != splitReqResourceSpans {
			continue // ExportTraceServiceRequest has no other field
		}
		if val == nil {
			return fmt.Errorf("%w: resource_spans is not length-delimited", errSplitMalformed)
		}
		if err := s.resourceSpans(val, st); err != nil {
			return err
		}
	}
	return nil
}

func (s *splitter) resourceSpans(b []byte, st *splitStats) error {
	rsi := int32(len(s.rss))
	rs := splitRS{raw0: int32(len(s.rsRaws))}
	var ord int32
	for len(b) > 0 {
		num, val, raw, rest, err := splitField(b)
		if err != nil {
			return err
		}
		b = rest
		if num != splitRSScopeSpans {
			s.rsRaws = append(s.rsRaws, splitRaw{b: raw, pos: ord})
			rs.hdr += len(raw)
			continue
		}
		if val == nil {
			return fmt.Errorf("%w: scope_spans is not length-delimited", errSplitMalformed)
		}
		if err := s.scopeSpans(val, rsi, ord, st); err != nil {
			return err
		}
		ord++
	}
	rs.rawN = int32(len(s.rsRaws))
	s.rss = append(s.rss, rs)
	return nil
}

func (s *splitter) scopeSpans(b []byte, rs, ord int32, st *splitStats) error {
	ssi := int32(len(s.sss))
	ss := splitSS{rs: rs, ord: ord, raw0: int32(len(s.ssRaws))}
	var n int32
	for len(b) > 0 {
		num, val, raw, rest, err := splitField(b)
		if err != nil {
			return err
		}
		b = rest
		if num != splitSSSpans {
			s.ssRaws = append(s.ssRaws, splitRaw{b: raw, pos: n})
			ss.hdr += len(raw)
			continue
		}
		if val == nil {
			return fmt.Errorf("%w: span is not length-delimited", errSplitMalformed)
		}
		tid, err := splitTraceID(val)
		if err != nil {
			return err
		}
		if len(tid) != 16 {
			st.badTraceID++ // Scan rejects these: not reached from a receiver
			continue
		}
		id := [16]byte(tid)
		spi := int32(len(s.spans))
		s.spans = append(s.spans, splitSpan{ss: ssi, ord: n, b: raw, next: -1})
		n++
		ti, ok := s.byID[id]
		if !ok {
			ti = int32(len(s.traces))
			s.byID[id] = ti
			s.traces = append(s.traces, splitTrace{id: id, first: spi, last: spi})
		} else {
			s.spans[s.traces[ti].last].next = spi
			s.traces[ti].last = spi
		}
		s.traces[ti].n++
	}
	ss.rawN = int32(len(s.ssRaws))
	s.sss = append(s.sss, ss)
	return nil
}

// splitTraceID returns the trace id of a Span (the last one, as in
// protobuf), without checking the rest.
func splitTraceID(b []byte) ([]byte, error) {
	var id []byte
	for len(b) > 0 {
		num, val, _, rest, err := splitField(b)
		if err != nil {
			return nil, err
		}
		b = rest
		if num == splitSpanTraceID {
			if val == nil {
				return nil, fmt.Errorf("%w: trace_id is not length-delimited", errSplitMalformed)
			}
			id = val
		}
	}
	return id, nil
}

// splitField reads one field of b: its number, its contents when it is
// length-delimited (nil otherwise; empty, not nil, when of length 0), the
// whole field as it came, and the rest of b.
func splitField(b []byte) (num protowire.Number, val, raw, rest []byte, err error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return 0, nil, nil, nil, fmt.Errorf("%w: %v", errSplitMalformed, protowire.ParseError(n))
	}
	if typ == protowire.BytesType {
		v, m := protowire.ConsumeBytes(b[n:])
		if m < 0 {
			return 0, nil, nil, nil, fmt.Errorf("%w: field %d: %v", errSplitMalformed, num, protowire.ParseError(m))
		}
		if v == nil {
			v = b[n:n]
		}
		return num, v, b[:n+m], b[n+m:], nil
	}
	m := protowire.ConsumeFieldValue(num, typ, b[n:])
	if m < 0 {
		return 0, nil, nil, nil, fmt.Errorf("%w: field %d: %v", errSplitMalformed, num, protowire.ParseError(m))
	}
	return num, nil, b[:n+m], b[n+m:], nil
}

// size is the exact size of the message of spans (of one trace, in
// order).
func (s *splitter) size(spans []int32) int {
	total := 0
	for i := 0; i < len(spans); {
		rs := s.sss[s.spans[spans[i]].ss].rs
		body := s.rss[rs].hdr
		for i < len(spans) && s.sss[s.spans[spans[i]].ss].rs == rs {
			ss := s.spans[spans[i]].ss
			ssBody := s.sss[ss].hdr
			for ; i < len(spans) && s.spans[spans[i]].ss == ss; i++ {
				ssBody += len(s.spans[spans[i]].b)
			}
			body += 1 + protowire.SizeVarint(uint64(ssBody)) + ssBody
		}
		total += 1 + protowire.SizeVarint(uint64(body)) + body
	}
	return total
}

// emit appends the message of spans (of one trace, in order) to dst: for
// each of their resources its fields and scope spans, for each scope its
// fields and those spans, every field in the order it came.
func (s *splitter) emit(dst []traceMessage, id [16]byte, spans []int32) []traceMessage {
	n := s.size(spans)
	out := make([]byte, 0, n)
	for i := 0; i < len(spans); {
		rsi := s.sss[s.spans[spans[i]].ss].rs
		rs := &s.rss[rsi]
		// The run of spans in this resource, and the body's size.
		j := i
		body := rs.hdr
		for j < len(spans) && s.sss[s.spans[spans[j]].ss].rs == rsi {
			ss := s.spans[spans[j]].ss
			ssBody := s.sss[ss].hdr
			for ; j < len(spans) && s.spans[spans[j]].ss == ss; j++ {
				ssBody += len(s.spans[spans[j]].b)
			}
			body += 1 + protowire.SizeVarint(uint64(ssBody)) + ssBody
		}
		out = protowire.AppendTag(out, splitReqResourceSpans, protowire.BytesType)
		out = protowire.AppendVarint(out, uint64(body))
		raws := s.rsRaws[rs.raw0:rs.rawN]
		for i < j {
			ssi := s.spans[spans[i]].ss
			ss := &s.sss[ssi]
			for len(raws) > 0 && raws[0].pos <= ss.ord {
				out = append(out, raws[0].b...)
				raws = raws[1:]
			}
			k := i
			ssBody := ss.hdr
			for ; k < j && s.spans[spans[k]].ss == ssi; k++ {
				ssBody += len(s.spans[spans[k]].b)
			}
			out = protowire.AppendTag(out, splitRSScopeSpans, protowire.BytesType)
			out = protowire.AppendVarint(out, uint64(ssBody))
			ssRaws := s.ssRaws[ss.raw0:ss.rawN]
			for ; i < k; i++ {
				sp := &s.spans[spans[i]]
				for len(ssRaws) > 0 && ssRaws[0].pos <= sp.ord {
					out = append(out, ssRaws[0].b...)
					ssRaws = ssRaws[1:]
				}
				out = append(out, sp.b...)
			}
			for _, r := range ssRaws {
				out = append(out, r.b...)
			}
		}
		for _, r := range raws {
			out = append(out, r.b...)
		}
	}
	return append(dst, traceMessage{traceID: id, value: out, spans: len(spans)})
}
