package analysis

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tracerdev/tracer/storage"
)

// cpRandomTrace makes n spans with random parents (some missing: orphans),
// random intervals (children may start before, end after or lie outside
// their parents; some last zero or end before they start) and random
// links.
func cpRandomTrace(r *rand.Rand, n int) []storage.Span {
	spans := make([]storage.Span, n)
	for i := range spans {
		s := &spans[i]
		s.TraceID = cpTraceID
		s.SpanID = storage.SpanID{0xab, byte(i >> 16), byte(i >> 8), byte(i), 1, 2, 3, 4}
		s.Name = fmt.Sprint("op", r.IntN(5))
		s.Service = fmt.Sprint("svc", r.IntN(3))
		s.StartTime = r.Int64N(1000)
		switch r.IntN(10) {
		case 0:
			s.EndTime = s.StartTime
		case 1:
			s.EndTime = s.StartTime - r.Int64N(5)
		default:
			s.EndTime = s.StartTime + r.Int64N(500)
		}
		if i > 0 && r.IntN(8) != 0 {
			s.ParentSpanID = spans[r.IntN(i)].SpanID
		} else if r.IntN(2) == 0 {
			s.ParentSpanID = storage.SpanID{0xcd, byte(i), 9, 9, 9, 9, 9, 9} // missing
		}
		if r.IntN(6) == 0 {
			s.Links = append(s.Links, storage.Link{TraceID: cpTraceID, SpanID: spans[r.IntN(n)].SpanID})
		}
	}
	// NewTrace takes its spans in any order.
	r.Shuffle(n, func(i, j int) { spans[i], spans[j] = spans[j], spans[i] })
	return spans
}

// TestCriticalPathProperties checks on random traces that the segments
// never overlap, tile the trace's range and lie within their spans, and
// that the contributions and gaps sum to the duration (checkCriticalPath).
func TestCriticalPathProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 3))
	for k := range 500 {
		spans := cpRandomTrace(r, 1+r.IntN(60))
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			tr := NewTrace(spans)
			p := tr.CriticalPath()
			checkCriticalPath(t, tr, p)
			if p.Duration() > 0 && len(p.Segments) == 0 {
				t.Errorf("no segments for a %d ns trace", p.Duration())
			}
		})
	}
}

// cpNestedTrace makes a single-root trace whose children lie within their
// parents (what the Jaeger UI's algorithm assumes once it has clipped).
func cpNestedTrace(r *rand.Rand, n int) []storage.Span {
	spans := make([]storage.Span, n)
	for i := range spans {
		s := &spans[i]
		s.TraceID = cpTraceID
		s.SpanID = storage.SpanID{0xab, byte(i >> 8), byte(i), 1, 2, 3, 4, 5}
		s.Name = fmt.Sprint("s", i)
		if i == 0 {
			s.StartTime, s.EndTime = 0, 1000
			continue
		}
		p := &spans[r.IntN(i)]
		s.ParentSpanID = p.SpanID
		d := p.EndTime - p.StartTime
		a, b := p.StartTime+r.Int64N(d+1), p.StartTime+r.Int64N(d+1)
		s.StartTime, s.EndTime = min(a, b), max(a, b)
	}
	return spans
}

// cpRefPath is the Jaeger UI's recursive algorithm (index.ts,
// findLastFinishingChildSpan.ts), with children that end when the next
// starts counted on the path, written independently as a reference:
// segments latest first.
func cpRefPath(tr *Trace, x int32, t int64, out *[]Segment) {
	s := &tr.Spans[x]
	emit := func(a, b int64) {
		if a < b {
			*out = append(*out, Segment{Span: x, Start: a, End: b})
		}
	}
	for {
		best := int32(-1)
		for _, c := range tr.Children[x] {
			cs := &tr.Spans[c]
			if cs.EndTime <= cs.StartTime || cs.EndTime > t {
				continue
			}
			if best < 0 || cs.EndTime > tr.Spans[best].EndTime {
				best = c
			}
		}
		if best < 0 {
			emit(s.StartTime, t)
			return
		}
		emit(tr.Spans[best].EndTime, t)
		cpRefPath(tr, best, tr.Spans[best].EndTime, out)
		t = tr.Spans[best].StartTime
	}
}

func cpMerge(segs []Segment) []Segment {
	var out []Segment
	for _, s := range segs {
		if k := len(out) - 1; k >= 0 && out[k].Span == s.Span && out[k].End == s.Start {
			out[k].End = s.End
			continue
		}
		out = append(out, s)
	}
	return out
}

// TestCriticalPathMatchesReference compares the iterative walk with the
// recursive reference on random nested traces, where the two definitions
// agree. Ties between children ending together may pick either, and the
// pick changes which spans are on the path, so the times are made
// distinct.
func TestCriticalPathMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 4))
	for k := range 300 {
		spans := cpNestedTrace(r, 2+r.IntN(40))
		seen := map[int64]bool{}
		distinct := true
		for _, s := range spans[1:] {
			if seen[s.EndTime] {
				distinct = false
			}
			seen[s.EndTime] = true
		}
		if !distinct {
			continue
		}
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			tr := NewTrace(spans)
			var ref []Segment
			cpRefPath(tr, tr.Roots[0], tr.Spans[tr.Roots[0]].EndTime, &ref)
			slices.Reverse(ref)
			ref = cpMerge(ref)
			got := tr.CriticalPath()
			if !slices.Equal(got.Segments, ref) {
				t.Errorf("segments\n got %v\nwant %v", got.Segments, ref)
			}
		})
	}
}

// TestCriticalPathDeep checks a 100,000-deep chain and a 100,000-wide
// fan-out: no recursion to overflow, and the known answers.
func TestCriticalPathDeep(t *testing.T) {
	const n = 100_000
	t.Run("chain", func(t *testing.T) {
		spans := make([]storage.Span, n)
		for i := range spans {
			spans[i] = storage.Span{TraceID: cpTraceID, SpanID: cpDeepID(i), StartTime: int64(i), EndTime: int64(2*n - i)}
			if i > 0 {
				spans[i].ParentSpanID = cpDeepID(i - 1)
			}
		}
		tr := NewTrace(spans)
		p := tr.CriticalPath()
		checkCriticalPath(t, tr, p)
		// Each span but the deepest is on the path for 1 ns on each side.
		if len(p.Segments) != 2*n-1 {
			t.Fatalf("%d segments, want %d", len(p.Segments), 2*n-1)
		}
		for i := range n - 1 {
			if p.Contribution[i] != 2 || p.SelfTime[i] != 2 {
				t.Fatalf("span %d: contribution %d, self %d, want 2 and 2", i, p.Contribution[i], p.SelfTime[i])
			}
		}
	})
	for _, rootEnd := range []int64{1, 4 * n} {
		t.Run(fmt.Sprint("async cascade, root ends at ", rootEnd), func(t *testing.T) {
			// Each span starts the next and ends before it starts; the last
			// ends the trace. Between them: the root if it still runs, else
			// gaps.
			spans := make([]storage.Span, n)
			for i := range spans {
				spans[i] = storage.Span{TraceID: cpTraceID, SpanID: cpDeepID(i), StartTime: int64(2 * i), EndTime: int64(2*i + 1)}
				if i > 0 {
					spans[i].ParentSpanID = cpDeepID(i - 1)
				}
			}
			spans[0].EndTime = rootEnd
			tr := NewTrace(spans)
			p := tr.CriticalPath()
			checkCriticalPath(t, tr, p)
			if rootEnd > 2*n {
				// The root ends the trace: its children are clipped to it,
				// and the grandchild to the child.
				if got := cpPathString(tr, p); got != fmt.Sprintf(":0-2 :2-3 :3-%d", rootEnd) {
					t.Fatalf("path %q", got)
				}
				return
			}
			if len(p.Segments) != 2*n-1 || p.Gap != n-1 {
				t.Fatalf("%d segments, gap %d, want %d and %d", len(p.Segments), p.Gap, 2*n-1, n-1)
			}
			for i := range n {
				if p.Contribution[i] != 1 {
					t.Fatalf("span %d contributes %d, want 1", i, p.Contribution[i])
				}
			}
		})
	}
	t.Run("async cascade under a long parent", func(t *testing.T) {
		// A root running until the last span starts; under it a chain whose
		// spans end before their children start: the root fills between.
		spans := make([]storage.Span, n+1)
		spans[0] = storage.Span{TraceID: cpTraceID, SpanID: cpDeepID(0), StartTime: 0, EndTime: 2*n - 1}
		for i := 1; i <= n; i++ {
			spans[i] = storage.Span{TraceID: cpTraceID, SpanID: cpDeepID(i), ParentSpanID: cpDeepID(i - 1),
				StartTime: int64(2*i - 1), EndTime: int64(2 * i)}
		}
		tr := NewTrace(spans)
		p := tr.CriticalPath()
		checkCriticalPath(t, tr, p)
		if len(p.Segments) != 2*n || p.Gap != 0 || p.Contribution[0] != n {
			t.Fatalf("%d segments, gap %d, root contributes %d, want %d, 0 and %d", len(p.Segments), p.Gap, p.Contribution[0], 2*n, n)
		}
	})
	t.Run("100,000 overlapping roots", func(t *testing.T) {
		spans := make([]storage.Span, n)
		for i := range spans {
			spans[i] = storage.Span{TraceID: cpTraceID, SpanID: cpDeepID(i), ParentSpanID: cpDeepID(n + i), // orphans
				StartTime: int64(i), EndTime: int64(n + i)}
		}
		tr := NewTrace(spans)
		p := tr.CriticalPath()
		checkCriticalPath(t, tr, p)
		// The last root, and before its start the earliest of those running.
		want := []Segment{{0, 0, n - 1}, {n - 1, n - 1, 2*n - 1}}
		if !slices.Equal(p.Segments, want) {
			t.Fatalf("segments %v, want %v", p.Segments, want)
		}
	})
	t.Run("fan-out in sequence", func(t *testing.T) {
		spans := make([]storage.Span, n+1)
		spans[0] = storage.Span{TraceID: cpTraceID, SpanID: cpDeepID(0), StartTime: 0, EndTime: 2*n + 1}
		for i := 1; i <= n; i++ {
			spans[i] = storage.Span{TraceID: cpTraceID, SpanID: cpDeepID(i), ParentSpanID: cpDeepID(0),
				StartTime: int64(2*i - 1), EndTime: int64(2 * i)}
		}
		tr := NewTrace(spans)
		p := tr.CriticalPath()
		checkCriticalPath(t, tr, p)
		// The root and the children alternate, every one on the path.
		if len(p.Segments) != 2*n+1 || p.Contribution[0] != n+1 || p.SelfTime[0] != n+1 {
			t.Fatalf("%d segments, root contributes %d (self %d), want %d and %d", len(p.Segments), p.Contribution[0], p.SelfTime[0], 2*n+1, n+1)
		}
	})
	t.Run("fan-out in parallel", func(t *testing.T) {
		spans := make([]storage.Span, n+1)
		spans[0] = storage.Span{TraceID: cpTraceID, SpanID: cpDeepID(0), StartTime: 0, EndTime: 3 * n}
		for i := 1; i <= n; i++ {
			spans[i] = storage.Span{TraceID: cpTraceID, SpanID: cpDeepID(i), ParentSpanID: cpDeepID(0),
				StartTime: int64(i), EndTime: int64(n + i)}
		}
		tr := NewTrace(spans)
		p := tr.CriticalPath()
		checkCriticalPath(t, tr, p)
		// Only the last child to finish, between the root's two parts.
		last := tr.Index(cpDeepID(n))
		want := []Segment{{0, 0, n}, {int32(last), n, 2 * n}, {0, 2 * n, 3 * n}}
		if !slices.Equal(p.Segments, want) {
			t.Fatalf("segments %v, want %v", p.Segments, want)
		}
	})
}

func cpDeepID(i int) storage.SpanID {
	return storage.SpanID{0xde, 0xe9, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i), 0, 1}
}
