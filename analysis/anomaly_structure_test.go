package analysis

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// shape describes a synthetic trace: a root frontend "GET /" calling
// backend "rpc" rpcs times; each rpc calls db "select" selects times and,
// when cache, cache "get" once; failing names the operation whose spans
// fail ("" for none).
type shape struct {
	rpcs, selects int
	cache         bool
	failing       string
}

// traceBuilder numbers traces and spans.
type traceBuilder struct{ traces, spans uint64 }

func (b *traceBuilder) build(sh shape, start time.Time) *Trace {
	b.traces++
	var tid storage.TraceID
	binary.BigEndian.PutUint64(tid[8:], b.traces)
	var spans []storage.Span
	at := start.UnixNano()
	add := func(parent storage.SpanID, service, name string) storage.SpanID {
		b.spans++
		var sid storage.SpanID
		binary.BigEndian.PutUint64(sid[:], b.spans)
		at += int64(time.Millisecond)
		s := storage.Span{TraceID: tid, SpanID: sid, ParentSpanID: parent, Service: service, Name: name, StartTime: at, EndTime: at + int64(time.Millisecond)}
		if sh.failing == name {
			s.StatusCode = storage.StatusError
		}
		spans = append(spans, s)
		return sid
	}
	root := add(storage.SpanID{}, "frontend", "GET /")
	for range sh.rpcs {
		rpc := add(root, "backend", "rpc")
		for range sh.selects {
			add(rpc, "db", "select")
		}
		if sh.cache {
			add(rpc, "cache", "get")
		}
	}
	return NewTrace(spans)
}

// sample builds n traces of shape sh, one a minute from start.
func (b *traceBuilder) sample(n int, start time.Time, sh shape) []*Trace {
	out := make([]*Trace, n)
	for i := range out {
		out[i] = b.build(sh, start.Add(time.Duration(i)*time.Minute))
	}
	return out
}

// found is what a structural test checks of an anomaly.
type found struct {
	kind  AnomalyKind
	where string // service/operation, and → child for edges
	up    bool   // Score > 0
}

func foundOf(a Anomaly) found {
	w := a.Service + "/" + a.Operation
	if a.Edge != (CallEdge{}) {
		w += " → " + a.Edge.ChildService + "/" + a.Edge.ChildOperation
	}
	return found{a.Kind, w, a.Score > 0}
}

func TestDetectStructure(t *testing.T) {
	normal := shape{rpcs: 2, selects: 1}
	tests := []struct {
		name      string
		base, cur []shape // cycled over the sample
		n         int     // traces per side
		want      []found // sorted by kind then where
	}{
		{"same shape", []shape{normal}, []shape{normal}, 50, nil},
		{"varying shapes alike", []shape{{rpcs: 1, selects: 1}, {rpcs: 2, selects: 2}, {rpcs: 3, selects: 3}}, []shape{{rpcs: 3, selects: 3}, {rpcs: 1, selects: 1}, {rpcs: 2, selects: 2}}, 60, nil},
		{"new edge", []shape{normal}, []shape{{rpcs: 2, selects: 1, cache: true}}, 50, []found{
			{AnomalyNewEdge, "backend/rpc → cache/get", true},
		}},
		{"gone edge", []shape{{rpcs: 2, selects: 1, cache: true}}, []shape{normal}, 50, []found{
			{AnomalyGoneEdge, "backend/rpc → cache/get", false},
		}},
		{"more selects per rpc", []shape{normal}, []shape{{rpcs: 2, selects: 3}}, 50, []found{
			{AnomalyFanOut, "backend/rpc → db/select", true},
		}},
		{"fewer rpcs per request", []shape{{rpcs: 4, selects: 1}}, []shape{{rpcs: 2, selects: 1}}, 50, []found{
			{AnomalyFanOut, "frontend/GET / → backend/rpc", false},
		}},
		{"selects now fail", []shape{normal}, []shape{{rpcs: 2, selects: 1, failing: "select"}}, 50, []found{
			{AnomalyErrorPath, "backend/rpc", true},
			{AnomalyErrorPath, "db/select", true},
			{AnomalyErrorPath, "frontend/GET /", true},
		}},
		{"selects failed already", []shape{{rpcs: 2, selects: 1, failing: "select"}}, []shape{{rpcs: 2, selects: 1, failing: "select"}}, 50, nil},
		{"selects fail in one trace of fifty", []shape{normal}, append([]shape{{rpcs: 2, selects: 1, failing: "select"}}, slices.Repeat([]shape{normal}, 49)...), 50, nil},
		{"new edge under MinSpans", []shape{normal}, []shape{{rpcs: 1, selects: 1, cache: true}}, 9, nil},
		{"a new operation: the call to it is new, its own calls say nothing", []shape{{rpcs: 0}}, []shape{normal}, 50, []found{
			{AnomalyNewEdge, "frontend/GET / → backend/rpc", true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b traceBuilder
			mk := func(shapes []shape, start time.Time) []*Trace {
				out := make([]*Trace, tt.n)
				for i := range out {
					out[i] = b.build(shapes[i%len(shapes)], start.Add(time.Duration(i)*time.Minute))
				}
				return out
			}
			curStart := anomT0.Add(2 * time.Hour)
			base, cur := mk(tt.base, anomT0), mk(tt.cur, curStart)
			got := DetectStructure(base, cur, AnomalyOptions{})
			var gotF []found
			for _, a := range got {
				gotF = append(gotF, foundOf(a))
			}
			slices.SortFunc(gotF, func(x, y found) int {
				if x.kind != y.kind {
					return compareStr(string(x.kind), string(y.kind))
				}
				return compareStr(x.where, y.where)
			})
			if !slices.Equal(gotF, tt.want) {
				t.Fatalf("got %+v, want %+v", gotF, tt.want)
			}
			for _, a := range got {
				checkEvidence(t, a, cur)
			}
		})
	}
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checkEvidence checks an anomaly's examples against the current sample:
// at most MaxExamples, distinct, each a trace of the sample that shows it,
// and Since no later than Last within the sample's time.
func checkEvidence(t *testing.T, a Anomaly, cur []*Trace) {
	t.Helper()
	if len(a.Examples) == 0 || len(a.Examples) > DefaultAnomalyOptions().MaxExamples {
		t.Errorf("%s %s: %d examples", a.Kind, a.Service, len(a.Examples))
	}
	byID := map[storage.TraceID]*Trace{}
	for _, tr := range cur {
		byID[tr.Spans[0].TraceID] = tr
	}
	seen := map[storage.TraceID]bool{}
	for _, id := range a.Examples {
		tr := byID[id]
		if tr == nil || seen[id] {
			t.Errorf("%s: example %s not in the sample or twice", a.Kind, id)
			continue
		}
		seen[id] = true
		if !traceShows(a, tr) {
			t.Errorf("%s %+v: example %s does not show it", a.Kind, a.Edge, id)
		}
	}
	if a.Since > a.Last || a.Since < cur[0].Spans[0].StartTime {
		t.Errorf("%s: since %d, last %d, sample from %d", a.Kind, a.Since, a.Last, cur[0].Spans[0].StartTime)
	}
}

// traceShows reports whether tr shows a, computed directly from the spans.
func traceShows(a Anomaly, tr *Trace) bool {
	for i := range tr.Spans {
		s := &tr.Spans[i]
		if s.Service != a.Service || s.Name != a.Operation {
			continue
		}
		var children int
		for _, c := range tr.Children[i] {
			if tr.Spans[c].Service == a.Edge.ChildService && tr.Spans[c].Name == a.Edge.ChildOperation {
				children++
			}
		}
		switch a.Kind {
		case AnomalyNewEdge:
			if children > 0 {
				return true
			}
		case AnomalyGoneEdge:
			if children == 0 {
				return true
			}
		case AnomalyFanOut:
			if (a.Current > a.Baseline) == (float64(children) > a.Baseline) && float64(children) != a.Baseline {
				return true
			}
		case AnomalyErrorPath:
			// s or a descendant failed: walk the subtree without recursion.
			stack := []int32{int32(i)}
			for len(stack) > 0 {
				j := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if tr.Spans[j].StatusCode == storage.StatusError {
					return true
				}
				stack = append(stack, tr.Children[j]...)
			}
		}
	}
	return false
}

func TestDetectStructureValues(t *testing.T) {
	var b traceBuilder
	base := b.sample(40, anomT0, shape{rpcs: 2, selects: 1})
	cur := b.sample(20, anomT0.Add(time.Hour), shape{rpcs: 2, selects: 4})
	got := DetectStructure(base, append(cur, nil), AnomalyOptions{MaxExamples: 2})
	if len(got) != 1 {
		t.Fatalf("got %+v, want one fan-out", got)
	}
	a := got[0]
	// Baseline: one select per rpc, MAD 0, so the floor of 0.25: (4-1)/0.25.
	if a.Kind != AnomalyFanOut || a.Baseline != 1 || a.Current != 4 || a.Score != 12 || a.Count != 40 {
		t.Errorf("got %s %v → %v score %v count %d, want fan-out 1 → 4 score 12 count 40", a.Kind, a.Baseline, a.Current, a.Score, a.Count)
	}
	if want := []storage.TraceID{cur[0].Spans[0].TraceID, cur[1].Spans[0].TraceID}; !slices.Equal(a.Examples, want) {
		t.Errorf("examples %v, want the first two current traces %v", a.Examples, want)
	}
	// The first deviating parent is the first rpc of the first trace; the
	// last, the second rpc of the last trace.
	if first, last := cur[0].Spans[1].StartTime, cur[19].Spans[6].StartTime; a.Since != first || a.Last != last {
		t.Errorf("since %d last %d, want %d %d", a.Since, a.Last, first, last)
	}
}

func TestAttachExamples(t *testing.T) {
	var b traceBuilder
	sample := b.sample(10, anomT0, shape{rpcs: 1, selects: 1})
	// Make traces 3 and 7 slow at the backend, and trace 5's rpc fail.
	for _, i := range []int{3, 7} {
		s := &sample[i].Spans[1]
		s.EndTime = s.StartTime + int64(time.Second)
	}
	sample[5].Spans[1].StatusCode = storage.StatusError
	as := []Anomaly{
		{Kind: AnomalyLatency, Service: "backend", Operation: "rpc", Since: anomT0.UnixNano(), Last: anomT0.Add(9 * time.Minute).UnixNano(), Baseline: float64(10 * time.Millisecond), Current: float64(time.Second)},
		{Kind: AnomalyErrors, Service: "backend", Operation: "rpc", Since: anomT0.UnixNano(), Last: anomT0.Add(9 * time.Minute).UnixNano()},
		{Kind: AnomalyLatency, Service: "backend", Operation: "rpc", Since: anomT0.Add(4 * time.Minute).UnixNano(), Last: anomT0.Add(9 * time.Minute).UnixNano(), Baseline: float64(10 * time.Millisecond), Current: float64(time.Second)},
		{Kind: AnomalyNewEdge, Service: "frontend", Edge: CallEdge{ParentService: "frontend", ChildService: "backend"}},
		{Kind: AnomalyGoneEdge, Service: "backend", Edge: CallEdge{ParentService: "backend", ChildService: "db"}},
	}
	AttachExamples(as, append([]*Trace{nil}, sample...), 0, AnomalyOptions{MaxExamples: 3})
	id := func(i int) storage.TraceID { return sample[i].Spans[0].TraceID }
	want := [][]storage.TraceID{{id(3), id(7)}, {id(5)}, {id(7)}, {id(0), id(1), id(2)}, nil}
	for i, a := range as {
		if !slices.Equal(a.Examples, want[i]) {
			t.Errorf("%d (%s): examples %v, want %v", i, a.Kind, a.Examples, want[i])
		}
	}
}
