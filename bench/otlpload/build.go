package main

import (
	"bytes"
	"fmt"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/storagetest"
)

// request is one marshalled ExportTraceServiceRequest and where its trace
// ids are: ids holds the offset of the low 8 bytes of each trace id
// occurrence (spans' and links'), low their original value.
type request struct {
	body  []byte
	spans int
	ids   []int
	low   []uint64
}

// buildRequests returns n requests of perReq spans each, from traces of
// 1 to 2×perTrace-1 spans generated with seed.
func buildRequests(n, perReq, perTrace int, seed uint64, now time.Time) ([]request, error) {
	g := storagetest.NewGenerator(seed)
	reqs := make([]request, 0, n)
	var pending []storage.Span
	for range n {
		for len(pending) < perReq {
			k := 1
			if perTrace > 1 {
				k = 1 + int(g.SpanID()[0])%(2*perTrace-1)
			}
			pending = append(pending, g.Trace(now, k)...)
		}
		r, err := marshalRequest(pending[:perReq])
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, r)
		pending = append(pending[:0], pending[perReq:]...)
	}
	return reqs, nil
}

// marshalRequest encodes spans as one request, one ResourceSpans per
// service in the order services first appear, and finds its trace ids.
func marshalRequest(spans []storage.Span) (request, error) {
	byService := map[string]*tracepb.ResourceSpans{}
	req := &coltracepb.ExportTraceServiceRequest{}
	traces := map[storage.TraceID]bool{}
	for i := range spans {
		s := &spans[i]
		traces[s.TraceID] = true
		rs := byService[s.Service]
		if rs == nil {
			rs = &tracepb.ResourceSpans{
				Resource:   &resourcepb.Resource{Attributes: attrs(s.Resource)},
				ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: s.ScopeName, Version: s.ScopeVersion}}},
			}
			byService[s.Service] = rs
			req.ResourceSpans = append(req.ResourceSpans, rs)
		}
		ss := rs.ScopeSpans[0]
		ss.Spans = append(ss.Spans, span(s))
	}
	body, err := proto.Marshal(req)
	if err != nil {
		return request{}, fmt.Errorf("marshal request: %w", err)
	}
	r := request{body: body, spans: len(spans)}
	for tid := range traces {
		for off := 0; ; {
			i := bytes.Index(body[off:], tid[:])
			if i < 0 {
				break
			}
			at := off + i + 8
			r.ids = append(r.ids, at)
			r.low = append(r.low, be64(body[at:]))
			off += i + len(tid)
		}
	}
	return r, nil
}

func be64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

func putBE64(b []byte, v uint64) {
	_ = b[7]
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}

// renew gives every trace of r new ids: their low halves xor nonce.
func (r *request) renew(nonce uint64) {
	for i, at := range r.ids {
		putBE64(r.body[at:], r.low[i]^nonce)
	}
}

func span(s *storage.Span) *tracepb.Span {
	p := &tracepb.Span{
		TraceId:           bytes.Clone(s.TraceID[:]),
		SpanId:            bytes.Clone(s.SpanID[:]),
		TraceState:        s.TraceState,
		Flags:             s.Flags,
		Name:              s.Name,
		Kind:              tracepb.Span_SpanKind(s.Kind),
		StartTimeUnixNano: uint64(s.StartTime),
		EndTimeUnixNano:   uint64(s.EndTime),
		Attributes:        attrs(s.Attributes),
		Status:            &tracepb.Status{Code: tracepb.Status_StatusCode(s.StatusCode), Message: s.StatusMessage},
	}
	if !s.ParentSpanID.IsZero() {
		p.ParentSpanId = bytes.Clone(s.ParentSpanID[:])
	}
	for _, e := range s.Events {
		p.Events = append(p.Events, &tracepb.Span_Event{TimeUnixNano: uint64(e.Time), Name: e.Name, Attributes: attrs(e.Attributes)})
	}
	for _, l := range s.Links {
		p.Links = append(p.Links, &tracepb.Span_Link{TraceId: bytes.Clone(l.TraceID[:]), SpanId: bytes.Clone(l.SpanID[:]), TraceState: l.TraceState, Attributes: attrs(l.Attributes)})
	}
	return p
}

// attrs converts attributes; ints, bools and doubles become OTLP's typed
// values, everything else a string.
func attrs(as []storage.Attribute) []*commonpb.KeyValue {
	kvs := make([]*commonpb.KeyValue, 0, len(as))
	for _, a := range as {
		v := &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: a.Value}}
		switch a.Type {
		case storage.TypeInt:
			var n int64
			if _, err := fmt.Sscan(a.Value, &n); err == nil {
				v.Value = &commonpb.AnyValue_IntValue{IntValue: n}
			}
		case storage.TypeBool:
			v.Value = &commonpb.AnyValue_BoolValue{BoolValue: a.Value == "true"}
		case storage.TypeDouble:
			var f float64
			if _, err := fmt.Sscan(a.Value, &f); err == nil {
				v.Value = &commonpb.AnyValue_DoubleValue{DoubleValue: f}
			}
		}
		kvs = append(kvs, &commonpb.KeyValue{Key: a.Key, Value: v})
	}
	return kvs
}
