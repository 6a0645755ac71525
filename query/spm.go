package query

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// Jaeger's service performance monitoring (SPM) routes, computed from
// Tracer's own store (storage.REDReader) instead of a Prometheus holding
// span metrics. Followed, in github.com/jaegertracing/jaeger v2.20:
//   - cmd/jaeger/internal/extension/jaegerquery/internal/http_handler.go
//     (the routes, the quantile parameter, errors in the v1 envelope),
//   - .../internal/query_parser.go (parseMetricsQueryParams: service
//     required and repeated, groupByOperation, spanKind repeated, endTs,
//     lookback, step and ratePer in milliseconds) and default_params.go
//     (lookback 1 h, step 5 s, ratePer 10 min, spanKind server),
//   - internal/storage/metricstore/prometheus/metricstore/reader.go (the
//     PromQL that defines each value: calls per second over a sliding
//     ratePer window, errors/calls over the same window, the quantile of
//     the window's latency histogram in milliseconds; metric names, help
//     texts, "& operation" when grouped) and dbmodel/to_domain.go (labels
//     service_name and operation, GAUGE points),
//   - internal/proto/metrics/openmetrics.proto written by gogo's jsonpb
//     (camelCase names, "NaN" for NaN, RFC 3339 timestamps with 0, 3, 6 or
//     9 fractional digits),
//   - and the Jaeger UI's client (packages/jaeger-ui/src/api/jaeger.ts,
//     reducers/metrics.ts), which reads metrics[0].labels[0].value as the
//     service name, parses timestamp with new Date, and turns a doubleValue
//     that is not a number into a gap.
//
// Where Tracer differs (the README lists it): step and ratePer are rounded
// up to whole minutes (storage.REDResolution); points are at multiples of
// step since the epoch (Prometheus evaluates at endTs-lookback + i*step),
// each over the spans that started in [t-ratePer, t); a window without
// calls gives calls 0 and errors and latencies NaN (Prometheus's error
// rate query gives 0 for a service that had no error at all, and leaves
// out operations without errors when others have some); a latency is the
// middle of the log-linear histogram bucket that holds the quantile
// (within about 6%), not an interpolation in explicit buckets;
// /api/metrics/minstep, which Jaeger removed in v2.18, answers
// storage.REDResolution. Jaeger's other reader that derives these from
// spans (internal/storage/metricstore/elasticsearch) rounds rates to two
// decimals, takes latencies per step rather than over ratePer, and gives
// an error rate of 0 without calls; Tracer follows the Prometheus reader.

// SPM parameter defaults, as Jaeger's default_params.go.
const (
	spmDefaultLookback = time.Hour
	spmDefaultStep     = 5 * time.Second
	spmDefaultRatePer  = 10 * time.Minute
)

// maxSPMPoints caps the points of one SPM answer (over all series): about
// 70 bytes of JSON each. The Jaeger UI's widest view (48 h at one-minute
// steps) holds 2,880 points a series.
const maxSPMPoints = 500_000

// registerSPM registers Jaeger's /api/metrics routes.
func (a *API) registerSPM(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/metrics/latencies", a.spmHandler(spmLatencies))
	mux.HandleFunc("GET /api/metrics/calls", a.spmHandler(spmCalls))
	mux.HandleFunc("GET /api/metrics/errors", a.spmHandler(spmErrors))
	mux.HandleFunc("GET /api/metrics/minstep", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, v1Response{Data: storage.REDResolution.Milliseconds()})
	})
}

type spmMetric int

const (
	spmLatencies spmMetric = iota
	spmCalls
	spmErrors
)

// spmQuery is a parsed SPM request.
type spmQuery struct {
	metric   spmMetric
	quantile float64
	services []string
	kinds    []storage.SpanKind
	byOp     bool
	// first and last are the times of the first and last points; points
	// are step apart and each covers the spans that started in
	// [t-ratePer, t).
	first, last time.Time
	step        time.Duration
	ratePer     time.Duration
}

func (a *API) spmHandler(m spmMetric) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, err := a.parseSPM(r, m)
		if err != nil {
			a.writeV1Error(w, r, err)
			return
		}
		fam, err := a.spm(r, q)
		if err != nil {
			a.writeV1Error(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fam.appendJSON(nil))
	}
}

// parseSPM parses the parameters of Jaeger's parseMetricsQueryParams, and
// quantile for latencies.
func (a *API) parseSPM(r *http.Request, m spmMetric) (spmQuery, error) {
	v := r.URL.Query()
	q := spmQuery{metric: m}
	if m == spmLatencies {
		s := v.Get("quantile")
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !(f >= 0 && f <= 1) {
			return q, badParam("quantile", s, "a number from 0 to 1, such as 0.95")
		}
		q.quantile = f
	}
	for _, s := range v["service"] {
		if s == "" {
			return q, badParam("service", s, "a service name")
		}
		q.services = append(q.services, s)
	}
	if len(q.services) == 0 {
		return q, badParam("service", "", "at least one service name")
	}
	if s := v.Get("groupByOperation"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return q, badParam("groupByOperation", s, "true or false")
		}
		q.byOp = b
	}
	kinds, ok := v["spanKind"]
	if !ok {
		kinds = []string{"server"}
	}
	for _, s := range kinds {
		k, err := storage.ParseSpanKind(strings.ToLower(s))
		if err != nil || s == "" {
			return q, badParam("spanKind", s, "unspecified, internal, server, client, producer or consumer")
		}
		q.kinds = append(q.kinds, k)
	}
	end := a.now()
	if s := v.Get("endTs"); s != "" {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil || ms < 0 || ms > spmMaxEndMilli {
			return q, badParam("endTs", s, "unix milliseconds")
		}
		end = time.UnixMilli(ms)
	}
	// Each duration is at most the maximum lookback: a longer one cannot
	// be answered, and it keeps every time computed in range.
	most := a.cfg.MaxLookback
	lookback, err := spmMillis(v.Get("lookback"), "lookback", spmDefaultLookback, most)
	if err != nil {
		return q, err
	}
	step, err := spmMillis(v.Get("step"), "step", spmDefaultStep, most)
	if err != nil {
		return q, err
	}
	ratePer, err := spmMillis(v.Get("ratePer"), "ratePer", spmDefaultRatePer, most)
	if err != nil {
		return q, err
	}
	q.step = roundUpTo(step, storage.REDResolution)
	q.ratePer = roundUpTo(ratePer, storage.REDResolution)
	start := end.Add(-lookback)
	q.first = ceilStep(start, q.step)
	q.last = floorStep(end, q.step)
	if q.first.After(q.last) {
		q.first = q.last
	}
	return q, nil
}

// spmMaxEndMilli is the latest endTs (in 2255) that keeps every time computed
// from it within unix nanoseconds.
const spmMaxEndMilli = 9_000_000_000_000

// spmMillis parses a positive duration in milliseconds, at most most;
// "" is def.
func spmMillis(s, name string, def, most time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 {
		return 0, badParam(name, s, "a positive number of milliseconds")
	}
	if ms > most.Milliseconds() {
		return 0, badParam(name, s, "at most "+strconv.FormatInt(most.Milliseconds(), 10)+" milliseconds (the server's maximum lookback)")
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// roundUpTo returns d rounded up to a multiple of unit.
func roundUpTo(d, unit time.Duration) time.Duration {
	return (d + unit - 1) / unit * unit
}

// floorStep and ceilStep round t to a multiple of d since the Unix epoch.
func floorStep(t time.Time, d time.Duration) time.Time {
	ns := t.UnixNano()
	r := ns % int64(d)
	if r < 0 {
		r += int64(d)
	}
	return time.Unix(0, ns-r)
}

func ceilStep(t time.Time, d time.Duration) time.Time {
	f := floorStep(t, d)
	if f.Equal(t) {
		return f
	}
	return f.Add(d)
}

// gcdDuration returns the greatest common divisor of two positive durations.
func gcdDuration(a, b time.Duration) time.Duration {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// spm computes the metric family of q: it reads the RED series at the
// greatest step that both step and ratePer are multiples of, then slides
// a ratePer window over them.
func (a *API) spm(r *http.Request, q spmQuery) (*spmFamilyJSON, error) {
	grain := gcdDuration(q.step, q.ratePer)
	npoints := int(q.last.Sub(q.first)/q.step) + 1
	rq := storage.REDQuery{
		Services:         q.services,
		Kinds:            q.kinds,
		GroupByOperation: q.byOp,
		Start:            q.first.Add(-q.ratePer),
		End:              q.last,
		Step:             grain,
	}
	series, err := a.store.RED(r.Context(), rq)
	if err != nil {
		return nil, err
	}
	if n := len(series) * npoints; n > maxSPMPoints {
		return nil, badParam("step", r.URL.Query().Get("step"),
			"a longer step, a shorter lookback or fewer services: the answer would hold "+strconv.Itoa(n)+" points, more than "+strconv.Itoa(maxSPMPoints))
	}
	fam := &spmFamilyJSON{name: "service_", help: spmHelp(q)}
	switch q.metric {
	case spmLatencies:
		fam.name += "latencies"
	case spmCalls:
		fam.name += "call_rate"
	case spmErrors:
		fam.name += "error_rate"
	}
	if q.byOp {
		fam.name = strings.Replace(fam.name, "service", "service_operation", 1)
	}
	fam.times = make([]time.Time, 0, npoints)
	for t := q.first; !t.After(q.last); t = t.Add(q.step) {
		fam.times = append(fam.times, t)
	}
	fam.metrics = make([]spmSeriesJSON, 0, len(series))
	for _, s := range series {
		fam.metrics = append(fam.metrics, spmSeriesJSON{
			service: s.Service, operation: s.Operation, byOp: q.byOp,
			values: q.slide(fam.times, s.Points),
		})
	}
	return fam, nil
}

// spmHelp returns the help text of Jaeger's Prometheus reader.
func spmHelp(q spmQuery) string {
	var h string
	switch q.metric {
	case spmLatencies:
		h = strconv.FormatFloat(q.quantile, 'f', 2, 64) + "th quantile latency, grouped by service"
	case spmCalls:
		h = "calls/sec, grouped by service"
	case spmErrors:
		h = "error rate, computed as a fraction of errors/sec over calls/sec, grouped by service"
	}
	if q.byOp {
		h += " & operation"
	}
	return h
}

// slide returns the values of one series at times: at each t, the metric
// over the points of pts (in time order) that
// started in [t-ratePer, t).
//
// The series' points are grain wide and start at multiples of grain, as do
// t and t-ratePer, so each window is exact.
func (q *spmQuery) slide(times []time.Time, pts []storage.REDPoint) []float64 {
	var (
		calls, errs uint64
		hist        storage.Histogram
		lo, hi      int // pts[lo:hi] is the window
	)
	secs := q.ratePer.Seconds()
	values := make([]float64, 0, len(times))
	for _, t := range times {
		from, to := t.Add(-q.ratePer).UnixNano(), t.UnixNano()
		for hi < len(pts) && pts[hi].Time < to {
			calls += pts[hi].Calls
			errs += pts[hi].Errors
			if q.metric == spmLatencies {
				hist.Merge(pts[hi].Latency)
			}
			hi++
		}
		for lo < hi && pts[lo].Time < from {
			calls -= pts[lo].Calls
			errs -= pts[lo].Errors
			if q.metric == spmLatencies {
				for i, n := range pts[lo].Latency {
					hist[i] -= n
				}
			}
			lo++
		}
		var v float64
		switch q.metric {
		case spmCalls:
			v = float64(calls) / secs
		case spmErrors:
			v = spmNaN
			if calls > 0 {
				v = float64(errs) / float64(calls)
			}
		case spmLatencies:
			v = spmNaN
			if calls > 0 {
				v = float64(hist.Quantile(q.quantile)) / float64(time.Millisecond)
			}
		}
		values = append(values, v)
	}
	return values
}
