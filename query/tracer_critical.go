package query

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/tracerdev/tracer/analysis"
	"github.com/tracerdev/tracer/storage"
)

// Limits of the bottlenecks route: the traces it reads, one at a time.
const (
	tracerBottleneckTraces    = 100
	tracerMaxBottleneckTraces = 1000
)

type criticalSegmentJSON struct {
	SpanID            string       `json:"spanId,omitempty"`
	Gap               bool         `json:"gap,omitempty"`
	StartTimeUnixNano jsonUnixNano `json:"startTimeUnixNano"`
	EndTimeUnixNano   jsonUnixNano `json:"endTimeUnixNano"`
	DurationNano      int64        `json:"durationNano"`
}

type criticalSpanJSON struct {
	SpanID           string `json:"spanId"`
	Service          string `json:"service"`
	Name             string `json:"name"`
	SelfTimeNano     int64  `json:"selfTimeNano"`
	ContributionNano int64  `json:"contributionNano"`
	LinkParentSpanID string `json:"linkParentSpanId,omitempty"`
}

type criticalPathJSON struct {
	TraceID           string                `json:"traceId"`
	Truncated         bool                  `json:"truncated"`
	StartTimeUnixNano jsonUnixNano          `json:"startTimeUnixNano"`
	EndTimeUnixNano   jsonUnixNano          `json:"endTimeUnixNano"`
	DurationNano      int64                 `json:"durationNano"`
	GapNano           int64                 `json:"gapNano"`
	Segments          []criticalSegmentJSON `json:"segments"`
	Spans             []criticalSpanJSON    `json:"spans"`
}

// tracerCriticalPath answers a trace's critical path (analysis.CriticalPath):
// its segments in time order and the spans on it, the most time first.
func (a *API) tracerCriticalPath(w http.ResponseWriter, r *http.Request) {
	id, ok := a.tracerTraceID(w, r)
	if !ok {
		return
	}
	spans, truncated, err := a.readTrace(r.Context(), id)
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	tr := analysis.NewTrace(spans)
	p := tr.CriticalPath()
	out := criticalPathJSON{
		TraceID: id.String(), Truncated: truncated,
		StartTimeUnixNano: jsonUnixNano(p.Start), EndTimeUnixNano: jsonUnixNano(p.End),
		DurationNano: p.Duration(), GapNano: p.Gap,
		Segments: make([]criticalSegmentJSON, len(p.Segments)),
		Spans:    []criticalSpanJSON{},
	}
	for k, s := range p.Segments {
		sj := criticalSegmentJSON{Gap: s.Span < 0, StartTimeUnixNano: jsonUnixNano(s.Start),
			EndTimeUnixNano: jsonUnixNano(s.End), DurationNano: s.End - s.Start}
		if s.Span >= 0 {
			sj.SpanID = tr.Spans[s.Span].SpanID.String()
		}
		out.Segments[k] = sj
	}
	var on []int
	for i, c := range p.Contribution {
		if c > 0 {
			on = append(on, i)
		}
	}
	slices.SortStableFunc(on, func(x, y int) int { return cmp.Compare(p.Contribution[y], p.Contribution[x]) })
	for _, i := range on {
		s := &tr.Spans[i]
		sj := criticalSpanJSON{SpanID: s.SpanID.String(), Service: s.Service, Name: s.Name,
			SelfTimeNano: p.SelfTime[i], ContributionNano: p.Contribution[i]}
		if j := p.LinkParent[i]; j >= 0 {
			sj.LinkParentSpanID = tr.Spans[j].SpanID.String()
		}
		out.Spans = append(out.Spans, sj)
	}
	writeJSON(w, http.StatusOK, out)
}

type bottleneckExampleJSON struct {
	TraceID     string `json:"traceId"`
	TimeNano    int64  `json:"timeNano"`
	LatencyNano int64  `json:"latencyNano"`
}

type bottleneckJSON struct {
	Service      string                  `json:"service"`
	Operation    string                  `json:"operation"`
	TotalNano    int64                   `json:"totalNano"`
	PerTraceNano float64                 `json:"perTraceNano"`
	Share        float64                 `json:"share"`
	TraceCount   int                     `json:"traceCount"`
	MaxNano      int64                   `json:"maxNano"`
	Examples     []bottleneckExampleJSON `json:"examples"`
}

type bottlenecksJSON struct {
	StartTimeUnixNano jsonUnixNano     `json:"startTimeUnixNano"`
	EndTimeUnixNano   jsonUnixNano     `json:"endTimeUnixNano"`
	Limit             int              `json:"limit"`
	TracesFound       int              `json:"tracesFound"`
	TracesAnalysed    int              `json:"tracesAnalysed"`
	TracesSkipped     int              `json:"tracesSkipped"`
	TracesTruncated   int              `json:"tracesTruncated"`
	LatencyNano       int64            `json:"latencyNano"`
	GapNano           int64            `json:"gapNano"`
	Operations        []bottleneckJSON `json:"operations"`
}

// tracerBottlenecks aggregates the critical paths of the traces that
// FindTraceIDs finds for service, operation and the time range, at most
// limit of them (tracesFound == limit says there may be more), keeping
// those whose root span (the earliest) is of service and operation when
// given. Each trace is read and analysed in turn, so memory is bounded by
// one trace and the operations seen.
func (a *API) tracerBottlenecks(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := storage.Query{Service: v.Get("service"), Operation: v.Get("operation")}
	var err error
	if q.StartMin, q.StartMax, err = a.tracerRange(v, tracerDefaultLookback); err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	if q.Limit, err = tracerLimit(v); err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	switch {
	case q.Limit == 0:
		q.Limit = tracerBottleneckTraces
	case q.Limit > tracerMaxBottleneckTraces:
		a.writeTracerError(w, r, badParam("limit", v.Get("limit"), "at most "+strconv.Itoa(tracerMaxBottleneckTraces)+" traces"))
		return
	}
	ids, err := a.store.FindTraceIDs(r.Context(), q)
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	out := bottlenecksJSON{StartTimeUnixNano: jsonUnixNano(q.StartMin.UnixNano()), EndTimeUnixNano: jsonUnixNano(q.StartMax.UnixNano()),
		Limit: q.Limit, TracesFound: len(ids)}
	acc := analysis.NewBottleneckAccumulator(analysis.BottleneckOptions{})
	for _, id := range ids {
		spans, truncated, err := a.readTrace(r.Context(), id)
		if errors.Is(err, storage.ErrNotFound) || err == nil && len(spans) == 0 {
			out.TracesSkipped++ // purged since it was found
			continue
		}
		if err != nil {
			a.writeTracerError(w, r, err)
			return
		}
		tr := analysis.NewTrace(spans)
		root := &tr.Spans[tr.Roots[0]]
		if q.Service != "" && root.Service != q.Service || q.Operation != "" && root.Name != q.Operation {
			out.TracesSkipped++
			continue
		}
		if truncated {
			out.TracesTruncated++
		}
		acc.Add(tr)
	}
	res := acc.Result()
	out.TracesAnalysed, out.LatencyNano, out.GapNano = res.Traces, res.Latency, res.Gap
	out.Operations = make([]bottleneckJSON, len(res.Operations))
	for i, b := range res.Operations {
		ex := make([]bottleneckExampleJSON, len(b.Examples))
		for j, e := range b.Examples {
			ex[j] = bottleneckExampleJSON{TraceID: e.TraceID.String(), TimeNano: e.Time, LatencyNano: e.Latency}
		}
		out.Operations[i] = bottleneckJSON{Service: b.Service, Operation: b.Operation, TotalNano: b.Total,
			PerTraceNano: b.PerTrace, Share: b.Share, TraceCount: b.Traces, MaxNano: b.Max, Examples: ex}
	}
	writeJSON(w, http.StatusOK, out)
}
