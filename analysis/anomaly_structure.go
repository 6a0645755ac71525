package analysis

import (
	"math"
	"slices"

	"github.com/tracerdev/tracer/storage"
)

// opKey is a service's operation (a span name).
type opKey struct{ service, operation string }

// spanRef is one span of a sample: the trace's index and the span's.
type spanRef struct{ trace, span int32 }

// callKey is an operation-level call edge.
type callKey struct{ parent, child opKey }

// structure is what one sample of traces says about its operations.
type structure struct {
	traces []*Trace
	// parents lists every span of each operation: each is a potential
	// parent, and the parents that make no call of an edge count zero.
	parents map[opKey][]spanRef
	// calls lists, for each edge, the parent spans that make it and how
	// many child spans of it they have.
	calls map[callKey][]callCount
	// onPath lists each operation's spans that are on an error path.
	onPath map[opKey][]spanRef
}

type callCount struct {
	parent spanRef
	n      int32
}

func newStructure(traces []*Trace) *structure {
	st := &structure{
		traces:  traces,
		parents: map[opKey][]spanRef{},
		calls:   map[callKey][]callCount{},
		onPath:  map[opKey][]spanRef{},
	}
	var kids map[opKey]int32
	var marked []bool
	for ti, t := range traces {
		if t == nil {
			continue
		}
		// On an error path: failed, or an ancestor of a failed span. Each
		// walk up stops at a span already marked, so this is linear.
		marked = slices.Grow(marked[:0], t.Len())[:t.Len()]
		clear(marked)
		for i := range t.Spans {
			if t.Spans[i].StatusCode != storage.StatusError {
				continue
			}
			for j := int32(i); j >= 0 && !marked[j]; j = t.Parent[j] {
				marked[j] = true
			}
		}
		for i := range t.Spans {
			s := &t.Spans[i]
			ref := spanRef{int32(ti), int32(i)}
			k := opKey{s.Service, s.Name}
			st.parents[k] = append(st.parents[k], ref)
			if marked[i] {
				st.onPath[k] = append(st.onPath[k], ref)
			}
			if len(t.Children[i]) == 0 {
				continue
			}
			if kids == nil {
				kids = map[opKey]int32{}
			}
			clear(kids)
			for _, c := range t.Children[i] {
				cs := &t.Spans[c]
				kids[opKey{cs.Service, cs.Name}]++
			}
			for ck, n := range kids {
				e := callKey{k, ck}
				st.calls[e] = append(st.calls[e], callCount{ref, n})
			}
		}
	}
	return st
}

func (st *structure) span(r spanRef) *storage.Span { return &st.traces[r.trace].Spans[r.span] }

// fanOut returns the number of children of e per parent span, zeros
// included, unordered.
func (st *structure) fanOut(e callKey) []float64 {
	out := make([]float64, len(st.parents[e.parent]))
	for i, c := range st.calls[e] {
		out[i] = float64(c.n)
	}
	return out
}

// evidence collects a structural anomaly's example traces (distinct, in
// sample order, at most max) and the earliest and latest start of the
// spans that show it.
type evidence struct {
	st          *structure
	max         int
	since, last int64
	any         bool
	seen        map[int32]bool
	traces      []int32
}

func (ev *evidence) add(r spanRef) {
	s := ev.st.span(r)
	if !ev.any || s.StartTime < ev.since {
		ev.since = s.StartTime
	}
	if !ev.any || s.StartTime > ev.last {
		ev.last = s.StartTime
	}
	ev.any = true
	if !ev.seen[r.trace] {
		if ev.seen == nil {
			ev.seen = map[int32]bool{}
		}
		ev.seen[r.trace] = true
		ev.traces = append(ev.traces, r.trace)
	}
}

func (ev *evidence) fill(a *Anomaly) {
	a.Since, a.Last = ev.since, ev.last
	slices.Sort(ev.traces)
	for _, ti := range ev.traces[:min(len(ev.traces), ev.max)] {
		a.Examples = append(a.Examples, ev.st.traces[ti].Spans[0].TraceID)
	}
}

// DetectStructure compares a sample of current traces with a sample of
// baseline traces, at the level of operations (service and span name):
//
//   - a new edge: parent spans of an operation seen at least MinSpans times
//     in the baseline, never with a child of that operation, now make the
//     call in enough of the current parent spans to score Threshold Poisson
//     standard deviations above half a call;
//   - a gone edge: no current parent span (at least MinSpans of them) makes
//     a call that the baseline's parents made often enough to predict
//     Threshold² calls;
//   - fan-out: the median number of such children per parent span moved by
//     Threshold robust units (MAD floored at a quarter of a child) while
//     both sides have at least MinSpans parent spans;
//   - an error path: the share of an operation's spans that failed or have
//     a failed descendant rose by Threshold binomial standard deviations and
//     MinRateIncrease, with at least MinSpans spans on each side.
//
// Examples are the current traces that show it; Since and Last span their
// showing spans' starts. Nil traces are skipped. Its cost is linear in the
// sampled spans plus a sort per compared fan-out.
func DetectStructure(baseline, current []*Trace, opts AnomalyOptions) []Anomaly {
	o := opts.withDefaults()
	base, cur := newStructure(baseline), newStructure(current)
	var out []Anomaly
	newEv := func() *evidence { return &evidence{st: cur, max: o.MaxExamples} }
	edge := func(e callKey) CallEdge {
		return CallEdge{e.parent.service, e.parent.operation, e.child.service, e.child.operation}
	}

	keys := map[callKey]bool{}
	for e := range base.calls {
		keys[e] = true
	}
	for e := range cur.calls {
		keys[e] = true
	}
	for e := range keys {
		nb, nc := len(base.parents[e.parent]), len(cur.parents[e.parent])
		bc, cc := base.calls[e], cur.calls[e]
		a := Anomaly{Service: e.parent.service, Operation: e.parent.operation, Edge: edge(e)}
		ev := newEv()
		switch {
		case nb < o.MinSpans || nc < o.MinSpans:
			continue
		case len(bc) == 0:
			lambda := 0.5 / float64(nb) * float64(nc)
			a.Kind, a.Score = AnomalyNewEdge, poissonZ(float64(len(cc)), lambda)
			a.Baseline, a.Current, a.Count = 0, float64(len(cc)), uint64(len(cc))
			for _, c := range cc {
				ev.add(c.parent)
			}
		case len(cc) == 0:
			lambda := float64(len(bc)) / float64(nb) * float64(nc)
			a.Kind, a.Score = AnomalyGoneEdge, poissonZ(0, lambda)
			a.Baseline, a.Current, a.Count = lambda, 0, uint64(nc)
			for _, r := range cur.parents[e.parent] {
				ev.add(r)
			}
		default:
			med0, mad0 := medianMAD(base.fanOut(e))
			vals := cur.fanOut(e)
			med1, _ := medianMAD(slices.Clone(vals))
			a.Kind, a.Score = AnomalyFanOut, (med1-med0)/max(madScale*mad0, minFanOutSpread)
			a.Baseline, a.Current, a.Count = med0, med1, uint64(nc)
			// The parents that show the change: those past the baseline's
			// median in the direction of the move.
			n := map[spanRef]int32{}
			for _, c := range cc {
				n[c.parent] = c.n
			}
			for _, r := range cur.parents[e.parent] {
				if x := float64(n[r]); (med1 > med0 && x > med0) || (med1 < med0 && x < med0) {
					ev.add(r)
				}
			}
		}
		if math.Abs(a.Score) < o.Threshold {
			continue
		}
		ev.fill(&a)
		out = append(out, a)
	}

	for k, spans := range cur.onPath {
		nb, nc := len(base.parents[k]), len(cur.parents[k])
		if nb < o.MinSpans || nc < o.MinSpans {
			continue
		}
		p0 := float64(len(base.onPath[k])) / float64(nb)
		p1 := float64(len(spans)) / float64(nc)
		if p1-p0 < o.MinRateIncrease {
			continue
		}
		z := binomialZ(uint64(len(spans)), uint64(nc), max(p0, 0.5/float64(nb)))
		if z < o.Threshold {
			continue
		}
		a := Anomaly{
			Kind: AnomalyErrorPath, Service: k.service, Operation: k.operation,
			Score: z, Baseline: p0, Current: p1, Count: uint64(nc),
		}
		ev := newEv()
		for _, r := range spans {
			ev.add(r)
		}
		ev.fill(&a)
		out = append(out, a)
	}
	sortAnomalies(out)
	return out
}

// AttachExamples fills the Examples (up to MaxExamples) of the RED and
// service-level edge anomalies in as from a sample of current traces: for
// latency, spans of the operation in [Since, Last+step) past the baseline
// in the anomaly's direction; for errors, its failed spans in that range;
// for a new service edge, child spans of the edge. Anomalies that have
// examples are left alone. step is the RED step (a non-positive step is
// storage.REDResolution).
func AttachExamples(as []Anomaly, sample []*Trace, step int64, opts AnomalyOptions) {
	o := opts.withDefaults()
	if step <= 0 {
		step = int64(storage.REDResolution)
	}
	for i := range as {
		a := &as[i]
		if len(a.Examples) > 0 {
			continue
		}
		seen := map[storage.TraceID]bool{}
		for _, t := range sample {
			if t == nil || len(a.Examples) >= o.MaxExamples {
				continue
			}
			for j := range t.Spans {
				if shows(a, t, j, step) && !seen[t.Spans[j].TraceID] {
					seen[t.Spans[j].TraceID] = true
					a.Examples = append(a.Examples, t.Spans[j].TraceID)
					break
				}
			}
		}
	}
}

// shows reports whether span j of t is an example of a.
func shows(a *Anomaly, t *Trace, j int, step int64) bool {
	s := &t.Spans[j]
	inRun := s.StartTime >= a.Since && s.StartTime < a.Last+step
	same := s.Service == a.Service && (a.Operation == "" || s.Name == a.Operation)
	switch a.Kind {
	case AnomalyLatency:
		d := float64(s.EndTime - s.StartTime)
		return same && inRun && ((a.Current > a.Baseline && d > a.Baseline) || (a.Current < a.Baseline && d < a.Baseline))
	case AnomalyErrors:
		return same && inRun && s.StatusCode == storage.StatusError
	case AnomalyNewEdge:
		p := t.Parent[j]
		return a.Edge.ParentOperation == "" && s.Service == a.Edge.ChildService && p >= 0 &&
			t.Spans[p].Service == a.Edge.ParentService
	}
	return false
}
