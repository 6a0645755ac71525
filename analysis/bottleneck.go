package analysis

import (
	"cmp"
	"slices"

	"github.com/tracerdev/tracer/storage"
)

// BottleneckOptions configures bottleneck analysis.
type BottleneckOptions struct {
	// Examples is how many example traces each operation keeps: those
	// where it spent the most time on the critical path. 0 means 3;
	// negative means none.
	Examples int
}

// Bottleneck is one operation's part in the critical paths of many traces.
// Times are nanoseconds.
type Bottleneck struct {
	Service, Operation string
	// Total is its time on the critical paths, summed over the traces.
	Total int64
	// PerTrace is Total over the number of traces analysed: what it adds
	// to the latency of an average trace.
	PerTrace float64
	// Share is Total over the sum of the traces' latencies (their critical
	// paths' durations): its part of the time the traces took.
	Share float64
	// Traces is how many traces have it on their critical path.
	Traces int
	// Max is the most it spent on one trace's path.
	Max int64
	// Examples are the traces where it spent the most time on the path,
	// the most first (ties by trace id).
	Examples []BottleneckExample
}

// BottleneckExample is one trace where an operation was on the path.
type BottleneckExample struct {
	TraceID storage.TraceID
	// Time is the operation's time on that trace's path; Latency the
	// path's duration.
	Time, Latency int64
}

// BottleneckReport is the result of bottleneck analysis over many traces.
type BottleneckReport struct {
	// Traces is how many traces were analysed (empty ones are not).
	Traces int
	// Latency is the sum of their critical paths' durations; Gap the part
	// of it that no span covered.
	Latency, Gap int64
	// Operations by Total, the largest first (ties by service, then
	// operation).
	Operations []Bottleneck
}

type bottleneckKey struct{ service, operation string }

type bottleneckAcc struct {
	total, max int64
	traces     int
	examples   []BottleneckExample // a min-heap by worse, at most opts.Examples
}

// BottleneckAccumulator aggregates critical paths trace by trace, so that
// a caller can stream traces from storage without holding them. It is not
// safe for concurrent use; its memory grows with the number of distinct
// operations, not traces.
type BottleneckAccumulator struct {
	examples int
	traces   int
	latency  int64
	gap      int64
	ops      map[bottleneckKey]*bottleneckAcc
	perTrace map[bottleneckKey]int64 // scratch, one trace's time per operation
}

// NewBottleneckAccumulator returns an empty accumulator.
func NewBottleneckAccumulator(opts BottleneckOptions) *BottleneckAccumulator {
	k := opts.Examples
	switch {
	case k == 0:
		k = 3
	case k < 0:
		k = 0
	}
	return &BottleneckAccumulator{examples: k, ops: map[bottleneckKey]*bottleneckAcc{}, perTrace: map[bottleneckKey]int64{}}
}

// Add analyses one trace: its critical path, attributed to each span's
// service and name.
func (a *BottleneckAccumulator) Add(t *Trace) {
	if t.Len() == 0 {
		return
	}
	p := t.CriticalPath()
	a.AddPath(t, &p)
}

// AddPath adds a trace whose critical path the caller already has.
func (a *BottleneckAccumulator) AddPath(t *Trace, p *CriticalPath) {
	if t.Len() == 0 {
		return
	}
	a.traces++
	a.latency += p.Duration()
	a.gap += p.Gap
	clear(a.perTrace)
	for i, c := range p.Contribution {
		if c > 0 {
			s := &t.Spans[i]
			a.perTrace[bottleneckKey{s.Service, s.Name}] += c
		}
	}
	id := t.Spans[0].TraceID
	for k, c := range a.perTrace {
		o := a.ops[k]
		if o == nil {
			o = &bottleneckAcc{}
			a.ops[k] = o
		}
		o.total += c
		o.max = max(o.max, c)
		o.traces++
		if a.examples > 0 {
			o.offer(BottleneckExample{TraceID: id, Time: c, Latency: p.Duration()}, a.examples)
		}
	}
}

// Traces is how many traces have been added.
func (a *BottleneckAccumulator) Traces() int { return a.traces }

// Result returns what the traces added so far show. The accumulator can
// be added to after.
func (a *BottleneckAccumulator) Result() BottleneckReport {
	r := BottleneckReport{Traces: a.traces, Latency: a.latency, Gap: a.gap}
	r.Operations = make([]Bottleneck, 0, len(a.ops))
	for k, o := range a.ops {
		b := Bottleneck{Service: k.service, Operation: k.operation, Total: o.total, Traces: o.traces, Max: o.max}
		if a.traces > 0 {
			b.PerTrace = float64(o.total) / float64(a.traces)
		}
		if a.latency > 0 {
			b.Share = float64(o.total) / float64(a.latency)
		}
		b.Examples = slices.Clone(o.examples)
		slices.SortFunc(b.Examples, func(x, y BottleneckExample) int { return worse(y, x) })
		r.Operations = append(r.Operations, b)
	}
	slices.SortFunc(r.Operations, func(x, y Bottleneck) int {
		if c := cmp.Compare(y.Total, x.Total); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Service, y.Service); c != 0 {
			return c
		}
		return cmp.Compare(x.Operation, y.Operation)
	})
	return r
}

// Bottlenecks analyses traces at once; see BottleneckAccumulator.
func Bottlenecks(traces []*Trace, opts BottleneckOptions) BottleneckReport {
	a := NewBottleneckAccumulator(opts)
	for _, t := range traces {
		a.Add(t)
	}
	return a.Result()
}

// worse orders examples: more time on the path is worse; ties go to the
// smaller trace id, so that the kept examples do not depend on the order
// traces come in.
func worse(x, y BottleneckExample) int {
	if c := cmp.Compare(x.Time, y.Time); c != 0 {
		return c
	}
	return -slices.Compare(x.TraceID[:], y.TraceID[:])
}

// offer keeps e if it is among the k worst: examples is a min-heap by
// worse, so its root is the least bad kept.
func (o *bottleneckAcc) offer(e BottleneckExample, k int) {
	h := o.examples
	if len(h) < k {
		h = append(h, e)
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if worse(h[i], h[p]) >= 0 {
				break
			}
			h[i], h[p] = h[p], h[i]
			i = p
		}
		o.examples = h
		return
	}
	if worse(e, h[0]) <= 0 {
		return
	}
	h[0] = e
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(h) && worse(h[l], h[m]) < 0 {
			m = l
		}
		if r := l + 1; r < len(h) && worse(h[r], h[m]) < 0 {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
