package query

import (
	"context"
	"errors"
	"math"
	"net/http"

	"github.com/tracerdev/tracer/storage"
)

// Jaeger's v3 HTTP API as Jaeger v2.20 serves it
// (cmd/jaeger/internal/extension/jaegerquery/internal/apiv3/http_gateway.go,
// its snapshots/*.json, and the messages of internal/proto/api_v3):
// traces in OTLP/JSON under {"result": TracesData}, proto3 JSON elsewhere,
// errors as {"error": {"httpCode", "message"}}.

// v3NotFound is the message of Jaeger's answer when no trace is found, by id
// or by search (both are 404 in Jaeger's v3 API).
const v3NotFound = "No traces found"

// v3TruncatedTrailer is the HTTP trailer set to "true" when a trace of the
// answer has more spans stored than the reader returns
// (storage.ReaderLimits.MaxTraceSpans). Jaeger has no way to say so.
const v3TruncatedTrailer = "Tracer-Truncated"

// registerV3 registers Jaeger's v3 routes.
func (a *API) registerV3(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v3/services", a.v3Services)
	mux.HandleFunc("GET /api/v3/operations", a.v3Operations)
	mux.HandleFunc("GET /api/v3/traces", a.v3FindTraces)
	mux.HandleFunc("GET /api/v3/trace-summaries", a.v3TraceSummaries)
	mux.HandleFunc("GET /api/v3/traces/{trace_id}", a.v3Trace)
}

// v3Services answers GetServicesResponse: {"services": [...]}, [] when none.
func (a *API) v3Services(w http.ResponseWriter, r *http.Request) {
	services, err := a.store.Services(r.Context())
	if err != nil {
		a.writeV3Error(w, r, err)
		return
	}
	if services == nil {
		services = []string{}
	}
	writeJSON(w, http.StatusOK, struct {
		Services []string `json:"services"`
	}{services})
}

// v3Operation is api_v3.Operation.
type v3Operation struct {
	Name     string `json:"name,omitempty"`
	SpanKind string `json:"spanKind,omitempty"`
}

// v3Operations answers GetOperationsResponse for ?service= and
// spanKind= (or span_kind=). Operations without a kind are listed as
// "internal", as Jaeger does.
func (a *API) v3Operations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	kindStr, kindName := v3SpanKind.get(q)
	kind, err := parseV3Kind(kindName, kindStr)
	if err != nil {
		a.writeV3Error(w, r, err)
		return
	}
	ops, err := a.store.Operations(r.Context(), q.Get("service"), kind)
	if err != nil {
		a.writeV3Error(w, r, err)
		return
	}
	out := make([]v3Operation, len(ops))
	for i, op := range ops {
		k := op.Kind
		if k == storage.KindUnspecified {
			k = storage.KindInternal
		}
		out[i] = v3Operation{Name: op.Name, SpanKind: k.String()}
	}
	writeJSON(w, http.StatusOK, struct {
		Operations []v3Operation `json:"operations"`
	}{out})
}

// writeV3NotFound answers Jaeger's 404 for no traces.
func writeV3NotFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, v3Error{Error: v3ErrorBody{HTTPCode: http.StatusNotFound, Message: v3NotFound}})
}

// v3FindTraces answers a search with the matching traces as one TracesData,
// or 404 when none matches (Jaeger's answer too).
func (a *API) v3FindTraces(w http.ResponseWriter, r *http.Request) {
	s, err := parseV3Search(r.URL.Query(), a.cfg.MaxLookback)
	if err != nil {
		a.writeV3Error(w, r, err)
		return
	}
	traces, err := a.store.FindTraces(r.Context(), s.q)
	if err != nil {
		a.writeV3Error(w, r, err)
		return
	}
	if len(traces) == 0 {
		writeV3NotFound(w)
		return
	}
	tw := v3TraceWriter{w: w, stream: true}
	truncated := false
	for i := range traces {
		if err := tw.batch(traces[i].Spans); err != nil {
			a.v3CutShort(r, err)
			return
		}
		traces[i].Spans = nil // written: let it go
		truncated = truncated || traces[i].Truncated
	}
	if err := tw.finish(truncated); err != nil {
		a.v3CutShort(r, err)
	}
}

// v3Trace answers one trace as TracesData, streamed: each batch the store
// yields is written (as ResourceSpans of its own) before the next is read,
// so a trace of any length takes memory for one batch. The time hints
// startTime and endTime and rawTraces are checked as Jaeger checks them and
// have no other effect: stores find a trace by id alone, and Tracer never
// adjusts spans (its answer is always Jaeger's raw one).
func (a *API) v3Trace(w http.ResponseWriter, r *http.Request) {
	id, err := parseV3TraceID(r.PathValue("trace_id"))
	if err != nil {
		a.writeV3Error(w, r, err)
		return
	}
	q := r.URL.Query()
	for _, p := range []v3Param{v3StartTime, v3EndTime} {
		if v, name := p.get(q); v != "" {
			if _, err := parseV3Time(name, v); err != nil {
				a.writeV3Error(w, r, err)
				return
			}
		}
	}
	if v, name := v3RawTraces.get(q); v != "" {
		if _, err := parseV3Bool(name, v); err != nil {
			a.writeV3Error(w, r, err)
			return
		}
	}
	tw := v3TraceWriter{w: w, stream: true}
	truncated, err := a.store.StreamTrace(r.Context(), id, tw.batch)
	switch {
	case errors.Is(err, storage.ErrNotFound) && !tw.started:
		writeV3NotFound(w)
	case err != nil && !tw.started:
		a.writeV3Error(w, r, err)
	case err != nil:
		a.v3CutShort(r, err)
	case !tw.started:
		// A store that found the trace but yielded no span: none to show.
		writeV3NotFound(w)
	default:
		if err := tw.finish(truncated); err != nil {
			a.v3CutShort(r, err)
		}
	}
}

// v3CutShort logs a trace answer that failed after its status was sent: the
// client gets JSON that ends early, which no JSON reader accepts.
func (a *API) v3CutShort(r *http.Request, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		return // the client went away: the write failed or the store saw it
	}
	a.log.Warn("v3 trace answer cut short", "request_id", requestID(r), "path", r.URL.Path, "err", err)
}

// v3TraceWriter writes {"result":{"resourceSpans":[...]}} one batch of spans
// at a time.
type v3TraceWriter struct {
	w       http.ResponseWriter
	stream  bool // flush after each batch; announce the truncation trailer
	o       otlpWriter
	buf     []byte
	started bool // the status and the envelope's start are written
	any     bool // a ResourceSpans is written
}

// batch writes the ResourceSpans of spans.
func (t *v3TraceWriter) batch(spans []storage.Span) error {
	t.buf = t.buf[:0]
	if !t.started {
		t.started = true
		t.w.Header().Set("Content-Type", "application/json")
		if t.stream {
			t.w.Header().Set("Trailer", v3TruncatedTrailer)
		}
		t.w.WriteHeader(http.StatusOK)
		t.buf = append(t.buf, `{"result":{"resourceSpans":[`...)
	}
	if len(spans) > 0 {
		if t.any {
			t.buf = append(t.buf, ',')
		}
		t.any = true
		t.buf = t.o.appendResourceSpans(t.buf, spans)
	}
	if _, err := t.w.Write(t.buf); err != nil {
		return err
	}
	if t.stream {
		if err := http.NewResponseController(t.w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
	}
	if cap(t.buf) > 4<<20 {
		t.buf = nil // a batch of huge spans: keep no more than that between batches
	}
	return nil
}

// finish ends the envelope; truncated sets the trailer.
func (t *v3TraceWriter) finish(truncated bool) error {
	if truncated {
		t.w.Header().Set(v3TruncatedTrailer, "true")
	}
	_, err := t.w.Write([]byte("]}}\n"))
	return err
}

// v3TraceSummary is api_v3.TraceSummary as proto3 JSON (jsonpb leaves zero
// fields out and writes the fixed64 times as strings).
type v3TraceSummary struct {
	TraceID              string             `json:"traceId,omitempty"`
	RootServiceName      string             `json:"rootServiceName,omitempty"`
	RootOperationName    string             `json:"rootOperationName,omitempty"`
	MinStartTimeUnixNano uint64             `json:"minStartTimeUnixNano,omitempty,string"`
	MaxEndTimeUnixNano   uint64             `json:"maxEndTimeUnixNano,omitempty,string"`
	SpanCount            int32              `json:"spanCount,omitempty"`
	ErrorSpanCount       int32              `json:"errorSpanCount,omitempty"`
	Services             []v3ServiceSummary `json:"services"`
}

// v3ServiceSummary is api_v3.ServiceSummary.
type v3ServiceSummary struct {
	Name           string `json:"name,omitempty"`
	SpanCount      int32  `json:"spanCount,omitempty"`
	ErrorSpanCount int32  `json:"errorSpanCount,omitempty"`
}

// v3TraceSummaries answers FindTraceSummariesResponse: {"summaries": [...]},
// [] when nothing matches (not 404, as in Jaeger). Jaeger's
// orphanSpanCount is left out (zero, to a proto3 JSON reader): storage's
// summaries do not count orphans. The root service and operation are given
// only when the trace's root span is stored, as Jaeger does.
func (a *API) v3TraceSummaries(w http.ResponseWriter, r *http.Request) {
	s, err := parseV3Search(r.URL.Query(), a.cfg.MaxLookback)
	if err != nil {
		a.writeV3Error(w, r, err)
		return
	}
	sums, err := a.store.FindTraceSummaries(r.Context(), s.q)
	if err != nil {
		a.writeV3Error(w, r, err)
		return
	}
	out := make([]v3TraceSummary, len(sums))
	for i := range sums {
		out[i] = toV3Summary(&sums[i])
	}
	writeJSON(w, http.StatusOK, struct {
		Summaries []v3TraceSummary `json:"summaries"`
	}{out})
}

func toV3Summary(s *storage.TraceSummary) v3TraceSummary {
	out := v3TraceSummary{
		TraceID:              s.ID.String(),
		MinStartTimeUnixNano: uint64(max(s.Start, 0)),
		MaxEndTimeUnixNano:   uint64(max(s.End, 0)),
		SpanCount:            clamp32(s.SpanCount),
		ErrorSpanCount:       clamp32(s.ErrorCount),
		Services:             make([]v3ServiceSummary, len(s.Services)),
	}
	if s.HasRoot {
		out.RootServiceName, out.RootOperationName = s.RootService, s.RootName
	}
	for j, ss := range s.Services {
		out.Services[j] = v3ServiceSummary{Name: ss.Service, SpanCount: clamp32(ss.SpanCount), ErrorSpanCount: clamp32(ss.ErrorCount)}
	}
	return out
}

func clamp32(n int) int32 { return int32(min(max(n, 0), math.MaxInt32)) }
