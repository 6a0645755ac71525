package query

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tracerdev/tracer/analysis"
	"github.com/tracerdev/tracer/storage"
)

// Defaults and bounds of /api/tracer/anomalies.
const (
	tracerDefaultAnomalyBaseline = 6 * time.Hour
	tracerDefaultAnomalySample   = 100
	tracerMaxAnomalySample       = 1000
	tracerMaxAnomalyDays         = 28
)

// anomalyJSON is one anomaly of /api/tracer/anomalies.
type anomalyJSON struct {
	Kind          string       `json:"kind"`
	Service       string       `json:"service"`
	Operation     string       `json:"operation,omitempty"`
	Edge          *edgeJSON    `json:"edge,omitempty"`
	SinceUnixNano jsonUnixNano `json:"sinceUnixNano"`
	LastUnixNano  jsonUnixNano `json:"lastUnixNano"`
	Score         float64      `json:"score"`
	Baseline      float64      `json:"baseline"`
	Current       float64      `json:"current"`
	Unit          string       `json:"unit"`
	Count         uint64       `json:"count"`
	Examples      []string     `json:"examples"`
}

type edgeJSON struct {
	ParentService   string `json:"parentService"`
	ParentOperation string `json:"parentOperation,omitempty"`
	ChildService    string `json:"childService"`
	ChildOperation  string `json:"childOperation,omitempty"`
}

// anomalyUnits names the unit of Baseline and Current per kind.
var anomalyUnits = map[analysis.AnomalyKind]string{
	analysis.AnomalyLatency:   "ns",
	analysis.AnomalyErrors:    "ratio",
	analysis.AnomalyNewEdge:   "calls",
	analysis.AnomalyGoneEdge:  "calls",
	analysis.AnomalyFanOut:    "children",
	analysis.AnomalyErrorPath: "ratio",
}

// anomalyWindow is what the store gives about one window.
type anomalyWindow struct {
	red    []storage.REDSeries
	deps   analysis.DependencyWindow
	sample []*analysis.Trace
}

// tracerAnomalies answers /api/tracer/anomalies: the current window [start,
// end) against the baseline window of the given length just before it.
// RED series (per operation, at step) and the service graph come from the
// store's aggregates; structure from a sample of at most sample traces per
// window (the most recent ones FindTraces gives, in one call). With days,
// the RED baseline is instead the same window on each of the previous days.
func (a *API) tracerAnomalies(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	start, end, err := a.tracerRange(v, tracerDefaultLookback)
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	baseline, err := durationParam(v, "baseline", tracerDefaultAnomalyBaseline)
	if err == nil && baseline < storage.REDResolution {
		err = badParam("baseline", v.Get("baseline"), "a duration of at least "+storage.REDResolution.String())
	}
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	step, err := durationParam(v, "step", tracerDefaultREDStep)
	if err == nil && (step < storage.REDResolution || step%storage.REDResolution != 0) {
		err = badParam("step", v.Get("step"), "a positive multiple of "+storage.REDResolution.String())
	}
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	sample, err := anomalyInt(v, "sample", tracerDefaultAnomalySample, tracerMaxAnomalySample)
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	days, err := anomalyInt(v, "days", 0, tracerMaxAnomalyDays)
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	// Whole steps, so that both windows' points cover the same spans.
	start, end = floorStep(start, step), floorStep(end, step)
	if !end.After(start) {
		end = start.Add(step)
	}
	baseStart := floorStep(start.Add(-baseline), step)
	if err := a.checkRange("baseline", v.Get("baseline"), baseStart, end); err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	if err := a.checkRange("days", v.Get("days"), start.Add(-time.Duration(days)*24*time.Hour), end); err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	service := v.Get("service")
	ctx := r.Context()
	base, err := a.anomalyWindow(ctx, service, baseStart, start, step, sample)
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	cur, err := a.anomalyWindow(ctx, service, start, end, step, sample)
	if err != nil {
		a.writeTracerError(w, r, err)
		return
	}
	if days > 0 {
		// Daily seasonality: RED of the same window on each previous day,
		// pooled, replaces the baseline's for latency and error rates.
		base.red = nil
		for d := 1; d <= days; d++ {
			back := time.Duration(d) * 24 * time.Hour
			q := storage.REDQuery{GroupByOperation: true, Start: start.Add(-back), End: end.Add(-back), Step: step}
			if service != "" {
				q.Services = []string{service}
			}
			red, err := a.store.RED(ctx, q)
			if err != nil {
				a.writeTracerError(w, r, fmt.Errorf("red %d days back: %w", d, err))
				return
			}
			base.red = append(base.red, red...)
		}
	}
	opts := analysis.DefaultAnomalyOptions()
	found := analysis.DetectLatency(base.red, cur.red, opts)
	found = append(found, analysis.DetectErrors(base.red, cur.red, opts)...)
	found = append(found, analysis.DetectEdges(base.deps, cur.deps, opts)...)
	analysis.AttachExamples(found, cur.sample, int64(step), opts)
	found = append(found, analysis.DetectStructure(base.sample, cur.sample, opts)...)

	out := make([]anomalyJSON, 0, len(found))
	for _, an := range found {
		if service != "" && an.Service != service && an.Edge.ChildService != service {
			continue
		}
		j := anomalyJSON{
			Kind: string(an.Kind), Service: an.Service, Operation: an.Operation,
			SinceUnixNano: jsonUnixNano(an.Since), LastUnixNano: jsonUnixNano(an.Last),
			Score: finite(an.Score), Baseline: finite(an.Baseline), Current: finite(an.Current),
			Unit: anomalyUnits[an.Kind], Count: an.Count, Examples: make([]string, len(an.Examples)),
		}
		if an.Edge != (analysis.CallEdge{}) {
			j.Edge = &edgeJSON{an.Edge.ParentService, an.Edge.ParentOperation, an.Edge.ChildService, an.Edge.ChildOperation}
		}
		for i, id := range an.Examples {
			j.Examples[i] = id.String()
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, struct {
		StartTimeUnixNano         jsonUnixNano  `json:"startTimeUnixNano"`
		EndTimeUnixNano           jsonUnixNano  `json:"endTimeUnixNano"`
		BaselineStartTimeUnixNano jsonUnixNano  `json:"baselineStartTimeUnixNano"`
		StepNano                  int64         `json:"stepNano"`
		Anomalies                 []anomalyJSON `json:"anomalies"`
	}{jsonUnixNano(start.UnixNano()), jsonUnixNano(end.UnixNano()), jsonUnixNano(baseStart.UnixNano()), int64(step), out})
}

// anomalyInt parses parameter name as an integer from 0 to most; "" is def.
func anomalyInt(v url.Values, name string, def, most int) (int, error) {
	s := v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > most {
		return 0, badParam(name, s, fmt.Sprintf("an integer from 0 to %d", most))
	}
	return n, nil
}

// anomalyWindow reads what detection needs about [start, end).
func (a *API) anomalyWindow(ctx context.Context, service string, start, end time.Time, step time.Duration, sample int) (anomalyWindow, error) {
	var w anomalyWindow
	q := storage.REDQuery{GroupByOperation: true, Start: start, End: end, Step: step}
	if service != "" {
		q.Services = []string{service}
	}
	var err error
	if w.red, err = a.store.RED(ctx, q); err != nil {
		return w, fmt.Errorf("red: %w", err)
	}
	// Dependencies counts [end-lookback, end]: end one nanosecond early
	// keeps the windows apart.
	last := end.Add(-time.Nanosecond)
	deps, err := a.store.Dependencies(ctx, last, last.Sub(start))
	if err != nil {
		return w, fmt.Errorf("dependencies: %w", err)
	}
	w.deps = analysis.DependencyWindow{Start: start, End: end, Deps: deps}
	if sample == 0 {
		return w, nil
	}
	traces, err := a.store.FindTraces(ctx, storage.Query{Service: service, StartMin: start, StartMax: last, Limit: sample})
	if err != nil {
		return w, fmt.Errorf("sample: %w", err)
	}
	w.sample = make([]*analysis.Trace, len(traces))
	for i := range traces {
		w.sample[i] = analysis.NewTrace(traces[i].Spans)
	}
	return w, nil
}

// finite maps NaN and infinities, which JSON cannot carry, to 0 and the
// largest float64.
func finite(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case math.IsInf(x, 1):
		return math.MaxFloat64
	case math.IsInf(x, -1):
		return -math.MaxFloat64
	}
	return x
}
