package otlp

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

func seedRequests(f *testing.F) {
	f.Add(marshal(f, testRequest(5)))
	bad := testRequest(6)
	bad.ResourceSpans[0].ScopeSpans[0].Spans[0].TraceId = nil
	bad.ResourceSpans[1].ScopeSpans[1].Spans[0].EndTimeUnixNano = 1
	bad.ResourceSpans[1].ScopeSpans[0].Spans[0].Kind = 9
	bad.ResourceSpans[0].ScopeSpans[1].Spans[0].Status.Code = 7
	bad.ResourceSpans[0].ScopeSpans[1].Spans[0].Events[0].TimeUnixNano = 1 << 63
	f.Add(marshal(f, bad))
	deep := testRequest(4)
	deep.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes = []*commonpb.KeyValue{kv("d", nested(storage.MaxValueDepth+1))}
	deep.ResourceSpans[1].ScopeSpans = append(deep.ResourceSpans[1].ScopeSpans, deep.ResourceSpans[1].ScopeSpans[0])
	deep.ResourceSpans[1].ScopeSpans[0].Scope.Attributes = []*commonpb.KeyValue{kv("d", nested(storage.MaxValueDepth+1))}
	f.Add(marshal(f, deep))
	clock := testRequest(1)
	sp := clock.ResourceSpans[0].ScopeSpans[0].Spans[0]
	sp.Attributes = append(sp.Attributes, str(vclock.AttrNode, "n"), i64(vclock.AttrTick, 3), str(vclock.AttrDeps, "a:1,b:2"))
	f.Add(marshal(f, clock))
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x03, 0x12, 0x01, 0x12})
}

// checkScan checks what Scan says of req: consistent counts, a Body that
// scans again with nothing rejected, and that decodes into Accepted spans.
func checkScan(t *testing.T, req []byte, lim Limits) {
	res, err := Scan(req, lim)
	if err != nil {
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooManySpans) {
			t.Fatalf("Scan error %v wraps neither ErrMalformed nor ErrTooManySpans", err)
		}
		return
	}
	sum := 0
	for _, n := range res.Rejections {
		sum += n
	}
	if res.Accepted < 0 || res.Rejected != sum || (res.Rejected > 0) != (res.Reason != "") {
		t.Fatalf("inconsistent result %+v", res)
	}
	again, err := Scan(res.Body, lim)
	if err != nil || again.Rejected != 0 || again.Accepted != res.Accepted {
		t.Fatalf("Scan of Body = %+v, %v; first %+v", again, err, res)
	}
	spans, st, err := Decode(nil, res.Body, lim)
	if err != nil {
		t.Fatalf("Decode of an accepted body: %v", err)
	}
	if len(spans) != res.Accepted || st.Spans != res.Accepted {
		t.Fatalf("Decode gave %d spans (stats %d), Scan accepted %d", len(spans), st.Spans, res.Accepted)
	}
	for i := range spans {
		if spans[i].StartTime < 0 || spans[i].EndTime < spans[i].StartTime || spans[i].Kind > storage.KindConsumer || spans[i].StatusCode > storage.StatusError {
			t.Fatalf("span %d stored out of range: %+v", i, spans[i])
		}
		for _, e := range spans[i].Events {
			if e.Time < 0 {
				t.Fatalf("span %d: event time %d", i, e.Time)
			}
		}
	}
}

// FuzzScan: Scan never panics; when it accepts, its Body scans again with
// nothing rejected, and Decode succeeds with Accepted spans, none of them
// with a time, kind or status that storage cannot hold.
func FuzzScan(f *testing.F) {
	seedRequests(f)
	f.Fuzz(func(t *testing.T, req []byte) {
		checkScan(t, req, DefaultLimits())
	})
}

// tightLimits are small limits of every kind, so that fuzzing reaches each.
var tightLimits = Limits{
	MaxAttributes: 3, MaxResourceAttributes: 2, MaxEventAttributes: 1, MaxLinkAttributes: 1,
	MaxAttributeValueLen: 5, MaxKeyLen: 4, MaxEvents: 1, MaxLinks: 1,
	MaxStatusMessageLen: 3, MaxEventNameLen: 2, MaxScopeLen: 3, MaxTraceStateLen: 4,
}

// checkLimits fails when a decoded span holds more than tightLimits allow.
func checkLimits(t *testing.T, spans []storage.Span) {
	lim := tightLimits
	short := func(what, s string, max int) {
		if len(s) > max {
			t.Fatalf("%s %q longer than %d", what, s, max)
		}
	}
	attrs := func(what string, as []storage.Attribute, max int, clock bool) {
		extra := 0
		for _, a := range as {
			if clock && clockKey([]byte(a.Key)) {
				extra++
				continue
			}
			short(what+" key", a.Key, lim.MaxKeyLen)
			if a.Type == storage.TypeString || a.Type == storage.TypeBytes {
				short(what+" value", a.Value, lim.MaxAttributeValueLen)
			}
		}
		if len(as) > max+min(extra, len(clockKeys)) {
			t.Fatalf("%d %s attributes, limit %d", len(as), what, max)
		}
	}
	for _, s := range spans {
		attrs("span", s.Attributes, lim.MaxAttributes, true)
		attrs("resource", s.Resource, lim.MaxResourceAttributes, false)
		short("status message", s.StatusMessage, lim.MaxStatusMessageLen)
		short("trace state", s.TraceState, lim.MaxTraceStateLen)
		short("scope name", s.ScopeName, lim.MaxScopeLen)
		short("scope version", s.ScopeVersion, lim.MaxScopeLen)
		if len(s.Events) > lim.MaxEvents || len(s.Links) > lim.MaxLinks {
			t.Fatalf("%d events, %d links", len(s.Events), len(s.Links))
		}
		for _, e := range s.Events {
			short("event name", e.Name, lim.MaxEventNameLen)
			attrs("event", e.Attributes, lim.MaxEventAttributes, false)
		}
		for _, l := range s.Links {
			short("link trace state", l.TraceState, lim.MaxTraceStateLen)
			attrs("link", l.Attributes, lim.MaxLinkAttributes, false)
		}
	}
}

// FuzzDecode: Decode never panics on any input, leaves dst alone on error,
// and keeps every limit; DecodeImmutable returns the same as Decode.
func FuzzDecode(f *testing.F) {
	seedRequests(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		spans, st, err := Decode(nil, body, tightLimits)
		if err != nil && len(spans) != 0 {
			t.Fatalf("Decode failed but returned %d spans", len(spans))
		}
		ispans, ist, ierr := DecodeImmutable(nil, bytes.Clone(body), tightLimits)
		if (err == nil) != (ierr == nil) || st != ist || !reflect.DeepEqual(spans, ispans) {
			t.Fatalf("DecodeImmutable = %d spans, %+v, %v; Decode = %d spans, %+v, %v", len(ispans), ist, ierr, len(spans), st, err)
		}
		checkLimits(t, spans)
		checkScan(t, body, tightLimits)
	})
}

// jsonDepth is the bracket nesting of a JSON text (strings ignored).
func jsonDepth(b []byte) int {
	depth, max, inStr := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '{' || c == '['):
			depth++
			max = maxInt(max, depth)
		case !inStr && (c == '}' || c == ']'):
			depth--
		}
	}
	return max
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// FuzzFromJSON: FromJSON never panics; what it returns is a valid
// ExportTraceServiceRequest within JSONCost, that Scan does not find
// malformed; and whatever protojson (the reference) accepts, FromJSON
// accepts and converts to the same message.
func FuzzFromJSON(f *testing.F) {
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"x","kind":2,"startTimeUnixNano":"1","endTimeUnixNano":2,"attributes":[{"key":"a","value":{"arrayValue":{"values":[{"intValue":"1"}]}}}]}]}]}]}`))
	f.Add([]byte(`{"resource_spans":[{"scope_spans":[{"spans":[{"links":[{"trace_id":""}]}]}]}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"resourceSpans":[]}}`))
	f.Add(otlpJSON(f, testRequest(3)))
	f.Add([]byte(`{"resourceSpans":[{"x":[{"y":null},1.5e3,"s\u00e9"],"scopeSpans":[{"spans":[{"name":"\ud83d\ude00","status":{"code":"STATUS_CODE_ERROR","message":"m"},"attributes":[{"key":"b","value":{"bytesValue":"AP8="}},{"key":"d","value":{"doubleValue":"Infinity"}}]}]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		want, refErr := refFromJSON(body)
		b, err := FromJSON(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			// The reference goes through encoding/json, which turns invalid
			// UTF-8 into U+FFFD; FromJSON rejects it, as protojson does.
			if refErr == nil && utf8.Valid(body) {
				t.Fatalf("FromJSON: %v; the reference accepts it: %v", err, want)
			}
			return
		}
		if len(b) > len(body)+outMargin || int64(len(b)) > JSONCost(len(body)) {
			t.Fatalf("%d bytes out of %d in", len(b), len(body))
		}
		var got coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &got); err != nil {
			t.Fatalf("FromJSON output does not unmarshal: %v", err)
		}
		if _, err := Scan(b, Limits{}); errors.Is(err, ErrMalformed) {
			t.Fatalf("Scan finds FromJSON's output malformed: %v", err)
		}
		checkScan(t, b, DefaultLimits())
		if refErr == nil && jsonDepth(body) < 3*storage.MaxValueDepth && !proto.Equal(&got, want) {
			t.Fatalf("FromJSON gave %v\nthe reference %v", &got, want)
		}
	})
}
