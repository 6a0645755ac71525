package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// benchRED returns 50 services × 20 operations of per-minute RED series
// over a day: the baseline is the first 1,380 minutes, the current window
// the last 60, every 100th series twice as slow in its last 30 minutes.
// That is 1,440,000 points, the aggregate of at least as many spans (here
// 100 a point). Points share 64 prepared histograms, so that the benchmark
// measures detection, not building the data.
func benchRED() (base, cur []storage.REDSeries) {
	r := rand.New(rand.NewPCG(1, 2))
	hist := func(median time.Duration) storage.Histogram {
		var h storage.Histogram
		for range 100 {
			h.Add(time.Duration(float64(median) * math.Exp(0.3*r.NormFloat64())))
		}
		return h
	}
	var normal, slow [64]storage.Histogram
	for i := range normal {
		normal[i], slow[i] = hist(10*time.Millisecond), hist(20*time.Millisecond)
	}
	for s := range 50 {
		for o := range 20 {
			b := storage.REDSeries{Service: fmt.Sprintf("svc%02d", s), Operation: fmt.Sprintf("op%02d", o)}
			c := b
			b.Points = make([]storage.REDPoint, 1380)
			c.Points = make([]storage.REDPoint, 60)
			for m := range 1440 {
				p := storage.REDPoint{Time: minuteAt(m), Calls: 100, Errors: uint64(r.IntN(3)), Latency: normal[r.IntN(64)]}
				if m < 1380 {
					b.Points[m] = p
					continue
				}
				if (s*20+o)%100 == 0 && m >= 1410 {
					p.Latency = slow[r.IntN(64)]
				}
				c.Points[m-1380] = p
			}
			base, cur = append(base, b), append(cur, c)
		}
	}
	return base, cur
}

func BenchmarkDetectLatency(b *testing.B) {
	base, cur := benchRED()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if got := DetectLatency(base, cur, AnomalyOptions{}); len(got) != 10 {
			b.Fatalf("got %d anomalies, want 10", len(got))
		}
	}
}

func BenchmarkDetectErrors(b *testing.B) {
	base, cur := benchRED()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if got := DetectErrors(base, cur, AnomalyOptions{}); len(got) != 0 {
			b.Fatalf("got %d anomalies, want none", len(got))
		}
	}
}

// BenchmarkDetectStructure compares two samples of 1,000 traces (the
// current one calls the cache): of 13 to 43 spans (about 28,000 a side),
// and of 91 (91,000 in the baseline, 121,000 now).
func BenchmarkDetectStructure(b *testing.B) {
	for _, bc := range []struct {
		name string
		rpcs func(*rand.Rand) int
	}{
		{"1000x13-43", func(r *rand.Rand) int { return 4 + r.IntN(11) }},
		{"1000x91", func(*rand.Rand) int { return 30 }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var tb traceBuilder
			r := rand.New(rand.NewPCG(3, 4))
			mk := func(n int, start time.Time, cache bool) []*Trace {
				out := make([]*Trace, n)
				for i := range out {
					out[i] = tb.build(shape{rpcs: bc.rpcs(r), selects: 2, cache: cache}, start.Add(time.Duration(i)*time.Second))
				}
				return out
			}
			base, cur := mk(1000, anomT0, false), mk(1000, anomT0.Add(time.Hour), true)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if got := DetectStructure(base, cur, AnomalyOptions{}); len(got) != 1 {
					b.Fatalf("got %+v, want the new cache edge", got)
				}
			}
		})
	}
}
