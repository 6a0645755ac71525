package analysis

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tracerdev/tracer/storage"
)

// bnSpan is a crafted span with its service and operation.
type bnSpan struct {
	id, parent string
	service    string
	op         string
	start, end int64
}

func bnTrace(id byte, specs ...bnSpan) *Trace {
	spans := make([]storage.Span, 0, len(specs))
	for _, c := range specs {
		s := storage.Span{TraceID: storage.TraceID{15: id}, SpanID: cpSpanID(c.id), Name: c.op,
			Service: c.service, StartTime: c.start, EndTime: c.end}
		if c.parent != "" {
			s.ParentSpanID = cpSpanID(c.parent)
		}
		spans = append(spans, s)
	}
	return NewTrace(spans)
}

// bnTraces are three traces whose paths are worked out by hand:
//
//	1: GET 0-10, query 10-90, GET 90-100
//	2: GET 0-10, query 10-12, select 12-18, query 18-20, get 20-45, GET 45-50
//	3: GET 0-200, of which a nested GET (the same operation) 50-150
//	4: GET 0-10, a gap 10-30 (its orphan starts later), GET 30-40
func bnTraces() []*Trace {
	return []*Trace{
		bnTrace(1,
			bnSpan{"a", "", "frontend", "GET", 0, 100},
			bnSpan{"b", "a", "backend", "query", 10, 90}),
		bnTrace(2,
			bnSpan{"a", "", "frontend", "GET", 0, 50},
			bnSpan{"b", "a", "backend", "query", 10, 20},
			bnSpan{"c", "b", "db", "select", 12, 18},
			bnSpan{"d", "a", "cache", "get", 20, 45}),
		bnTrace(3,
			bnSpan{"a", "", "frontend", "GET", 0, 200},
			bnSpan{"b", "a", "frontend", "GET", 50, 150}),
		bnTrace(4,
			bnSpan{"a", "", "frontend", "GET", 0, 10},
			bnSpan{"b", "missing", "frontend", "GET", 30, 40}),
		NewTrace(nil), // not counted
	}
}

func TestBottlenecks(t *testing.T) {
	ex := func(id byte, time, latency int64) BottleneckExample {
		return BottleneckExample{TraceID: storage.TraceID{15: id}, Time: time, Latency: latency}
	}
	const latency = 100 + 50 + 200 + 40
	tests := []struct {
		name     string
		examples int
		want     []Bottleneck
	}{
		{"three examples", 0, []Bottleneck{
			{Service: "frontend", Operation: "GET", Total: 20 + 15 + 200 + 20, Traces: 4, Max: 200,
				Examples: []BottleneckExample{ex(3, 200, 200), ex(1, 20, 100), ex(4, 20, 40)}},
			{Service: "backend", Operation: "query", Total: 80 + 4, Traces: 2, Max: 80,
				Examples: []BottleneckExample{ex(1, 80, 100), ex(2, 4, 50)}},
			{Service: "cache", Operation: "get", Total: 25, Traces: 1, Max: 25, Examples: []BottleneckExample{ex(2, 25, 50)}},
			{Service: "db", Operation: "select", Total: 6, Traces: 1, Max: 6, Examples: []BottleneckExample{ex(2, 6, 50)}},
		}},
		{"one example: the worst, ties to the smaller trace id", 1, []Bottleneck{
			{Service: "frontend", Operation: "GET", Total: 255, Traces: 4, Max: 200, Examples: []BottleneckExample{ex(3, 200, 200)}},
			{Service: "backend", Operation: "query", Total: 84, Traces: 2, Max: 80, Examples: []BottleneckExample{ex(1, 80, 100)}},
			{Service: "cache", Operation: "get", Total: 25, Traces: 1, Max: 25, Examples: []BottleneckExample{ex(2, 25, 50)}},
			{Service: "db", Operation: "select", Total: 6, Traces: 1, Max: 6, Examples: []BottleneckExample{ex(2, 6, 50)}},
		}},
		{"no examples", -1, []Bottleneck{
			{Service: "frontend", Operation: "GET", Total: 255, Traces: 4, Max: 200},
			{Service: "backend", Operation: "query", Total: 84, Traces: 2, Max: 80},
			{Service: "cache", Operation: "get", Total: 25, Traces: 1, Max: 25},
			{Service: "db", Operation: "select", Total: 6, Traces: 1, Max: 6},
		}},
	}
	for _, tt := range tests {
		for _, order := range []string{"in order", "reversed"} {
			t.Run(tt.name+", "+order, func(t *testing.T) {
				traces := bnTraces()
				if order == "reversed" {
					slices.Reverse(traces)
				}
				got := Bottlenecks(traces, BottleneckOptions{Examples: tt.examples})
				if got.Traces != 4 || got.Latency != latency || got.Gap != 20 {
					t.Errorf("Traces, Latency, Gap = %d, %d, %d, want 4, %d, 20", got.Traces, got.Latency, got.Gap, latency)
				}
				for i := range tt.want {
					tt.want[i].PerTrace = float64(tt.want[i].Total) / 4
					tt.want[i].Share = float64(tt.want[i].Total) / latency
				}
				if fmt.Sprint(got.Operations) != fmt.Sprint(tt.want) {
					t.Errorf("Operations\n got %+v\nwant %+v", got.Operations, tt.want)
				}
				var sum int64
				for _, b := range got.Operations {
					sum += b.Total
				}
				if sum+got.Gap != got.Latency {
					t.Errorf("totals %d + gap %d != latency %d", sum, got.Gap, got.Latency)
				}
			})
		}
	}
}

func TestBottleneckAccumulatorResultThenAdd(t *testing.T) {
	traces := bnTraces()
	a := NewBottleneckAccumulator(BottleneckOptions{})
	a.Add(traces[0])
	first := a.Result()
	first.Operations[0].Examples[0].Time = -1 // the caller owns the result
	for _, tr := range traces[1:] {
		a.Add(tr)
	}
	if got, want := fmt.Sprint(a.Result()), fmt.Sprint(Bottlenecks(traces, BottleneckOptions{})); got != want {
		t.Errorf("after Result and more Adds:\n got %s\nwant %s", got, want)
	}
	if a.Traces() != 4 {
		t.Errorf("Traces() = %d, want 4", a.Traces())
	}
}

// TestBottlenecksRandom checks on random traces what must hold whatever
// the paths: the operations' totals and the gaps make up the latency, each
// operation's count, maximum and examples agree with its total.
func TestBottlenecksRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 5))
	traces := make([]*Trace, 200)
	for i := range traces {
		spans := cpRandomTrace(r, 1+r.IntN(40))
		for k := range spans {
			spans[k].TraceID = storage.TraceID{0: 0xaa, 14: byte(i >> 8), 15: byte(i)}
			for l := range spans[k].Links {
				spans[k].Links[l].TraceID = spans[k].TraceID
			}
		}
		traces[i] = NewTrace(spans)
	}
	got := Bottlenecks(traces, BottleneckOptions{Examples: 5})
	var sum int64
	for _, b := range got.Operations {
		sum += b.Total
		if b.Traces < 1 || b.Traces > got.Traces || b.Max > b.Total || b.Max*int64(b.Traces) < b.Total {
			t.Errorf("%s/%s: %d traces, max %d, total %d", b.Service, b.Operation, b.Traces, b.Max, b.Total)
		}
		if len(b.Examples) != min(5, b.Traces) || b.Examples[0].Time != b.Max {
			t.Errorf("%s/%s: examples %v for %d traces, max %d", b.Service, b.Operation, b.Examples, b.Traces, b.Max)
		}
		if !slices.IsSortedFunc(b.Examples, func(x, y BottleneckExample) int { return worse(y, x) }) {
			t.Errorf("%s/%s: examples not worst first: %v", b.Service, b.Operation, b.Examples)
		}
	}
	if got.Traces != len(traces) || sum+got.Gap != got.Latency {
		t.Errorf("%d traces; totals %d + gap %d, latency %d", got.Traces, sum, got.Gap, got.Latency)
	}
}
