package analysis

import (
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// TestCriticalPathDemo checks critical paths of traces recorded from the
// demo's services: a search is synchronous (the path ends in service-a's
// server span and runs through service-c), a process request hands a job
// to a consumer that may end after the answer (then the path follows it to
// the end). With service-b's clock off, the path still tiles the trace.
func TestCriticalPathDemo(t *testing.T) {
	for _, skew := range []time.Duration{0, 20 * time.Millisecond} {
		t.Run("service-b skewed by "+skew.String(), func(t *testing.T) {
			byTrace := recordDemo(t, skew, []string{"example", "pay*", "cart order"}, 3)
			if len(byTrace) != 6 {
				t.Fatalf("%d traces, want 6", len(byTrace))
			}
			var traces []*Trace
			for _, spans := range byTrace {
				tr := NewTrace(spans)
				traces = append(traces, tr)
				p := tr.CriticalPath()
				checkCriticalPath(t, tr, p)
				if len(tr.Roots) != 1 || tr.Spans[tr.Roots[0]].Service != "service-a" {
					t.Fatalf("roots %v, want service-a's server span alone", tr.Roots)
				}
				root := tr.Roots[0]
				if p.Segments[0].Span != root {
					t.Errorf("the path starts in %v, want the root", p.Segments[0])
				}
				last := p.Segments[len(p.Segments)-1].Span
				services := map[string]int64{}
				for i, c := range p.Contribution {
					services[tr.Spans[i].Service] += c
				}
				switch name := tr.Spans[root].Name; name {
				case "GET /api/v1/search":
					// A server span may end a moment after its client has
					// returned (gRPC reports the server's end after it sent
					// the status), so the path ends in the root unless some
					// span ended after it; it always ends at the trace's end.
					end := int64(0)
					for _, s := range tr.Spans {
						end = max(end, s.EndTime)
					}
					if skew == 0 && (p.End != end || end == tr.Spans[root].EndTime && last != root) {
						t.Errorf("search: the path ends in %q at %d, want the trace's end %d (the root ends at %d)", tr.Spans[last].Name, p.End, end, tr.Spans[root].EndTime)
					}
					if skew == 0 && services["service-c"] == 0 {
						t.Errorf("search: service-c not on the path: %v", services)
					}
				case "GET /api/v1/process":
					consumer := -1
					for i, s := range tr.Spans {
						if s.Kind == storage.KindConsumer {
							consumer = i
						}
					}
					if consumer < 0 {
						t.Fatal("process: no consumer span")
					}
					if tr.Spans[consumer].EndTime == p.End {
						// The consumer ends the trace: it is followed past
						// its producer's and the root's ends.
						if int(last) != consumer || p.Contribution[consumer] == 0 {
							t.Errorf("process: the consumer ends the trace but the path ends in %q", tr.Spans[last].Name)
						}
					} else if skew == 0 && tr.Spans[root].EndTime == p.End && int(last) != int(root) {
						// (Else a server span under the consumer ended
						// last: gRPC ends it after it sent its answer.)
						t.Errorf("process: the root ends the trace but the path ends in %q", tr.Spans[last].Name)
					}
				default:
					t.Errorf("unexpected root %q", name)
				}
			}
			r := Bottlenecks(traces, BottleneckOptions{})
			var sum int64
			for _, b := range r.Operations {
				sum += b.Total
			}
			if r.Traces != 6 || sum+r.Gap != r.Latency {
				t.Errorf("bottlenecks: %d traces, %d + gap %d, latency %d", r.Traces, sum, r.Gap, r.Latency)
			}
		})
	}
}
