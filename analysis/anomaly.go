package analysis

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// Anomaly detection compares a current window with a baseline (the lookback
// window before it, or any windows the caller chooses: passing the same hour
// of the previous days as the baseline is how to account for daily
// seasonality). It works on what the storage aggregates cheaply (RED series,
// the service graph) and on a bounded sample of traces for structure, so
// that its cost follows the number of series and sampled spans, not the
// number of spans stored.
//
// Every score is signed and in robust units of the baseline's spread, so
// that one threshold (AnomalyOptions.Threshold) serves every kind:
//   - latency: (now - median) / max(1.4826·MAD, MinSpread·median) over the
//     baseline's per-step quantiles;
//   - error rates and error-path shares: binomial standard deviations,
//     (k - n·p) / sqrt(n·p·(1-p)), with p floored at half a count of the
//     baseline;
//   - call edges: Poisson standard deviations of the call count expected
//     from the baseline, (k - λ) / sqrt(max(λ, 1));
//   - fan-out: (median now - median then) / max(1.4826·MAD, 0.25 child).

// AnomalyKind says what is anomalous.
type AnomalyKind string

// Anomaly kinds.
const (
	// AnomalyLatency: a latency quantile of a service's operation moved
	// from its baseline. Baseline and Current are nanoseconds.
	AnomalyLatency AnomalyKind = "latency"
	// AnomalyErrors: the error rate of a service's operation rose. Baseline
	// and Current are fractions of calls.
	AnomalyErrors AnomalyKind = "errors"
	// AnomalyNewEdge: calls along an edge the baseline did not have.
	// Baseline and Current are call counts (the baseline's expected for
	// the current window, from DetectEdges; parent spans that make the
	// call, from DetectStructure).
	AnomalyNewEdge AnomalyKind = "new-edge"
	// AnomalyGoneEdge: an edge of the baseline has no calls now. Values as
	// for AnomalyNewEdge.
	AnomalyGoneEdge AnomalyKind = "gone-edge"
	// AnomalyFanOut: the median number of child spans of one operation per
	// parent span of another changed. Baseline and Current are children
	// per parent span.
	AnomalyFanOut AnomalyKind = "fan-out"
	// AnomalyErrorPath: an operation's spans are on error paths (the span
	// failed, or a descendant did) more often than in the baseline.
	// Baseline and Current are fractions of its spans.
	AnomalyErrorPath AnomalyKind = "error-path"
)

// CallEdge is a call from a parent to a child span. Service-level edges
// (from storage.Dependency) leave the operations empty.
type CallEdge struct {
	ParentService   string
	ParentOperation string
	ChildService    string
	ChildOperation  string
}

// Anomaly is one departure from the baseline.
type Anomaly struct {
	Kind AnomalyKind
	// Service and Operation say where: the measured operation for latency,
	// errors and error paths; the parent (caller) for edges and fan-out.
	// Operation is "" for series not grouped by operation and for
	// service-level edges.
	Service   string
	Operation string
	// Edge is set for AnomalyNewEdge, AnomalyGoneEdge and AnomalyFanOut.
	Edge CallEdge
	// Since and Last bound when it was seen, in unix nanoseconds: the first
	// and last step of the run for RED series (start of the step), the
	// earliest and latest sampled span that shows it for structure, the
	// current window for service-level edges.
	Since int64
	Last  int64
	// Score is how far from normal, signed, in the robust units of its
	// kind (see the package's anomaly notes): |Score| >= Threshold.
	Score float64
	// Baseline and Current are the normal and the observed value, in the
	// unit of the kind.
	Baseline float64
	Current  float64
	// Count is what Current rests on: calls for RED kinds, calls or parent
	// spans for edges, spans for error paths.
	Count uint64
	// Examples are traces that show it, at most MaxExamples, in sample
	// order. RED and service-level edge anomalies have none until
	// AttachExamples fills them from a sample.
	Examples []storage.TraceID
}

// AnomalyOptions tunes detection. The zero value of a field means its
// default (DefaultAnomalyOptions).
type AnomalyOptions struct {
	// Threshold is the |score| an anomaly reaches. Default 4: per step of
	// a normal baseline that is p ≈ 6e-5, and with MinPoints steps in a
	// row required the chance that noise alone is reported over 1,000
	// series × 60 steps is negligible (the tests check seeded noise).
	Threshold float64
	// Quantile is the latency quantile compared, in (0, 1]. Default 0.95.
	Quantile float64
	// MinCalls is the fewest calls a step needs to count (its quantile and
	// rate are too noisy below). Default 20; low-traffic operations want
	// a wider RED step rather than a lower minimum.
	MinCalls uint64
	// MinPoints is the fewest anomalous steps in a row (steps under
	// MinCalls skipped) that make an anomaly. Default 3.
	MinPoints int
	// MinBaseline is the fewest baseline steps (with MinCalls) a series
	// needs before anything is said about it. Default 10.
	MinBaseline int
	// MinSpread floors the latency spread at this fraction of the baseline
	// median: quantiles come from histogram buckets 6.25% to 12.5% wide, so
	// a smaller MAD is not measured, and a stable baseline would make tiny
	// moves infinite. Default 1/16: with Threshold 4 a move must reach 25%,
	// more than the 23.5% at most between the midpoints of buckets two
	// apart, so that a quantile shifting by two buckets is never enough.
	MinSpread float64
	// MinRateIncrease is the least rise of an error rate or error-path
	// share, as a fraction, that is reported however significant. Default
	// 0.01.
	MinRateIncrease float64
	// MinSpans is the fewest sampled parent spans (or spans, for error
	// paths) on each side for a structural comparison. Default 10.
	MinSpans int
	// MaxExamples caps Anomaly.Examples. Default 5.
	MaxExamples int
}

// DefaultAnomalyOptions returns the defaults documented on AnomalyOptions.
func DefaultAnomalyOptions() AnomalyOptions {
	return AnomalyOptions{
		Threshold: 4, Quantile: 0.95, MinCalls: 20, MinPoints: 3, MinBaseline: 10,
		MinSpread: 1.0 / 16, MinRateIncrease: 0.01, MinSpans: 10, MaxExamples: 5,
	}
}

// Validate reports fields out of range (negative, NaN, a quantile above
// 1), all of them. Detection treats such a field as its default.
func (o AnomalyOptions) Validate() error {
	var errs []error
	bad := func(name string, v float64, ok bool) {
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("anomaly option %s %v: out of range", name, v))
		}
	}
	bad("threshold", o.Threshold, o.Threshold >= 0)
	bad("quantile", o.Quantile, o.Quantile >= 0 && o.Quantile <= 1)
	bad("minPoints", float64(o.MinPoints), o.MinPoints >= 0)
	bad("minBaseline", float64(o.MinBaseline), o.MinBaseline >= 0)
	bad("minSpread", o.MinSpread, o.MinSpread >= 0)
	bad("minRateIncrease", o.MinRateIncrease, o.MinRateIncrease >= 0 && o.MinRateIncrease <= 1)
	bad("minSpans", float64(o.MinSpans), o.MinSpans >= 0)
	bad("maxExamples", float64(o.MaxExamples), o.MaxExamples >= 0)
	return errors.Join(errs...)
}

func (o AnomalyOptions) withDefaults() AnomalyOptions {
	d := DefaultAnomalyOptions()
	pos := func(v *float64, def float64) {
		if !(*v > 0) || math.IsInf(*v, 0) {
			*v = def
		}
	}
	pos(&o.Threshold, d.Threshold)
	pos(&o.Quantile, d.Quantile)
	o.Quantile = min(o.Quantile, 1)
	pos(&o.MinSpread, d.MinSpread)
	pos(&o.MinRateIncrease, d.MinRateIncrease)
	if o.MinCalls == 0 {
		o.MinCalls = d.MinCalls
	}
	posInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	posInt(&o.MinPoints, d.MinPoints)
	posInt(&o.MinBaseline, d.MinBaseline)
	posInt(&o.MinSpans, d.MinSpans)
	posInt(&o.MaxExamples, d.MaxExamples)
	return o
}

// madScale turns a median absolute deviation into a standard deviation for
// normal data.
const madScale = 1.4826

// minFanOutSpread floors the fan-out spread: with the default threshold a
// change of one child in the median of a constant fan-out is reported.
const minFanOutSpread = 0.25

type seriesKey struct{ service, operation string }

// DetectLatency finds latency anomalies: runs of at least MinPoints steps
// (of at least MinCalls calls each) of a current series whose Quantile is
// Threshold robust units or more from the median of the same quantile over
// the baseline's steps, in one direction. Series match by service and
// operation; several baseline series of one key (windows from several
// days) are pooled. Each run is one anomaly; its Current is the quantile of
// the run's merged histogram and its Score that value's.
func DetectLatency(baseline, current []storage.REDSeries, opts AnomalyOptions) []Anomaly {
	o := opts.withDefaults()
	base := map[seriesKey][]float64{}
	for i := range baseline {
		s := &baseline[i]
		k := seriesKey{s.Service, s.Operation}
		vals := slices.Grow(base[k], len(s.Points))
		for j := range s.Points {
			if q, ok := stepQuantile(&s.Points[j], o); ok {
				vals = append(vals, q)
			}
		}
		base[k] = vals
	}
	var out []Anomaly
	var merged storage.Histogram
	for i := range current {
		s := &current[i]
		k := seriesKey{s.Service, s.Operation}
		vals := base[k]
		if len(vals) < o.MinBaseline {
			continue
		}
		med, mad := medianMAD(vals)
		scale := max(madScale*mad, o.MinSpread*med, 1)
		runs(s.Points, o, func(p *storage.REDPoint) (float64, bool) {
			q, ok := stepQuantile(p, o)
			return (q - med) / scale, ok
		}, func(run []*storage.REDPoint) {
			merged = merged[:0]
			var calls uint64
			for _, p := range run {
				merged.Merge(p.Latency)
				calls += p.Calls
			}
			now := float64(merged.Quantile(o.Quantile))
			out = append(out, Anomaly{
				Kind: AnomalyLatency, Service: s.Service, Operation: s.Operation,
				Since: run[0].Time, Last: run[len(run)-1].Time,
				Score: (now - med) / scale, Baseline: med, Current: now, Count: calls,
			})
		})
	}
	sortAnomalies(out)
	return out
}

// stepQuantile returns the latency quantile of one step, or false when the
// step has under MinCalls calls. Quantile counts the histogram itself; only
// a step that reads 0 (an empty histogram, or sub-nanosecond spans) is
// counted again, so that the common case reads the histogram once.
func stepQuantile(p *storage.REDPoint, o AnomalyOptions) (float64, bool) {
	if p.Calls < o.MinCalls {
		return 0, false
	}
	q := p.Latency.Quantile(o.Quantile)
	if q == 0 && p.Latency.Count() < o.MinCalls {
		return 0, false
	}
	return float64(q), true
}

// DetectErrors finds error-rate spikes: runs of at least MinPoints steps
// (of at least MinCalls calls each) of a current series whose errors are
// Threshold binomial standard deviations or more above the baseline's
// pooled error rate and whose rate is at least MinRateIncrease above it.
// The baseline rate is floored at half an error over the baseline's calls,
// so that a clean baseline does not make one error infinitely surprising.
func DetectErrors(baseline, current []storage.REDSeries, opts AnomalyOptions) []Anomaly {
	o := opts.withDefaults()
	type pooled struct {
		calls, errors uint64
		steps         int
	}
	base := map[seriesKey]*pooled{}
	for i := range baseline {
		s := &baseline[i]
		k := seriesKey{s.Service, s.Operation}
		b := base[k]
		if b == nil {
			b = &pooled{}
			base[k] = b
		}
		for j := range s.Points {
			p := &s.Points[j]
			b.calls += p.Calls
			b.errors += min(p.Errors, p.Calls)
			if p.Calls >= o.MinCalls {
				b.steps++
			}
		}
	}
	var out []Anomaly
	for i := range current {
		s := &current[i]
		k := seriesKey{s.Service, s.Operation}
		b := base[k]
		if b == nil || b.steps < o.MinBaseline {
			continue
		}
		p0 := float64(b.errors) / float64(b.calls)
		floor := max(p0, 0.5/float64(b.calls))
		runs(s.Points, o, func(p *storage.REDPoint) (float64, bool) {
			if p.Calls < o.MinCalls {
				return 0, false
			}
			k := min(p.Errors, p.Calls)
			if float64(k)/float64(p.Calls)-p0 < o.MinRateIncrease {
				return 0, true
			}
			return binomialZ(k, p.Calls, floor), true
		}, func(run []*storage.REDPoint) {
			var n, k uint64
			for _, p := range run {
				n += p.Calls
				k += min(p.Errors, p.Calls)
			}
			out = append(out, Anomaly{
				Kind: AnomalyErrors, Service: s.Service, Operation: s.Operation,
				Since: run[0].Time, Last: run[len(run)-1].Time,
				Score: binomialZ(k, n, floor), Baseline: p0, Current: float64(k) / float64(n), Count: n,
			})
		})
	}
	sortAnomalies(out)
	return out
}

// runs scores the points of one series in time order and calls found with
// every run of at least o.MinPoints scored points whose scores are all at
// least o.Threshold, or all at most -o.Threshold. Points that score returns
// false for are skipped: they neither extend nor break a run. found must
// not keep the slice.
func runs(points []storage.REDPoint, o AnomalyOptions, score func(*storage.REDPoint) (float64, bool), found func([]*storage.REDPoint)) {
	order := make([]*storage.REDPoint, len(points))
	for i := range points {
		order[i] = &points[i]
	}
	if !slices.IsSortedFunc(order, byPointTime) {
		slices.SortStableFunc(order, byPointTime)
	}
	var run []*storage.REDPoint
	sign := 0
	flush := func() {
		if len(run) >= o.MinPoints {
			found(run)
		}
		run, sign = run[:0], 0
	}
	for _, p := range order {
		z, ok := score(p)
		if !ok {
			continue
		}
		s := 0
		switch {
		case z >= o.Threshold:
			s = 1
		case z <= -o.Threshold:
			s = -1
		}
		if s != sign {
			flush()
			sign = s
		}
		if s != 0 {
			run = append(run, p)
		}
	}
	flush()
}

func byPointTime(a, b *storage.REDPoint) int { return cmp.Compare(a.Time, b.Time) }

// binomialZ is (k - n·p) / sqrt(n·p·(1-p)), for 0 < p < 1.
func binomialZ(k, n uint64, p float64) float64 {
	p = min(p, 1-1e-9)
	mean := float64(n) * p
	return (float64(k) - mean) / math.Sqrt(mean*(1-p))
}

// poissonZ is (k - λ) / sqrt(max(λ, 1)).
func poissonZ(k, lambda float64) float64 { return (k - lambda) / math.Sqrt(max(lambda, 1)) }

// medianMAD returns the median of xs and the median absolute deviation
// from it. It reorders xs; xs must not be empty.
func medianMAD(xs []float64) (med, mad float64) {
	slices.Sort(xs)
	med = sortedMedian(xs)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - med)
	}
	slices.Sort(dev)
	return med, sortedMedian(dev)
}

func sortedMedian(xs []float64) float64 {
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// DependencyWindow is the service graph over one window, as
// storage.DependencyReader returns it for [Start, End].
type DependencyWindow struct {
	Start, End time.Time
	Deps       []storage.Dependency
}

// DetectEdges compares service graphs: an edge with at least MinCalls calls
// now whose count is Threshold Poisson standard deviations above what the
// baseline's rate predicts for the current window (an edge the baseline
// lacks predicts none) is new; an edge with no calls now although the
// baseline predicts Threshold² or more is gone. Windows of zero length say
// nothing and give no anomaly.
func DetectEdges(baseline, current DependencyWindow, opts AnomalyOptions) []Anomaly {
	o := opts.withDefaults()
	bd, cd := baseline.End.Sub(baseline.Start), current.End.Sub(current.Start)
	if bd <= 0 || cd <= 0 {
		return nil
	}
	ratio := float64(cd) / float64(bd)
	type pair struct{ base, cur uint64 }
	edges := map[CallEdge]*pair{}
	get := func(d *storage.Dependency) *pair {
		e := CallEdge{ParentService: d.Parent, ChildService: d.Child}
		p := edges[e]
		if p == nil {
			p = &pair{}
			edges[e] = p
		}
		return p
	}
	var baseCalls uint64
	for i := range baseline.Deps {
		get(&baseline.Deps[i]).base += baseline.Deps[i].CallCount
		baseCalls += baseline.Deps[i].CallCount
	}
	for i := range current.Deps {
		get(&current.Deps[i]).cur += current.Deps[i].CallCount
	}
	var out []Anomaly
	for e, p := range edges {
		a := Anomaly{
			Service: e.ParentService, Edge: e,
			Since: current.Start.UnixNano(), Last: current.End.UnixNano(), Count: p.cur,
		}
		switch {
		case p.base == 0 && p.cur >= o.MinCalls:
			// Half a call over the baseline, as for error rates.
			lambda := 0.5 * ratio
			a.Kind, a.Baseline, a.Current, a.Score = AnomalyNewEdge, 0, float64(p.cur), poissonZ(float64(p.cur), lambda)
		case p.cur == 0 && p.base > 0:
			lambda := float64(p.base) * ratio
			a.Kind, a.Baseline, a.Current, a.Score = AnomalyGoneEdge, lambda, 0, poissonZ(0, lambda)
		default:
			continue
		}
		if math.Abs(a.Score) >= o.Threshold {
			out = append(out, a)
		}
	}
	sortAnomalies(out)
	return out
}

// sortAnomalies orders anomalies by |Score| (largest first), then kind,
// service, operation, edge and Since, so that answers are deterministic.
func sortAnomalies(as []Anomaly) {
	slices.SortFunc(as, func(a, b Anomaly) int {
		if c := cmp.Compare(math.Abs(b.Score), math.Abs(a.Score)); c != 0 {
			return c
		}
		return cmp.Or(
			cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.Service, b.Service),
			cmp.Compare(a.Operation, b.Operation),
			cmp.Compare(a.Edge.ParentService, b.Edge.ParentService),
			cmp.Compare(a.Edge.ParentOperation, b.Edge.ParentOperation),
			cmp.Compare(a.Edge.ChildService, b.Edge.ChildService),
			cmp.Compare(a.Edge.ChildOperation, b.Edge.ChildOperation),
			cmp.Compare(a.Since, b.Since),
		)
	})
}
