package query

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/tracerdev/tracer/collector/otlp"
	"github.com/tracerdev/tracer/storage"
)

// Jaeger's v1 HTTP API, the routes the Jaeger UI and Grafana's Jaeger data
// source call, answering as Jaeger v2.20 does
// (cmd/jaeger/internal/extension/jaegerquery/internal/http_handler.go):
// every answer is the envelope {data, total, limit, offset, errors}
// (structuredResponse), errors included. Grafana's client
// (grafana/grafana pkg/tsdb/jaeger/client.go) calls /api/services,
// /api/services/{service}/operations, /api/traces (service, operation,
// tags as JSON, minDuration, maxDuration, limit, start and end in
// microseconds), /api/traces/{id} (start and end, in milliseconds: they are
// only hints here) and /api/dependencies (endTs, lookback in
// milliseconds); the Jaeger UI (jaeger-ui packages/jaeger-ui/src/api/jaeger.ts)
// calls the same, /api/operations?service=&spanKind=server and POST
// /api/transform (an uploaded OTLP/JSON file).
func (a *API) registerV1(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/services", a.v1Services)
	mux.HandleFunc("GET /api/services/{service}/operations", a.v1ServiceOperations)
	mux.HandleFunc("GET /api/operations", a.v1Operations)
	mux.HandleFunc("GET /api/traces", a.v1Search)
	mux.HandleFunc("GET /api/traces/{traceID}", a.v1Trace)
	mux.HandleFunc("GET /api/dependencies", a.v1Dependencies)
	mux.HandleFunc("POST /api/transform", a.v1Transform)
}

// v1Operation is Jaeger's uimodel.Operation.
type v1Operation struct {
	Name     string `json:"name"`
	SpanKind string `json:"spanKind"`
}

// v1DependencyLink is Jaeger's uimodel.DependencyLink.
type v1DependencyLink struct {
	Parent    string `json:"parent"`
	Child     string `json:"child"`
	CallCount uint64 `json:"callCount"`
}

// v1Services answers GET /api/services: the service names, sorted.
func (a *API) v1Services(w http.ResponseWriter, r *http.Request) {
	services, err := a.store.Services(r.Context())
	if err != nil {
		a.writeV1Error(w, r, err)
		return
	}
	if services == nil {
		services = []string{}
	}
	writeJSON(w, http.StatusOK, v1Response{Data: services, Total: len(services)})
}

// v1ServiceOperations answers GET /api/services/{service}/operations: the
// distinct span names of the service, of every kind, sorted.
func (a *API) v1ServiceOperations(w http.ResponseWriter, r *http.Request) {
	ops, err := a.store.Operations(r.Context(), r.PathValue("service"), storage.KindUnspecified)
	if err != nil {
		a.writeV1Error(w, r, err)
		return
	}
	names := []string{}
	for _, op := range ops { // sorted by name: duplicates are adjacent
		if len(names) == 0 || names[len(names)-1] != op.Name {
			names = append(names, op.Name)
		}
	}
	writeJSON(w, http.StatusOK, v1Response{Data: names, Total: len(names)})
}

// v1Operations answers GET /api/operations?service=&spanKind=: the
// operations of the service, with the kind each was seen with.
func (a *API) v1Operations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	service := q.Get("service")
	if service == "" {
		a.writeV1Error(w, r, badParam("service", "", "a service name (it is required)"))
		return
	}
	kind, err := storage.ParseSpanKind(q.Get("spanKind"))
	if err != nil {
		a.writeV1Error(w, r, badParam("spanKind", q.Get("spanKind"), "server, client, producer, consumer, internal or unspecified"))
		return
	}
	ops, err := a.store.Operations(r.Context(), service, kind)
	if err != nil {
		a.writeV1Error(w, r, err)
		return
	}
	data := make([]v1Operation, len(ops))
	for i, op := range ops {
		data[i] = v1Operation{Name: op.Name, SpanKind: jaegerSpanKind(op.Kind)}
	}
	writeJSON(w, http.StatusOK, v1Response{Data: data, Total: len(data)})
}

// v1Dependencies answers GET /api/dependencies?endTs=&lookback=: the
// service graph's edges over the lookback before endTs, those of service
// only when it is given (Jaeger's filterDependenciesByService).
func (a *API) v1Dependencies(w http.ResponseWriter, r *http.Request) {
	p, err := a.parseV1Dependencies(r.URL.Query())
	if err != nil {
		a.writeV1Error(w, r, err)
		return
	}
	deps, err := a.store.Dependencies(r.Context(), p.end, p.lookback)
	if err != nil {
		a.writeV1Error(w, r, err)
		return
	}
	data := make([]v1DependencyLink, 0, len(deps))
	for _, d := range deps {
		if p.service != "" && d.Parent != p.service && d.Child != p.service {
			continue
		}
		data = append(data, v1DependencyLink{Parent: d.Parent, Child: d.Child, CallCount: d.CallCount})
	}
	writeJSON(w, http.StatusOK, v1Response{Data: data})
}

// v1Search answers GET /api/traces: the traces that match, whole, or the
// traces named by traceID (those not found are listed in errors).
func (a *API) v1Search(w http.ResponseWriter, r *http.Request) {
	p, err := a.parseV1Search(r.URL.Query())
	if err != nil {
		a.writeV1Error(w, r, err)
		return
	}
	if len(p.ids) > 0 {
		a.v1TracesByID(w, r, p.ids, p.raw)
		return
	}
	traces, err := a.store.FindTraces(r.Context(), p.query)
	if err != nil {
		a.writeV1Error(w, r, err)
		return
	}
	out := &v1Writer{w: w}
	out.buf = append(out.buf, `{"data":[`...)
	var jt jaegerTrace
	for i := range traces {
		tr := &traces[i]
		if i > 0 {
			out.buf = append(out.buf, ',')
		}
		out.buf = jt.begin(out.buf, tr.ID, p.raw)
		for j := range tr.Spans {
			extra := ""
			if j == 0 && tr.Truncated {
				extra = truncatedWarning(len(tr.Spans))
			}
			out.buf = jt.span(out.buf, &tr.Spans[j], extra)
			if err := out.maybeFlush(); err != nil {
				return // the client went away
			}
		}
		out.buf = jt.end(out.buf)
		traces[i] = storage.Trace{} // written: let it go
	}
	out.buf = append(out.buf, "],\"total\":0,\"limit\":0,\"offset\":0,\"errors\":null}\n"...)
	_ = out.flush()
}

// v1TracesByID answers a search by traceID, streaming each trace.
func (a *API) v1TracesByID(w http.ResponseWriter, r *http.Request, ids []storage.TraceID, raw bool) {
	out := &v1Writer{w: w}
	out.buf = append(out.buf, `{"data":[`...)
	var jt jaegerTrace
	var missing []v1Error
	found := 0
	for _, id := range ids {
		err := a.streamTrace(r.Context(), out, &jt, id, raw, func() {
			if found > 0 {
				out.buf = append(out.buf, ',')
			}
			found++
		})
		switch {
		case errors.Is(err, storage.ErrNotFound):
			missing = append(missing, v1Error{Msg: storage.ErrNotFound.Error(), TraceID: jaegerTraceID(id)})
		case err != nil:
			a.failStream(w, r, out, err)
			return
		}
	}
	out.buf = append(out.buf, `],"total":0,"limit":0,"offset":0,"errors":`...)
	if len(missing) == 0 {
		out.buf = append(out.buf, "null"...)
	} else {
		out.buf = append(out.buf, '[')
		for i, e := range missing {
			if i > 0 {
				out.buf = append(out.buf, ',')
			}
			out.buf = append(out.buf, `{"msg":`...)
			out.buf = storage.AppendJSONString(out.buf, e.Msg)
			out.buf = append(out.buf, `,"traceID":"`...)
			out.buf = append(out.buf, e.TraceID...)
			out.buf = append(out.buf, `"}`...)
		}
		out.buf = append(out.buf, ']')
	}
	out.buf = append(out.buf, "}\n"...)
	_ = out.flush()
}

// v1Transform answers POST /api/transform: the OTLP/JSON request in the
// body, converted to Jaeger's model (the Jaeger UI's upload of an OTLP
// file). As Jaeger's (otlp_translator.go), it groups the spans by trace in
// the order they come and applies no adjuster. The body is validated as
// the collector validates it: spans it would reject are left out and
// counted in errors.
func (a *API) v1Transform(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.writeV1Error(w, r, &bodyError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes (the server's max_request_bytes)", a.cfg.MaxRequestBytes)})
			return
		}
		a.writeV1Error(w, r, fmt.Errorf("read body: %w", err))
		return
	}
	lim := otlp.DefaultLimits()
	pb, err := otlp.FromJSON(body)
	var scan otlp.ScanResult
	if err == nil {
		scan, err = otlp.Scan(pb, lim)
	}
	var spans []storage.Span
	if err == nil {
		spans, _, err = otlp.Decode(nil, scan.Body, lim)
	}
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, otlp.ErrTooManySpans) {
			status = http.StatusRequestEntityTooLarge
		}
		msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), otlp.ErrMalformed.Error()+": "), "otlp/json: ")
		a.writeV1Error(w, r, &bodyError{status, "request body is not an OTLP/JSON trace request: " + msg})
		return
	}
	// The traces in order of first appearance, their spans in body order.
	index := make(map[storage.TraceID]int)
	var traces [][]int
	for i := range spans {
		j, ok := index[spans[i].TraceID]
		if !ok {
			j = len(traces)
			index[spans[i].TraceID] = j
			traces = append(traces, nil)
		}
		traces[j] = append(traces[j], i)
	}
	out := &v1Writer{w: w}
	out.buf = append(out.buf, `{"data":[`...)
	var jt jaegerTrace
	for i, tr := range traces {
		if i > 0 {
			out.buf = append(out.buf, ',')
		}
		out.buf = jt.begin(out.buf, spans[tr[0]].TraceID, true)
		for _, k := range tr {
			out.buf = jt.span(out.buf, &spans[k], "")
		}
		out.buf = jt.end(out.buf)
		if err := out.maybeFlush(); err != nil {
			return
		}
	}
	out.buf = append(out.buf, `],"total":0,"limit":0,"offset":0,"errors":`...)
	if scan.Rejected > 0 {
		out.buf = append(out.buf, `[{"code":400,"msg":`...)
		out.buf = storage.AppendJSONString(out.buf, strconv.Itoa(scan.Rejected)+" spans left out: "+scan.Reason)
		out.buf = append(out.buf, `}]`...)
	} else {
		out.buf = append(out.buf, "null"...)
	}
	out.buf = append(out.buf, "}\n"...)
	_ = out.flush()
}

// v1Trace answers GET /api/traces/{traceID}, streaming: the spans are
// written as the store yields them, so a trace of any size is served in
// the memory of a batch. start and end (microseconds) are checked and
// otherwise unused: the store reads a trace whole by its id.
func (a *API) v1Trace(w http.ResponseWriter, r *http.Request) {
	id, err := parseTraceIDParam("traceID", r.PathValue("traceID"))
	if err != nil {
		a.writeV1Error(w, r, err)
		return
	}
	q := r.URL.Query()
	if _, err := parseMicros(q, "start", a.now()); err != nil {
		a.writeV1Error(w, r, err)
		return
	}
	if _, err := parseMicros(q, "end", a.now()); err != nil {
		a.writeV1Error(w, r, err)
		return
	}
	raw, err := parseBool(q, "raw")
	if err != nil {
		a.writeV1Error(w, r, err)
		return
	}
	out := &v1Writer{w: w}
	var jt jaegerTrace
	err = a.streamTrace(r.Context(), out, &jt, id, raw, func() {
		out.buf = append(out.buf, `{"data":[`...)
	})
	if err != nil {
		a.failStream(w, r, out, err)
		return
	}
	out.buf = append(out.buf, "],\"total\":0,\"limit\":0,\"offset\":0,\"errors\":null}\n"...)
	_ = out.flush()
}

// streamTrace appends trace id to out as its spans arrive, flushing as the
// buffer fills; before is called once, before the trace's first byte. It
// returns storage.ErrNotFound, having written nothing, when no span of the
// trace is stored. The first span is written last: only then is it known
// whether the trace was truncated, and Jaeger puts that warning on the
// first span.
func (a *API) streamTrace(ctx context.Context, out *v1Writer, jt *jaegerTrace, id storage.TraceID, raw bool, before func()) error {
	var first storage.Span
	n := 0
	truncated, err := a.store.StreamTrace(ctx, id, func(batch []storage.Span) error {
		for i := range batch {
			if n == 0 {
				before()
				out.buf = jt.begin(out.buf, id, raw)
				first = batch[i]
			} else {
				out.buf = jt.span(out.buf, &batch[i], "")
			}
			n++
		}
		return out.maybeFlush()
	})
	switch {
	case err != nil:
		return err
	case n == 0:
		return storage.ErrNotFound
	}
	extra := ""
	if truncated {
		extra = truncatedWarning(n)
	}
	out.buf = jt.span(out.buf, &first, extra)
	out.buf = jt.end(out.buf)
	return nil
}

// truncatedWarning is the warning of a trace cut at n spans
// (internal/jptrace/aggregator.go, markTraceTruncated).
func truncatedWarning(n int) string {
	return "trace has more than " + strconv.Itoa(n) + " spans, showing first " + strconv.Itoa(n) + " spans only"
}

// failStream answers err: in the envelope when nothing was sent yet;
// otherwise the answer is cut short (the connection is closed), so that a
// client never takes a partial trace for a whole one.
func (a *API) failStream(w http.ResponseWriter, r *http.Request, out *v1Writer, err error) {
	if !out.sent {
		a.writeV1Error(w, r, err)
		return
	}
	if out.err == nil { // not the client going away: say why
		a.log.Error("query: trace stream failed after the answer began", "request_id", requestID(r), "path", r.URL.Path, "err", err)
	}
	panic(http.ErrAbortHandler)
}

// v1FlushAt is the buffered size at which a streamed answer is written out.
const v1FlushAt = 64 << 10

// v1Writer buffers a streamed JSON answer and writes it out in pieces.
type v1Writer struct {
	w    http.ResponseWriter
	buf  []byte
	sent bool  // some of the answer has been written
	err  error // the first write error (the client went away)
}

// maybeFlush writes the buffer out when it has grown past v1FlushAt.
func (o *v1Writer) maybeFlush() error {
	if len(o.buf) < v1FlushAt {
		return o.err
	}
	return o.flush()
}

// flush writes the buffer out.
func (o *v1Writer) flush() error {
	if o.err != nil {
		return o.err
	}
	if !o.sent {
		o.w.Header().Set("Content-Type", "application/json")
		o.w.WriteHeader(http.StatusOK)
		o.sent = true
	}
	if _, err := o.w.Write(o.buf); err != nil {
		o.err = fmt.Errorf("write answer: %w", err)
	}
	o.buf = o.buf[:0]
	return o.err
}
