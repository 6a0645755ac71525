package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// Budgets of issue 11 (p99).
const (
	budgetByID   = 50 * time.Millisecond
	budgetSearch = 300 * time.Millisecond
	budgetDeps   = 200 * time.Millisecond
	budgetRED    = 300 * time.Millisecond
)

// redStep is the step of the RED series: the Jaeger UI's Monitor tab asks
// for one minute.
const redStep = time.Minute

// redRatePer is the window the Jaeger UI's Monitor tab asks rates over.
const redRatePer = 10 * time.Minute

// kinds returns the query kinds over the sampled data.
func kinds(s storage.ReadStore, smp sample, o benchOptions) []kind {
	pick := func(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }
	id := func(r *rand.Rand) storage.TraceID { return smp.ids[r.IntN(len(smp.ids))] }
	// The search window is the whole data set, in whole microseconds (v1's
	// unit).
	start, end := smp.start, smp.end
	limit := o.limit

	v1Search := func(q storage.Query) call {
		v := url.Values{}
		v.Set("service", q.Service)
		if q.Operation != "" {
			v.Set("operation", q.Operation)
		}
		if q.DurationMin > 0 {
			v.Set("minDuration", q.DurationMin.String())
		}
		v.Set("start", strconv.FormatInt(q.StartMin.UnixMicro(), 10))
		v.Set("end", strconv.FormatInt(q.StartMax.UnixMicro(), 10))
		v.Set("limit", strconv.Itoa(q.Limit))
		return call{store: findTraces(s, q), path: "/api/traces?" + v.Encode(), count: countV1Traces}
	}
	v3Params := func(q storage.Query) url.Values {
		v := url.Values{}
		if q.Service != "" {
			v.Set("query.serviceName", q.Service)
		}
		if len(q.Attributes) > 0 {
			b, _ := json.Marshal(q.Attributes) // a map[string]string always marshals
			v.Set("query.attributes", string(b))
		}
		if q.DurationMin > 0 {
			v.Set("query.durationMin", q.DurationMin.String())
		}
		v.Set("query.startTimeMin", q.StartMin.Format(time.RFC3339Nano))
		v.Set("query.startTimeMax", q.StartMax.Format(time.RFC3339Nano))
		v.Set("query.searchDepth", strconv.Itoa(q.Limit))
		return v
	}
	v3Search := func(q storage.Query) call {
		return call{store: findTraces(s, q), path: "/api/v3/traces?" + v3Params(q).Encode(), count: countV3Traces}
	}
	window := storage.Query{StartMin: start, StartMax: end, Limit: limit}
	durationMin := func(r *rand.Rand) time.Duration {
		// Spans last 1 to 201 ms: this matches a half to a thirtieth of them.
		return time.Duration(100+r.IntN(96)) * time.Millisecond
	}
	// Attribute searches: a rare value (a thousandth of the spans), a
	// common one (a fifth), a very common one (a third).
	attribute := func(r *rand.Rand) map[string]string {
		switch r.IntN(4) {
		case 0:
			return map[string]string{"http.status_code": "500"}
		case 1:
			return map[string]string{"http.method": "PUT"}
		}
		return map[string]string{"user.id": strconv.Itoa(r.IntN(1000))}
	}

	runs, heavy := o.runs, heavyRuns(o.runs)
	return []kind{
		{"trace by id", "v1 /api/traces/{id}", budgetByID, runs, func(r *rand.Rand) call {
			tid := id(r)
			return call{store: streamTrace(s, tid), path: "/api/traces/" + tid.String(), count: countV1Spans}
		}},
		{"trace by id (v3)", "v3 /api/v3/traces/{id}", budgetByID, runs, func(r *rand.Rand) call {
			tid := id(r)
			return call{store: streamTrace(s, tid), path: "/api/v3/traces/" + tid.String(), count: countV3Spans}
		}},
		{"search service", "v1 /api/traces", budgetSearch, runs, func(r *rand.Rand) call {
			q := window
			q.Service = pick(r, smp.services)
			return v1Search(q)
		}},
		{"search service+operation", "v1 /api/traces", budgetSearch, runs, func(r *rand.Rand) call {
			q := window
			q.Service = pick(r, smp.services)
			if ops := smp.opsOf[q.Service]; len(ops) > 0 {
				q.Operation = pick(r, ops)
			}
			return v1Search(q)
		}},
		{"search service+duration", "v1 /api/traces", budgetSearch, runs, func(r *rand.Rand) call {
			q := window
			q.Service, q.DurationMin = pick(r, smp.services), durationMin(r)
			return v1Search(q)
		}},
		{"search attribute alone", "v3 /api/v3/traces", budgetSearch, runs, func(r *rand.Rand) call {
			q := window
			q.Attributes = attribute(r)
			return v3Search(q)
		}},
		{"search duration alone", "v3 /api/v3/traces", budgetSearch, runs, func(r *rand.Rand) call {
			q := window
			q.DurationMin = durationMin(r)
			return v3Search(q)
		}},
		{"trace summaries", "v3 /api/v3/trace-summaries", budgetSearch, runs, func(r *rand.Rand) call {
			q := window
			q.Service = pick(r, smp.services)
			return call{store: summaries(s, q), path: "/api/v3/trace-summaries?" + v3Params(q).Encode(), count: countV3Summaries}
		}},
		{"trace summaries by attribute (Tracer)", "/api/tracer/trace-summaries", budgetSearch, runs, func(r *rand.Rand) call {
			q := window
			q.Attributes = attribute(r)
			v := url.Values{}
			for k, val := range q.Attributes {
				v.Add("attr", k+":"+val)
			}
			v.Set("start", q.StartMin.Format(time.RFC3339Nano))
			v.Set("end", q.StartMax.Format(time.RFC3339Nano))
			v.Set("limit", strconv.Itoa(q.Limit))
			return call{store: summaries(s, q), path: "/api/tracer/trace-summaries?" + v.Encode(), count: countTracerSummaries}
		}},
		{"dependencies 24h", "v1 /api/dependencies", budgetDeps, heavy, func(r *rand.Rand) call {
			// End somewhere in the last half hour of the data, in ms (v1's unit).
			e := time.UnixMilli(end.Add(-time.Duration(r.IntN(1800_000)) * time.Millisecond).UnixMilli())
			v := url.Values{}
			v.Set("endTs", strconv.FormatInt(e.UnixMilli(), 10))
			v.Set("lookback", strconv.FormatInt((24*time.Hour).Milliseconds(), 10))
			return call{
				store: func(ctx context.Context) (int, error) {
					deps, err := s.Dependencies(ctx, e, 24*time.Hour)
					return len(deps), err
				},
				path:  "/api/dependencies?" + v.Encode(),
				count: countV1Data,
			}
		}},
		{"RED 24h (Jaeger SPM)", "/api/metrics/latencies", budgetRED, heavy, func(r *rand.Rand) call {
			svc := pick(r, smp.services)
			// The route reads the series from ratePer before the first
			// step, to slide its rate window over them.
			q := storage.REDQuery{Services: []string{svc}, Kinds: []storage.SpanKind{storage.KindServer},
				Start: end.Add(-24*time.Hour - redRatePer), End: end, Step: redStep}
			v := url.Values{}
			v.Set("service", svc)
			v.Set("quantile", "0.95")
			v.Set("spanKind", "server")
			v.Set("endTs", strconv.FormatInt(end.UnixMilli(), 10))
			v.Set("lookback", strconv.FormatInt((24*time.Hour).Milliseconds(), 10))
			v.Set("step", strconv.FormatInt(redStep.Milliseconds(), 10))
			v.Set("ratePer", strconv.FormatInt((10*time.Minute).Milliseconds(), 10))
			return call{store: red(s, q), path: "/api/metrics/latencies?" + v.Encode(), count: countSPMSeries}
		}},
		{"RED 24h by operation (Tracer)", "/api/tracer/red", budgetRED, heavy, func(r *rand.Rand) call {
			svc := pick(r, smp.services)
			q := storage.REDQuery{Services: []string{svc}, GroupByOperation: true,
				Start: end.Add(-24 * time.Hour), End: end, Step: redStep}
			v := url.Values{}
			v.Set("service", svc)
			v.Set("groupByOperation", "true")
			v.Set("start", q.Start.Format(time.RFC3339))
			v.Set("end", q.End.Format(time.RFC3339))
			v.Set("step", redStep.String())
			return call{store: red(s, q), path: "/api/tracer/red?" + v.Encode(), count: countTracerRED}
		}},
	}
}

// streamTrace reads a trace as both trace routes do, by
// TraceStreamer.StreamTrace, and counts its spans.
func streamTrace(s storage.TraceStreamer, id storage.TraceID) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		n := 0
		_, err := s.StreamTrace(ctx, id, func(spans []storage.Span) error {
			n += len(spans)
			return nil
		})
		return n, err
	}
}

func summaries(s storage.SearchReader, q storage.Query) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		sums, err := s.FindTraceSummaries(ctx, q)
		return len(sums), err
	}
}

func findTraces(s storage.Reader, q storage.Query) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		trs, err := s.FindTraces(ctx, q)
		return len(trs), err
	}
}

func red(s storage.REDReader, q storage.REDQuery) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		series, err := s.RED(ctx, q)
		return len(series), err
	}
}

// The counters below read just enough of each answer to count what it
// holds; they follow the shapes of Jaeger's models (internal/uimodel, the
// v3 OTLP JSON, the metrics proto's JSON) that the routes answer in.

// countV1Data counts the entries of v1's {"data": [...]} envelope.
func countV1Data(body []byte) (int, error) {
	var env struct {
		Data []json.RawMessage `json:"data"`
	}
	err := json.Unmarshal(body, &env)
	return len(env.Data), err
}

// countV1Traces counts the traces of a v1 search.
func countV1Traces(body []byte) (int, error) { return countV1Data(body) }

// countV1Spans counts the spans of the traces of a v1 answer.
func countV1Spans(body []byte) (int, error) {
	var env struct {
		Data []struct {
			Spans []json.RawMessage `json:"spans"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return 0, err
	}
	n := 0
	for _, t := range env.Data {
		n += len(t.Spans)
	}
	return n, nil
}

// otlpAnswer is v3's {"result": TracesData} in OTLP JSON.
type otlpAnswer struct {
	Result struct {
		ResourceSpans []struct {
			ScopeSpans []struct {
				Spans []struct {
					TraceID string `json:"traceId"`
				} `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	} `json:"result"`
}

func (a *otlpAnswer) each(fn func(traceID string)) {
	for _, rs := range a.Result.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				fn(sp.TraceID)
			}
		}
	}
}

// countV3Spans counts the spans of a v3 answer.
func countV3Spans(body []byte) (int, error) {
	var a otlpAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return 0, err
	}
	n := 0
	a.each(func(string) { n++ })
	return n, nil
}

// countV3Traces counts the distinct traces of a v3 answer.
func countV3Traces(body []byte) (int, error) {
	var a otlpAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return 0, err
	}
	ids := make(map[string]bool)
	a.each(func(id string) { ids[id] = true })
	return len(ids), nil
}

// countV3Summaries counts the summaries of /api/v3/trace-summaries
// ({"summaries": [...]}).
func countV3Summaries(body []byte) (int, error) { return countArray(body, "summaries") }

// countTracerSummaries counts the summaries of /api/tracer/trace-summaries
// ({"traces": [...]}).
func countTracerSummaries(body []byte) (int, error) { return countArray(body, "traces") }

// countArray counts the entries of the array under key, which must be
// there.
func countArray(body []byte, key string) (int, error) {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		return 0, err
	}
	raw, ok := env[key]
	if !ok {
		return 0, fmt.Errorf("no %q in the answer", key)
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		return 0, fmt.Errorf("%q: %w", key, err)
	}
	return len(a), nil
}

// countSPMSeries counts the series of an /api/metrics answer (Jaeger's
// MetricFamily: {"name", "type", "help", "metrics": [...]}).
func countSPMSeries(body []byte) (int, error) {
	var mf struct {
		Metrics []json.RawMessage `json:"metrics"`
	}
	err := json.Unmarshal(body, &mf)
	return len(mf.Metrics), err
}

// countTracerRED counts the series of /api/tracer/red ({"series": [...]}).
func countTracerRED(body []byte) (int, error) { return countArray(body, "series") }
