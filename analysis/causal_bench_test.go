package analysis

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

// benchTrace is a simulated trace of n spans over 8 processes, one in
// eight of them plain.
func benchTrace(b *testing.B, n int) *Trace {
	b.Helper()
	st, err := simulate(rand.New(rand.NewPCG(uint64(n), 14)), n, 8, vclock.DefaultLimit, 0.125)
	if err != nil {
		b.Fatal(err)
	}
	return NewTrace(st.spans)
}

var benchSizes = []int{10_000, 100_000}

func BenchmarkNewCausal(b *testing.B) {
	for _, n := range benchSizes {
		tr := benchTrace(b, n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				NewCausal(tr)
			}
		})
	}
}

// BenchmarkRelation: 1,000 random queries per op.
func BenchmarkRelation(b *testing.B) {
	for _, n := range benchSizes {
		c := NewCausal(benchTrace(b, n))
		rng := rand.New(rand.NewPCG(1, 2))
		pairs := make([][2]Event, 1000)
		for i := range pairs {
			pairs[i] = [2]Event{{rng.IntN(n), rng.IntN(2) == 1}, {rng.IntN(n), rng.IntN(2) == 1}}
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, p := range pairs {
					c.Relation(p[0], p[1])
				}
			}
		})
	}
}

func BenchmarkCausalOrder(b *testing.B) {
	for _, n := range benchSizes {
		c := NewCausal(benchTrace(b, n))
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.CausalOrder()
			}
		})
	}
}

func BenchmarkConcurrentWith(b *testing.B) {
	for _, n := range benchSizes {
		c := NewCausal(benchTrace(b, n))
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.ConcurrentWith(n / 2)
			}
		})
	}
}

// A 100,000-deep chain of synchronous calls, with and without clocks:
// nothing recurses, the leaf's end precedes the root's.
func TestCausalDeepChain(t *testing.T) {
	const n = 100_000
	for _, clocks := range []bool{false, true} {
		t.Run("clocks "+strconv.FormatBool(clocks), func(t *testing.T) {
			spans := make([]storage.Span, n)
			for i := range spans {
				var id storage.SpanID
				id[0], id[1], id[2], id[3] = 1, byte(i>>16), byte(i>>8), byte(i)
				spans[i] = storage.Span{TraceID: craftTrace, SpanID: id, Kind: storage.KindInternal, StartTime: int64(i), EndTime: int64(2*n - i), Service: "deep"}
				if i > 0 {
					spans[i].ParentSpanID = spans[i-1].SpanID
				}
				if clocks {
					spans[i].Attributes = clockAttrs(vclock.AttrNode, "d", vclock.AttrTick, uint64(i+1), vclock.AttrEndTick, uint64(n))
				}
			}
			tr := NewTrace(spans)
			c := NewCausal(tr)
			leaf := tr.Index(spans[n-1].SpanID)
			if got := c.Relation(EndOf(leaf), EndOf(0)); got.Order != Before {
				t.Errorf("leaf end vs root end: %v/%v, want before", got.Order, got.Reason)
			}
			if got := c.Relation(StartOf(0), EndOf(leaf)); got.Order != Before {
				t.Errorf("root start vs leaf end: %v/%v, want before", got.Order, got.Reason)
			}
			order := c.CausalOrder()
			if len(order) != n || order[0] != 0 || order[n-1] != leaf {
				t.Errorf("CausalOrder: %d spans, first %d, last %d", len(order), order[0], order[n-1])
			}
		})
	}
}
