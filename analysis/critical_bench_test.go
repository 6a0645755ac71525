package analysis

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tracerdev/tracer/storage"
)

// cpBenchTrace makes an n-span trace shaped like a service call tree: each
// span's parent is one of the recent spans (some fan-out, some depth),
// children within their parents mostly, a few outliving them, over a few
// services and operations.
func cpBenchTrace(r *rand.Rand, id int, n int) []storage.Span {
	spans := make([]storage.Span, n)
	for i := range spans {
		s := &spans[i]
		s.TraceID = storage.TraceID{0: 0xbe, 14: byte(id >> 8), 15: byte(id)}
		s.SpanID = storage.SpanID{0xbe, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i), 1, 2, 3}
		s.Service = fmt.Sprint("svc", r.IntN(8))
		s.Name = fmt.Sprint("op", r.IntN(20))
		if i == 0 {
			s.StartTime, s.EndTime = 0, 1_000_000_000
			continue
		}
		p := &spans[max(0, i-1-r.IntN(16))]
		s.ParentSpanID = p.SpanID
		d := p.EndTime - p.StartTime + 1
		a, b := p.StartTime+r.Int64N(d), p.StartTime+r.Int64N(d)
		s.StartTime, s.EndTime = min(a, b), max(a, b)
		if r.IntN(50) == 0 {
			s.EndTime += r.Int64N(d) // outlives its parent
		}
	}
	return spans
}

func BenchmarkCriticalPath(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			tr := NewTrace(cpBenchTrace(rand.New(rand.NewPCG(1, 2)), 1, n))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_ = tr.CriticalPath()
			}
		})
	}
}

func BenchmarkBottlenecks(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	traces := make([]*Trace, 1000)
	for i := range traces {
		traces[i] = NewTrace(cpBenchTrace(r, i, 20+r.IntN(200)))
	}
	b.Run("1000 traces", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Bottlenecks(traces, BottleneckOptions{})
		}
	})
}
