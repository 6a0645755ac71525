package query

import (
	_ "embed"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// Tracer's own routes under /api/tracer/: what Jaeger's shapes cannot
// carry (vector clocks, summaries with counts per service, RED series,
// attribute listings, dependencies with errors). openapi.yaml, served at
// /api/tracer/openapi.yaml, documents them; keep the two in step (a test
// checks that every route below is documented and nothing else is).
//
// Conventions:
//   - Answers are JSON; errors are {"error":{"code","message","requestId"}}
//     (writeTracerError) with status 400 for a bad parameter or a query over
//     a limit, 404 for a trace not stored, 503 for a query over the timeout.
//   - Ids are lowercase hex: 32 digits for a trace, 16 for a span.
//   - Times in answers are unix nanoseconds as decimal strings (as in
//     OTLP/JSON: a JSON number loses precision past 2^53 in JavaScript),
//     in fields named ...UnixNano; durations are nanoseconds as JSON
//     numbers (exact up to 104 days), in fields named ...Nano.
//   - Time parameters take RFC 3339 (2026-12-01T10:00:00.5Z) or unix
//     nanoseconds (digits only); duration parameters take Go's duration
//     syntax (250ms, 1.5s, 1h).
//   - A time range (start, end) is at most Config.MaxLookback long.

//go:embed openapi.yaml
var openAPI []byte

// tracerRoute is one route of Tracer's own API.
type tracerRoute struct {
	path    string
	handler func(a *API, w http.ResponseWriter, r *http.Request)
}

// tracerRoutes is the one list of Tracer's own routes (all GET): the
// mux registers it and the OpenAPI test compares the document with it.
var tracerRoutes = []tracerRoute{
	{"/api/tracer/traces/{id}", (*API).tracerTrace},
	{"/api/tracer/traces/{id}/skew", (*API).tracerSkew},
	{"/api/tracer/traces/{id}/causal", (*API).tracerCausal},
	{"/api/tracer/trace-summaries", (*API).tracerSummaries},
	{"/api/tracer/red", (*API).tracerRED},
	{"/api/tracer/attributes/keys", (*API).tracerAttributeKeys},
	{"/api/tracer/attributes/values", (*API).tracerAttributeValues},
	{"/api/tracer/dependencies", (*API).tracerDependencies},
	{"/api/tracer/traces/{id}/critical-path", (*API).tracerCriticalPath},
	{"/api/tracer/bottlenecks", (*API).tracerBottlenecks},
	{"/api/tracer/anomalies", (*API).tracerAnomalies},
	{"/api/tracer/openapi.yaml", (*API).tracerOpenAPI},
}

// registerTracer registers Tracer's own /api/tracer routes.
func (a *API) registerTracer(mux *http.ServeMux) {
	for _, rt := range tracerRoutes {
		mux.HandleFunc("GET "+rt.path, func(w http.ResponseWriter, r *http.Request) { rt.handler(a, w, r) })
	}
}

func (a *API) tracerOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPI)
}

// Defaults of Tracer's own routes.
const (
	tracerDefaultLookback     = time.Hour
	tracerDefaultDepsLookback = 24 * time.Hour
	tracerDefaultREDStep      = time.Minute
)

// tracerTime parses an RFC 3339 time or unix nanoseconds; ok is false when
// the parameter is absent.
func tracerTime(v url.Values, name string) (t time.Time, ok bool, err error) {
	s := v.Get(name)
	if s == "" {
		return time.Time{}, false, nil
	}
	if strings.Trim(s, "0123456789") == "" {
		ns, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, false, badParam(name, s, "an RFC 3339 time or unix nanoseconds")
		}
		return time.Unix(0, ns), true, nil
	}
	t, err = time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1970 || t.Year() > 2262 {
		return time.Time{}, false, badParam(name, s, "an RFC 3339 time or unix nanoseconds")
	}
	return t, true, nil
}

// durationParam parses parameter name of v with parseDuration; "" is def.
func durationParam(v url.Values, name string, def time.Duration) (time.Duration, error) {
	s := v.Get(name)
	if s == "" {
		return def, nil
	}
	return parseDuration(name, s)
}

// tracerRange parses start and end: end defaults to now, start to end minus
// def. It checks that start is before end and that the range is at most
// Config.MaxLookback.
func (a *API) tracerRange(v url.Values, def time.Duration) (start, end time.Time, err error) {
	end, ok, err := tracerTime(v, "end")
	if err != nil {
		return start, end, err
	}
	if !ok {
		end = a.now()
	}
	start, ok, err = tracerTime(v, "start")
	if err != nil {
		return start, end, err
	}
	if !ok {
		start = end.Add(-min(def, a.cfg.MaxLookback))
	}
	if !start.Before(end) {
		return start, end, badParam("start", v.Get("start"), "a time before end")
	}
	return start, end, a.checkRange("start", v.Get("start"), start, end)
}

// tracerLimit parses a non-negative integer; "" is 0 (the reader's
// default).
func tracerLimit(v url.Values) (int, error) {
	s := v.Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, badParam("limit", s, "a non-negative integer")
	}
	return n, nil
}

// tracerPairs parses repeated key:value parameters (split at the first
// colon) into a map; a key given twice is an error.
func tracerPairs(v url.Values, name string) (map[string]string, error) {
	vals := v[name]
	if len(vals) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(vals))
	for _, s := range vals {
		k, val, ok := strings.Cut(s, ":")
		if !ok || k == "" {
			return nil, badParam(name, s, "key:value")
		}
		if _, dup := m[k]; dup {
			return nil, badParam(name, s, "each key once")
		}
		m[k] = val
	}
	return m, nil
}

// tracerKind parses a span kind name ("" is any).
func tracerKind(name, s string) (storage.SpanKind, error) {
	k, err := storage.ParseSpanKind(s)
	if err != nil {
		return 0, badParam(name, s, "unspecified, internal, server, client, producer or consumer")
	}
	return k, nil
}

// jsonUnixNano is a time in unix nanoseconds written as a JSON string.
type jsonUnixNano int64

func (t jsonUnixNano) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 22)
	b = append(b, '"')
	b = strconv.AppendInt(b, int64(t), 10)
	return append(b, '"'), nil
}

// summaryJSON is one trace of /api/tracer/trace-summaries.
type summaryJSON struct {
	TraceID           string        `json:"traceId"`
	RootService       string        `json:"rootService"`
	RootName          string        `json:"rootName"`
	HasRoot           bool          `json:"hasRoot"`
	StartTimeUnixNano jsonUnixNano  `json:"startTimeUnixNano"`
	EndTimeUnixNano   jsonUnixNano  `json:"endTimeUnixNano"`
	DurationNano      int64         `json:"durationNano"`
	SpanCount         int           `json:"spanCount"`
	ErrorCount        int           `json:"errorCount"`
	Services          []serviceJSON `json:"services"`
}

type serviceJSON struct {
	Service    string `json:"service"`
	SpanCount  int    `json:"spanCount"`
	ErrorCount int    `json:"errorCount"`
}

func (a *API) tracerSummaries(w http.ResponseWriter, r *http.Request) {
	q, err := a.parseSearch(r.URL.Query())
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	sums, err := a.store.FindTraceSummaries(r.Context(), q)
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	out := make([]summaryJSON, len(sums))
	for i, s := range sums {
		svcs := make([]serviceJSON, len(s.Services))
		for j, ss := range s.Services {
			svcs[j] = serviceJSON{Service: ss.Service, SpanCount: ss.SpanCount, ErrorCount: ss.ErrorCount}
		}
		out[i] = summaryJSON{
			TraceID: s.ID.String(), RootService: s.RootService, RootName: s.RootName, HasRoot: s.HasRoot,
			StartTimeUnixNano: jsonUnixNano(s.Start), EndTimeUnixNano: jsonUnixNano(s.End), DurationNano: s.End - s.Start,
			SpanCount: s.SpanCount, ErrorCount: s.ErrorCount, Services: svcs,
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Traces []summaryJSON `json:"traces"`
	}{out})
}

// parseSearch parses the search parameters of trace-summaries.
func (a *API) parseSearch(v url.Values) (storage.Query, error) {
	q := storage.Query{Service: v.Get("service"), Operation: v.Get("operation")}
	var err error
	if q.Kind, err = tracerKind("kind", v.Get("kind")); err != nil {
		return q, err
	}
	if q.Status, err = storage.ParseStatusFilter(v.Get("status")); err != nil {
		return q, badParam("status", v.Get("status"), "unset, ok or error")
	}
	if q.Attributes, err = tracerPairs(v, "attr"); err != nil {
		return q, err
	}
	if q.ResourceAttributes, err = tracerPairs(v, "resource"); err != nil {
		return q, err
	}
	if q.DurationMin, err = durationParam(v, "minDuration", 0); err != nil {
		return q, err
	}
	if q.DurationMax, err = durationParam(v, "maxDuration", 0); err != nil {
		return q, err
	}
	if q.DurationMax > 0 && q.DurationMin > q.DurationMax {
		return q, badParam("minDuration", v.Get("minDuration"), "at most maxDuration")
	}
	if q.StartMin, q.StartMax, err = a.tracerRange(v, tracerDefaultLookback); err != nil {
		return q, err
	}
	if q.Limit, err = tracerLimit(v); err != nil {
		return q, err
	}
	return q, nil
}

// redPointJSON is one step of a /api/tracer/red series.
type redPointJSON struct {
	TimeUnixNano jsonUnixNano `json:"timeUnixNano"`
	Requests     uint64       `json:"requests"`
	Errors       uint64       `json:"errors"`
	RequestRate  float64      `json:"requestRate"`
	ErrorRate    float64      `json:"errorRate"`
	P50Ms        float64      `json:"p50Ms"`
	P95Ms        float64      `json:"p95Ms"`
	P99Ms        float64      `json:"p99Ms"`
}

type redSeriesJSON struct {
	Service   string         `json:"service"`
	Operation string         `json:"operation,omitempty"`
	Points    []redPointJSON `json:"points"`
}

func (a *API) tracerRED(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := storage.REDQuery{Operation: v.Get("operation")}
	for _, s := range v["service"] {
		if s != "" {
			q.Services = append(q.Services, s)
		}
	}
	for _, s := range v["kind"] {
		k, err := tracerKind("kind", s)
		if err != nil || s == "" {
			a.writeTracerError(w, r, badParam("kind", s, "unspecified, internal, server, client, producer or consumer"))
			return
		}
		q.Kinds = append(q.Kinds, k)
	}
	if s := v.Get("groupByOperation"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			a.writeTracerError(w, r, badParam("groupByOperation", s, "true or false"))
			return
		}
		q.GroupByOperation = b
	}
	var err error
	if q.Step, err = durationParam(v, "step", tracerDefaultREDStep); err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	if q.Step < storage.REDResolution || q.Step%storage.REDResolution != 0 {
		a.writeTracerError(w, r, badParam("step", v.Get("step"), "a positive multiple of "+storage.REDResolution.String()))
		return
	}
	start, end, err := a.tracerRange(v, tracerDefaultLookback)
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	// Whole minutes, so that every backend counts the same spans.
	q.Start, q.End = floorStep(start, storage.REDResolution), floorStep(end, storage.REDResolution)
	if !q.End.After(q.Start) {
		q.End = q.Start.Add(storage.REDResolution)
	}
	series, err := a.store.RED(r.Context(), q)
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	secs := q.Step.Seconds()
	out := make([]redSeriesJSON, len(series))
	for i, s := range series {
		pts := make([]redPointJSON, len(s.Points))
		for j, p := range s.Points {
			pts[j] = redPointJSON{
				TimeUnixNano: jsonUnixNano(p.Time), Requests: p.Calls, Errors: p.Errors,
				RequestRate: float64(p.Calls) / secs,
				P50Ms:       durationMillis(p.Latency.Quantile(0.50)),
				P95Ms:       durationMillis(p.Latency.Quantile(0.95)),
				P99Ms:       durationMillis(p.Latency.Quantile(0.99)),
			}
			if p.Calls > 0 {
				pts[j].ErrorRate = float64(p.Errors) / float64(p.Calls)
			}
		}
		out[i] = redSeriesJSON{Service: s.Service, Operation: s.Operation, Points: pts}
	}
	writeJSON(w, http.StatusOK, struct {
		StartTimeUnixNano jsonUnixNano    `json:"startTimeUnixNano"`
		EndTimeUnixNano   jsonUnixNano    `json:"endTimeUnixNano"`
		StepNano          int64           `json:"stepNano"`
		Series            []redSeriesJSON `json:"series"`
	}{jsonUnixNano(q.Start.UnixNano()), jsonUnixNano(q.End.UnixNano()), int64(q.Step), out})
}

func durationMillis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// parseAttributeQuery parses the parameters of the attribute listings.
func (a *API) parseAttributeQuery(v url.Values) (storage.AttributeQuery, error) {
	q := storage.AttributeQuery{Service: v.Get("service"), Prefix: v.Get("prefix"), Key: v.Get("key")}
	switch s := v.Get("scope"); s {
	case "", "span":
	case "resource":
		q.Resource = true
	default:
		return q, badParam("scope", s, "span or resource")
	}
	var err error
	if v.Has("start") || v.Has("end") {
		if q.Start, q.End, err = a.tracerRange(v, tracerDefaultLookback); err != nil {
			return q, err
		}
	}
	if q.Limit, err = tracerLimit(v); err != nil {
		return q, err
	}
	return q, nil
}

func (a *API) tracerAttributeKeys(w http.ResponseWriter, r *http.Request) {
	q, err := a.parseAttributeQuery(r.URL.Query())
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	keys, err := a.store.AttributeKeys(r.Context(), q)
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	if keys == nil {
		keys = []string{}
	}
	writeJSON(w, http.StatusOK, struct {
		Keys []string `json:"keys"`
	}{keys})
}

func (a *API) tracerAttributeValues(w http.ResponseWriter, r *http.Request) {
	q, err := a.parseAttributeQuery(r.URL.Query())
	if err == nil && q.Key == "" {
		err = badParam("key", "", "the attribute key whose values to list")
	}
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	vals, err := a.store.AttributeValues(r.Context(), q)
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	if vals == nil {
		vals = []string{}
	}
	writeJSON(w, http.StatusOK, struct {
		Key    string   `json:"key"`
		Values []string `json:"values"`
	}{q.Key, vals})
}

type dependencyJSON struct {
	Parent     string `json:"parent"`
	Child      string `json:"child"`
	CallCount  uint64 `json:"callCount"`
	ErrorCount uint64 `json:"errorCount"`
}

func (a *API) tracerDependencies(w http.ResponseWriter, r *http.Request) {
	start, end, err := a.tracerRange(r.URL.Query(), tracerDefaultDepsLookback)
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	deps, err := a.store.Dependencies(r.Context(), end, end.Sub(start))
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	out := make([]dependencyJSON, len(deps))
	for i, d := range deps {
		out[i] = dependencyJSON{Parent: d.Parent, Child: d.Child, CallCount: d.CallCount, ErrorCount: d.ErrorCount}
	}
	writeJSON(w, http.StatusOK, struct {
		Dependencies []dependencyJSON `json:"dependencies"`
	}{out})
}
