package query

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"net/http"
	"strconv"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

// tracerFlushSize is how much JSON the trace route buffers before writing.
const tracerFlushSize = 64 << 10

// tracerTrace streams a trace in Tracer's compact form (see openapi.yaml,
// TraceResponse): the spans as storage.TraceStreamer yields them, in no
// particular order, each written as its batch arrives, so the answer's
// memory is bounded by the batch and not the trace. A span's resource is
// written once, with the first span that has it; later spans name it by
// its index ("resource"). An error after the answer began ends the JSON
// with "truncated": true and an "error" object, as the status cannot change
// any more.
func (a *API) tracerTrace(w http.ResponseWriter, r *http.Request) {
	id, ok := a.tracerTraceID(w, r)
	if !ok {
		return
	}
	tw := tracerTraceWriter{w: w, resources: make(map[[16]byte]int)}
	truncated, err := a.store.StreamTrace(r.Context(), id, func(spans []storage.Span) error {
		if !tw.started {
			tw.start(id)
		}
		for i := range spans {
			tw.span(&spans[i])
		}
		return tw.flush(tracerFlushSize)
	})
	if !tw.started {
		if err == nil { // a reader that found no span but said nothing
			err = storage.ErrNotFound
		}
		a.writeTracerError(w, r, err)
		return
	}
	if err != nil {
		if tw.werr != nil { // the client went away: nobody reads the answer
			a.log.Debug("trace answer not sent", "request_id", requestID(r), "err", tw.werr)
			return
		}
		status, msg := a.classify(r, err)
		if status == 499 {
			return
		}
		tw.b = append(tw.b, `],"spanCount":`...)
		tw.b = strconv.AppendInt(tw.b, int64(tw.count), 10)
		tw.b = append(tw.b, `,"truncated":true,"error":{"code":`...)
		tw.b = strconv.AppendInt(tw.b, int64(status), 10)
		tw.b = append(tw.b, `,"message":`...)
		tw.b = storage.AppendJSONString(tw.b, msg)
		tw.b = append(tw.b, `,"requestId":`...)
		tw.b = storage.AppendJSONString(tw.b, requestID(r))
		tw.b = append(tw.b, "}}\n"...)
		_ = tw.flush(0)
		return
	}
	tw.b = append(tw.b, `],"spanCount":`...)
	tw.b = strconv.AppendInt(tw.b, int64(tw.count), 10)
	tw.b = append(tw.b, `,"truncated":`...)
	tw.b = strconv.AppendBool(tw.b, truncated)
	tw.b = append(tw.b, "}\n"...)
	_ = tw.flush(0)
}

// tracerTraceWriter writes the JSON of one trace.
type tracerTraceWriter struct {
	w       http.ResponseWriter
	b       []byte
	werr    error // the first write error
	started bool
	count   int
	// resources maps a resource's hash to its index; lastRes and lastIdx
	// remember the last resource seen (spans of one resource share one
	// slice within a batch).
	resources map[[16]byte]int
	lastRes   *storage.Attribute
	lastLen   int
	lastIdx   int
}

func (tw *tracerTraceWriter) start(id storage.TraceID) {
	tw.started = true
	tw.w.Header().Set("Content-Type", "application/json")
	tw.w.WriteHeader(http.StatusOK)
	tw.b = append(tw.b, `{"traceId":"`...)
	tw.b = append(tw.b, id.String()...)
	tw.b = append(tw.b, `","spans":[`...)
}

// flush writes the buffer once it holds at least n bytes.
func (tw *tracerTraceWriter) flush(n int) error {
	if len(tw.b) == 0 || len(tw.b) < n {
		return nil
	}
	_, err := tw.w.Write(tw.b)
	tw.b = tw.b[:0]
	if err != nil && tw.werr == nil {
		tw.werr = err
	}
	return err
}

// resource returns the index of s's resource and whether it is new.
func (tw *tracerTraceWriter) resource(s *storage.Span) (int, bool) {
	if len(s.Resource) > 0 && &s.Resource[0] == tw.lastRes && len(s.Resource) == tw.lastLen {
		return tw.lastIdx, false
	}
	h := fnv.New128a()
	var n [8]byte
	for _, a := range s.Resource {
		for _, str := range [...]string{a.Key, a.Value} {
			binary.LittleEndian.PutUint64(n[:], uint64(len(str)))
			_, _ = h.Write(n[:])
			_, _ = h.Write([]byte(str))
		}
		_, _ = h.Write([]byte{byte(a.Type)})
	}
	var key [16]byte
	h.Sum(key[:0])
	idx, ok := tw.resources[key]
	if !ok {
		idx = len(tw.resources)
		tw.resources[key] = idx
	}
	if len(s.Resource) > 0 {
		tw.lastRes, tw.lastLen, tw.lastIdx = &s.Resource[0], len(s.Resource), idx
	}
	return idx, !ok
}

var tracerStatusNames = [...]string{storage.StatusUnset: "unset", storage.StatusOK: "ok", storage.StatusError: "error"}

func tracerStatusName(c storage.StatusCode) string {
	if c >= 0 && int(c) < len(tracerStatusNames) {
		return tracerStatusNames[c]
	}
	return "unset"
}

func (tw *tracerTraceWriter) span(s *storage.Span) {
	b := tw.b
	if tw.count > 0 {
		b = append(b, ',')
	}
	tw.count++
	b = append(b, `{"spanId":"`...)
	b = append(b, s.SpanID.String()...)
	b = append(b, '"')
	if !s.ParentSpanID.IsZero() {
		b = append(b, `,"parentSpanId":"`...)
		b = append(b, s.ParentSpanID.String()...)
		b = append(b, '"')
	}
	b = append(b, `,"name":`...)
	b = storage.AppendJSONString(b, s.Name)
	b = append(b, `,"service":`...)
	b = storage.AppendJSONString(b, s.Service)
	b = append(b, `,"kind":"`...)
	b = append(b, s.Kind.String()...)
	b = append(b, `","startTimeUnixNano":"`...)
	b = strconv.AppendInt(b, s.StartTime, 10)
	b = append(b, `","endTimeUnixNano":"`...)
	b = strconv.AppendInt(b, s.EndTime, 10)
	b = append(b, `","durationNano":`...)
	b = strconv.AppendInt(b, s.EndTime-s.StartTime, 10)
	b = append(b, `,"status":"`...)
	b = append(b, tracerStatusName(s.StatusCode)...)
	b = append(b, '"')
	if s.StatusMessage != "" {
		b = append(b, `,"statusMessage":`...)
		b = storage.AppendJSONString(b, s.StatusMessage)
	}
	if s.TraceState != "" {
		b = append(b, `,"traceState":`...)
		b = storage.AppendJSONString(b, s.TraceState)
	}
	if s.Flags != 0 {
		b = append(b, `,"flags":`...)
		b = strconv.AppendUint(b, uint64(s.Flags), 10)
	}
	idx, isNew := tw.resource(s)
	b = append(b, `,"resource":`...)
	b = strconv.AppendInt(b, int64(idx), 10)
	if isNew {
		b = append(b, `,"resourceAttributes":`...)
		b = appendTracerAttributes(b, s.Resource)
	}
	if s.ScopeName != "" || s.ScopeVersion != "" {
		b = append(b, `,"scope":{"name":`...)
		b = storage.AppendJSONString(b, s.ScopeName)
		b = append(b, `,"version":`...)
		b = storage.AppendJSONString(b, s.ScopeVersion)
		b = append(b, '}')
	}
	b = append(b, `,"attributes":`...)
	b = appendTracerAttributes(b, s.Attributes)
	if len(s.Events) > 0 {
		b = append(b, `,"events":[`...)
		for i, e := range s.Events {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"timeUnixNano":"`...)
			b = strconv.AppendInt(b, e.Time, 10)
			b = append(b, `","name":`...)
			b = storage.AppendJSONString(b, e.Name)
			b = append(b, `,"attributes":`...)
			b = appendTracerAttributes(b, e.Attributes)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(s.Links) > 0 {
		b = append(b, `,"links":[`...)
		for i, l := range s.Links {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"traceId":"`...)
			b = append(b, l.TraceID.String()...)
			b = append(b, `","spanId":"`...)
			b = append(b, l.SpanID.String()...)
			b = append(b, '"')
			if l.TraceState != "" {
				b = append(b, `,"traceState":`...)
				b = storage.AppendJSONString(b, l.TraceState)
			}
			b = append(b, `,"attributes":`...)
			b = appendTracerAttributes(b, l.Attributes)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	for _, d := range [...]struct {
		name string
		n    uint32
	}{{"droppedAttributesCount", s.DroppedAttributes}, {"droppedEventsCount", s.DroppedEvents}, {"droppedLinksCount", s.DroppedLinks}} {
		if d.n > 0 {
			b = append(b, `,"`...)
			b = append(b, d.name...)
			b = append(b, `":`...)
			b = strconv.AppendUint(b, uint64(d.n), 10)
		}
	}
	b = appendClock(b, s)
	tw.b = append(b, '}')
}

var tracerTypeNames = [...]string{
	storage.TypeString: "string", storage.TypeBool: "bool", storage.TypeInt: "int", storage.TypeDouble: "double",
	storage.TypeBytes: "bytes", storage.TypeArray: "array", storage.TypeMap: "map",
}

// appendTracerAttributes appends attrs as [{"key","type","value"}]: the value in
// its canonical string form (bytes in base64), the type left out for a
// string.
func appendTracerAttributes(b []byte, attrs []storage.Attribute) []byte {
	b = append(b, '[')
	for i, a := range attrs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"key":`...)
		b = storage.AppendJSONString(b, a.Key)
		if a.Type != storage.TypeString && int(a.Type) < len(tracerTypeNames) {
			b = append(b, `,"type":"`...)
			b = append(b, tracerTypeNames[a.Type]...)
			b = append(b, '"')
		}
		b = append(b, `,"value":`...)
		if a.Type == storage.TypeBytes {
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, []byte(a.Value))
			b = append(b, '"')
		} else {
			b = storage.AppendJSONString(b, a.Value)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendClock appends the span's vector clock: "clock": "none" without
// one, "clock": "invalid" with "clockError" when its attributes are
// malformed, else {"node","tick","start","end"} with the clocks as
// node→count objects and "startPruned"/"endPruned" when an entry was left
// out.
func appendClock(b []byte, s *storage.Span) []byte {
	c, err := s.SpanClock()
	switch {
	case errors.Is(err, vclock.ErrNoClock):
		return append(b, `,"clock":"none"`...)
	case err != nil:
		b = append(b, `,"clock":"invalid","clockError":`...)
		return storage.AppendJSONString(b, err.Error())
	}
	b = append(b, `,"clock":{"node":`...)
	b = storage.AppendJSONString(b, c.Node)
	b = append(b, `,"tick":`...)
	b = strconv.AppendUint(b, c.Tick, 10)
	b = append(b, `,"start":`...)
	b = appendClockEntries(b, c.Start)
	b = append(b, `,"end":`...)
	b = appendClockEntries(b, c.End)
	if c.Start.Pruned() {
		b = append(b, `,"startPruned":true`...)
	}
	if c.End.Pruned() {
		b = append(b, `,"endPruned":true`...)
	}
	return append(b, '}')
}

func appendClockEntries(b []byte, c vclock.Clock) []byte {
	b = append(b, '{')
	first := true
	for node, n := range c.All() {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = storage.AppendJSONString(b, node)
		b = append(b, ':')
		b = strconv.AppendUint(b, n, 10)
	}
	return append(b, '}')
}

// readTrace reads a whole trace with StreamTrace (at most the reader's span
// limit: truncated says when more are stored); storage.ErrNotFound when it
// has no span.
func (a *API) readTrace(ctx context.Context, id storage.TraceID) (spans []storage.Span, truncated bool, err error) {
	truncated, err = a.store.StreamTrace(ctx, id, func(batch []storage.Span) error {
		spans = append(spans, batch...)
		return nil
	})
	if err == nil && len(spans) == 0 {
		err = storage.ErrNotFound
	}
	return spans, truncated, err
}

// tracerTraceID is the {id} of a /api/tracer/traces/{id} route, or false
// after answering 400.
func (a *API) tracerTraceID(w http.ResponseWriter, r *http.Request) (storage.TraceID, bool) {
	id, err := storage.ParseTraceID(r.PathValue("id"))
	if err != nil {
		a.writeTracerError(w, r, badParam("id", r.PathValue("id"), "a trace id of 1 to 32 hex digits, not all zeros"))
		return id, false
	}
	return id, true
}
