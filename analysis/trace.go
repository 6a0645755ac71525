package analysis

import (
	"cmp"
	"slices"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

// Trace is one trace prepared for analysis. Spans are indexed 0..n-1 in
// start order (ties by span id); every other field refers to spans by that
// index. A Trace is read-only once built and safe for concurrent use.
type Trace struct {
	// Spans in start order. A span id seen twice keeps its first copy.
	Spans []storage.Span
	// Parent is the index of each span's parent, or -1 for a root or a span
	// whose parent is not in the trace (an orphan).
	Parent []int32
	// Children lists each span's children in start order.
	Children [][]int32
	// Roots are the spans with Parent -1, in start order.
	Roots []int32
	// Clocks holds each span's clock; ClockOK reports whether the span
	// carries a well-formed one (Clocks[i] is then the zero SpanClock).
	Clocks  []vclock.SpanClock
	ClockOK []bool
	// Instance is the index into Instances of the process that recorded
	// each span.
	Instance  []int32
	Instances []Instance
	// byID maps a span id to its index.
	byID map[storage.SpanID]int32
}

// Instance is one process (service instance) of a trace: the node of the
// vector clock when the span carries one, else its service.instance.id,
// else its service name alone.
type Instance struct {
	Service string
	// ID is the clock node, or the service.instance.id, or "" when neither
	// is known.
	ID string
}

// Index returns the index of the span with id, or -1.
func (t *Trace) Index(id storage.SpanID) int {
	if i, ok := t.byID[id]; ok {
		return int(i)
	}
	return -1
}

// Len is the number of spans.
func (t *Trace) Len() int { return len(t.Spans) }

// NewTrace prepares spans (one trace's, in any order) for analysis. It does
// not modify or keep spans' slices beyond sharing their elements' contents.
func NewTrace(spans []storage.Span) *Trace {
	order := make([]int, len(spans))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(spans[a].StartTime, spans[b].StartTime); c != 0 {
			return c
		}
		return slices.Compare(spans[a].SpanID[:], spans[b].SpanID[:])
	})
	t := &Trace{byID: make(map[storage.SpanID]int32, len(spans))}
	t.Spans = make([]storage.Span, 0, len(spans))
	for _, i := range order {
		if _, dup := t.byID[spans[i].SpanID]; dup {
			continue
		}
		t.byID[spans[i].SpanID] = int32(len(t.Spans))
		t.Spans = append(t.Spans, spans[i])
	}
	n := len(t.Spans)
	t.Parent = make([]int32, n)
	t.Children = make([][]int32, n)
	t.Clocks = make([]vclock.SpanClock, n)
	t.ClockOK = make([]bool, n)
	t.Instance = make([]int32, n)
	instances := map[Instance]int32{}
	for i := range t.Spans {
		s := &t.Spans[i]
		t.Parent[i] = -1
		if p, ok := t.byID[s.ParentSpanID]; ok && !s.ParentSpanID.IsZero() && int(p) != i {
			t.Parent[i] = p
		}
		if c, err := s.SpanClock(); err == nil {
			t.Clocks[i], t.ClockOK[i] = c, true
		}
		inst := Instance{Service: s.Service}
		switch {
		case t.ClockOK[i]:
			inst.ID = t.Clocks[i].Node
		default:
			if a, ok := s.ResourceAttribute("service.instance.id"); ok {
				inst.ID = a.Value
			}
		}
		k, ok := instances[inst]
		if !ok {
			k = int32(len(t.Instances))
			instances[inst] = k
			t.Instances = append(t.Instances, inst)
		}
		t.Instance[i] = k
	}
	// A parent cycle (bad data) would make every span of it a descendant of
	// itself: break it by making its earliest span a root.
	breakCycles(t)
	for i := range n {
		if p := t.Parent[i]; p >= 0 {
			t.Children[p] = append(t.Children[p], int32(i))
		} else {
			t.Roots = append(t.Roots, int32(i))
		}
	}
	return t
}

// breakCycles cuts parent cycles, iteratively: a walk up from each span
// marks what it visits; meeting the walk's own mark again is a cycle.
func breakCycles(t *Trace) {
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]uint8, len(t.Parent))
	var path []int32
	for i := range t.Parent {
		path = path[:0]
		j := int32(i)
		for j >= 0 && state[j] == unseen {
			state[j] = onPath
			path = append(path, j)
			j = t.Parent[j]
		}
		if j >= 0 && state[j] == onPath {
			// j is on this walk's path: the cycle is from j to the path's
			// end; cut at its earliest span (the smallest index).
			k := slices.Index(path, j)
			cut := slices.Min(path[k:])
			t.Parent[cut] = -1
		}
		for _, p := range path {
			state[p] = done
		}
	}
}
