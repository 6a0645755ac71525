package storagetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// redLimits are the reader limits of the REDLimits case.
var redLimits = storage.ReaderLimits{MaxREDPoints: 4}

// redAnchor is a recent time, a multiple of 10 minutes since the epoch, an
// hour and more before now: the RED cases place their spans after it.
func redAnchor() time.Time {
	const d = 10 * time.Minute
	t := time.Now().Add(-80 * time.Minute).UnixNano()
	return time.Unix(0, t-t%int64(d))
}

// redSpans returns the RED data set: three services, several operations and
// kinds, errors, durations over many buckets, spans on step boundaries, over
// the 30 minutes after a, and one span at a+30m.
func redSpans(a time.Time) []storage.Span {
	r := rand.New(rand.NewPCG(31, 32))
	type op struct {
		svc, name string
		kind      storage.SpanKind
	}
	ops := []op{
		{"api", "GET /a", storage.KindServer},
		{"api", "GET /b", storage.KindServer},
		{"api", "call db", storage.KindClient},
		{"db", "query", storage.KindServer},
		{"db", "GET /a", storage.KindServer}, // the same name in another service
		{"worker", "job", storage.KindConsumer},
		{"worker", "tick", storage.KindInternal},
	}
	var spans []storage.Span
	add := func(o op, start time.Time, d time.Duration, status storage.StatusCode) {
		n := len(spans)
		sp := mk(tid(0x60, byte(n>>8), byte(n)), sid(1), storage.SpanID{}, o.svc, o.name, o.kind, start, d)
		sp.StatusCode = status
		spans = append(spans, sp)
	}
	durations := []time.Duration{0, 1, 7, 8, 9, 15, 16, 1000, time.Microsecond + 1, time.Millisecond, 3 * time.Millisecond, time.Second, 90 * time.Second}
	for i := range 400 {
		o := ops[r.IntN(len(ops))]
		start := a.Add(time.Duration(r.Int64N(int64(30 * time.Minute))))
		d := durations[i%len(durations)]
		if i%3 == 0 {
			d = time.Duration(r.Int64N(int64(2 * time.Second)))
		}
		status := storage.StatusUnset
		switch r.IntN(6) {
		case 0:
			status = storage.StatusError
		case 1:
			status = storage.StatusOK
		}
		add(o, start, d, status)
	}
	// On the boundaries: at a, at a+5m and a+10m exactly, a nanosecond
	// before a+10m, and at a+30m (outside [a, a+30m)).
	add(ops[0], a, time.Millisecond, storage.StatusError)
	add(ops[0], a.Add(5*time.Minute), time.Millisecond, storage.StatusUnset)
	add(ops[3], a.Add(10*time.Minute), 2*time.Millisecond, storage.StatusUnset)
	add(ops[3], a.Add(10*time.Minute-1), 2*time.Millisecond, storage.StatusError)
	add(ops[5], a.Add(30*time.Minute), time.Millisecond, storage.StatusUnset)
	return spans
}

// wantRED computes the RED series of spans for q, from the contract's words
// (it does not call REDQuery.Matches or PointTime, whose own tests check
// them).
func wantRED(spans []storage.Span, q storage.REDQuery) []storage.REDSeries {
	type key struct{ svc, op string }
	points := map[key]map[int64]*storage.REDPoint{}
	step := int64(q.Step)
	for _, sp := range spans {
		if sp.StartTime < q.Start.UnixNano() || sp.StartTime >= q.End.UnixNano() ||
			len(q.Services) > 0 && !slices.Contains(q.Services, sp.Service) ||
			len(q.Kinds) > 0 && !slices.Contains(q.Kinds, sp.Kind) ||
			q.Operation != "" && sp.Name != q.Operation {
			continue
		}
		k := key{svc: sp.Service}
		if q.GroupByOperation {
			k.op = sp.Name
		}
		if points[k] == nil {
			points[k] = map[int64]*storage.REDPoint{}
		}
		at := sp.StartTime / step * step // the suite's times are after the epoch
		p := points[k][at]
		if p == nil {
			p = &storage.REDPoint{Time: at}
			points[k][at] = p
		}
		p.Calls++
		if sp.StatusCode == storage.StatusError {
			p.Errors++
		}
		p.Latency.Add(time.Duration(sp.EndTime - sp.StartTime))
	}
	var out []storage.REDSeries
	for k, m := range points {
		s := storage.REDSeries{Service: k.svc, Operation: k.op}
		for _, p := range m {
			s.Points = append(s.Points, *p)
		}
		out = append(out, s)
	}
	storage.SortRED(out)
	return out
}

// diffRED describes how got differs from want, or returns "".
func diffRED(got, want []storage.REDSeries) string {
	var out []string
	name := func(s storage.REDSeries) string { return fmt.Sprintf("%q/%q", s.Service, s.Operation) }
	if len(got) != len(want) {
		var g, w []string
		for _, s := range got {
			g = append(g, name(s))
		}
		for _, s := range want {
			w = append(w, name(s))
		}
		return fmt.Sprintf("series %v, want %v", g, w)
	}
	for i := range got {
		g, w := got[i], want[i]
		if name(g) != name(w) {
			out = append(out, fmt.Sprintf("series %d is %s, want %s", i, name(g), name(w)))
			continue
		}
		if len(g.Points) != len(w.Points) {
			out = append(out, fmt.Sprintf("series %s: %d points, want %d (at %v, want %v)", name(w), len(g.Points), len(w.Points), pointTimes(g.Points), pointTimes(w.Points)))
			continue
		}
		for j := range g.Points {
			gp, wp := g.Points[j], w.Points[j]
			switch {
			case gp.Time != wp.Time:
				out = append(out, fmt.Sprintf("series %s point %d: Time %s, want %s", name(w), j, time.Unix(0, gp.Time).UTC(), time.Unix(0, wp.Time).UTC()))
			case gp.Calls != wp.Calls || gp.Errors != wp.Errors:
				out = append(out, fmt.Sprintf("series %s point %d: Calls %d Errors %d, want %d and %d", name(w), j, gp.Calls, gp.Errors, wp.Calls, wp.Errors))
			case !slices.Equal(gp.Latency, wp.Latency):
				out = append(out, fmt.Sprintf("series %s point %d: Latency %v, want %v", name(w), j, nonZero(gp.Latency), nonZero(wp.Latency)))
			}
		}
	}
	return strings.Join(out, "\n")
}

func pointTimes(ps []storage.REDPoint) []string {
	var out []string
	for _, p := range ps {
		out = append(out, time.Unix(0, p.Time).UTC().Format("15:04:05.999999999"))
	}
	return out
}

// nonZero formats a histogram as its non-empty buckets, and its length.
func nonZero(h storage.Histogram) string {
	var b strings.Builder
	fmt.Fprintf(&b, "len %d:", len(h))
	for i, n := range h {
		if n > 0 {
			fmt.Fprintf(&b, " [%d]=%d", i, n)
		}
	}
	return b.String()
}

func red(t *testing.T, s storage.Store, q storage.REDQuery) []storage.REDSeries {
	t.Helper()
	got, err := s.RED(ctxFor(t), q)
	if err != nil {
		t.Fatalf("RED(%+v): %v", q, err)
	}
	return got
}

func testRED(t *testing.T, s storage.Store) {
	a := redAnchor()
	spans := redSpans(a)
	// Spans of a service that the hand-checked case below reads alone.
	hand := []storage.Span{
		mk(tid(0x61, 1), sid(1), storage.SpanID{}, "hand", "h", storage.KindServer, a.Add(time.Minute), time.Millisecond),
		mk(tid(0x61, 2), sid(1), storage.SpanID{}, "hand", "h", storage.KindServer, a.Add(time.Minute+30*time.Second), 3*time.Millisecond),
		mk(tid(0x61, 3), sid(1), storage.SpanID{}, "hand", "h", storage.KindServer, a.Add(2*time.Minute), time.Millisecond),
	}
	hand[1].StatusCode = storage.StatusError
	spans = append(spans, hand...)
	for i := 0; i < len(spans); i += 100 {
		write(t, s, spans[i:min(i+100, len(spans))])
	}
	at := func(d time.Duration) time.Time { return a.Add(d) }
	window := func(q storage.REDQuery) storage.REDQuery {
		if q.Start.IsZero() {
			q.Start, q.End = a, a.Add(30*time.Minute)
		}
		return q
	}
	m := time.Minute
	tests := []struct {
		name string
		q    storage.REDQuery
	}{
		{"per service", storage.REDQuery{Step: m}},
		{"per service 10m", storage.REDQuery{Step: 10 * m}},
		{"by operation", storage.REDQuery{Step: 5 * m, GroupByOperation: true}},
		{"kind", storage.REDQuery{Step: 5 * m, Kinds: []storage.SpanKind{storage.KindServer}}},
		{"kinds", storage.REDQuery{Step: 5 * m, Kinds: []storage.SpanKind{storage.KindServer, storage.KindConsumer}, GroupByOperation: true}},
		{"services", storage.REDQuery{Step: 2 * m, Services: []string{"db", "worker"}}},
		{"operation", storage.REDQuery{Step: 5 * m, Operation: "GET /a"}},
		{"operation grouped", storage.REDQuery{Step: 5 * m, Operation: "GET /a", GroupByOperation: true}},
		{"combination", storage.REDQuery{Step: 3 * m, Services: []string{"api"}, Kinds: []storage.SpanKind{storage.KindClient}, GroupByOperation: true}},
		{"start not on a step", storage.REDQuery{Start: at(3 * m), End: at(17 * m), Step: 10 * m}},
		{"hour step", storage.REDQuery{Start: at(0), End: at(30 * m), Step: time.Hour, GroupByOperation: true}},
		{"day step", storage.REDQuery{Start: at(-time.Hour), End: at(time.Hour), Step: 24 * time.Hour}},
		{"end exclusive", storage.REDQuery{Start: at(0), End: at(10 * m), Step: 5 * m, Services: []string{"api", "db"}}},
		{"start inclusive", storage.REDQuery{Start: at(10 * m), End: at(20 * m), Step: m, Services: []string{"db"}}},
		{"wide range", storage.REDQuery{Start: at(-24 * time.Hour), End: at(2 * time.Hour), Step: m, Services: []string{"worker"}}},
		{"empty window", storage.REDQuery{Start: at(40 * m), End: at(50 * m), Step: m}},
		{"unknown service", storage.REDQuery{Step: m, Services: []string{"nope"}}},
		{"unknown operation", storage.REDQuery{Step: m, Operation: "nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := window(tt.q)
			want := wantRED(spans, q)
			got := red(t, s, q)
			if d := diffRED(got, want); d != "" {
				t.Errorf("RED(%+v) differs:\n%s", q, d)
			}
			for _, sr := range got {
				if !q.GroupByOperation && sr.Operation != "" {
					t.Errorf("RED without GroupByOperation: series %q has operation %q", sr.Service, sr.Operation)
				}
				for _, p := range sr.Points {
					if p.Time%int64(q.Step) != 0 {
						t.Errorf("series %q: point at %d, not a multiple of the step %s", sr.Service, p.Time, q.Step)
					}
				}
			}
		})
	}
	t.Run("hand-checked", func(t *testing.T) {
		q := storage.REDQuery{Services: []string{"hand"}, Start: a, End: a.Add(30 * time.Minute), Step: time.Minute}
		var h1, h2 storage.Histogram
		h1.AddBucket(storage.LatencyBucket(time.Millisecond), 1)
		h1.AddBucket(storage.LatencyBucket(3*time.Millisecond), 1)
		h2.AddBucket(storage.LatencyBucket(time.Millisecond), 1)
		want := []storage.REDSeries{{Service: "hand", Points: []storage.REDPoint{
			{Time: a.Add(time.Minute).UnixNano(), Calls: 2, Errors: 1, Latency: h1},
			{Time: a.Add(2 * time.Minute).UnixNano(), Calls: 1, Latency: h2},
		}}}
		if d := diffRED(red(t, s, q), want); d != "" {
			t.Errorf("RED(%+v) differs:\n%s", q, d)
		}
		if d := diffRED(wantRED(spans, q), want); d != "" {
			t.Errorf("the suite's reference differs from the hand-checked series:\n%s", d)
		}
	})
	t.Run("Copies", func(t *testing.T) {
		q := window(storage.REDQuery{Step: m})
		got := red(t, s, q)
		for i := range got {
			got[i].Service = "mutated"
			got[i].Points[0].Calls = 1 << 40
			got[i].Points[0].Latency[len(got[i].Points[0].Latency)-1] = 1 << 40
		}
		if d := diffRED(red(t, s, q), wantRED(spans, q)); d != "" {
			t.Errorf("RED after changing a result differs:\n%s", d)
		}
	})
	t.Run("InvalidQuery", func(t *testing.T) {
		for _, q := range []storage.REDQuery{
			{Start: at(0), End: at(m)},
			{Start: at(0), End: at(m), Step: -m},
			{Start: at(0), End: at(m), Step: 30 * time.Second},
			{Start: at(0), End: at(m), Step: 90 * time.Second},
			{End: at(m), Step: m},
			{Start: at(0), Step: m},
			{Start: at(m), End: at(m), Step: m},
			{Start: at(2 * m), End: at(m), Step: m},
		} {
			if _, err := s.RED(ctxFor(t), q); !errors.Is(err, storage.ErrInvalidQuery) {
				t.Errorf("RED(step %s, %s to %s): err = %v, want ErrInvalidQuery", q.Step, q.Start, q.End, err)
			}
		}
	})
}

// testREDLimits runs on a store given redLimits: an answer of more than
// MaxREDPoints points is refused, one of exactly that many is not, however
// many steps the range has.
func testREDLimits(t *testing.T, s storage.Store) {
	a := redAnchor()
	max := redLimits.MaxREDPoints
	var spans []storage.Span
	// Service "one": one span in each of max minutes; "five" the same in
	// max+1 minutes. Service "two": two operations in each of 3 minutes (6
	// points grouped, 3 not).
	for i := range max {
		spans = append(spans, mk(tid(0x62, 1, byte(i)), sid(1), storage.SpanID{}, "one", "op", storage.KindServer, a.Add(time.Duration(i)*time.Minute), time.Millisecond))
	}
	for i := range max + 1 {
		spans = append(spans, mk(tid(0x62, 5, byte(i)), sid(1), storage.SpanID{}, "five", "op", storage.KindServer, a.Add(time.Duration(i)*time.Minute), time.Millisecond))
	}
	for i := range 3 {
		for j, name := range []string{"x", "y"} {
			spans = append(spans, mk(tid(0x62, 2, byte(i), byte(j)), sid(1), storage.SpanID{}, "two", name, storage.KindServer, a.Add(time.Duration(i)*time.Minute), time.Millisecond))
		}
	}
	write(t, s, spans)
	tests := []struct {
		name string
		q    storage.REDQuery
		ok   bool
	}{
		{"exactly max", storage.REDQuery{Services: []string{"one"}, Step: time.Minute}, true},
		{"one over max", storage.REDQuery{Services: []string{"five"}, Step: time.Minute}, false},
		{"under max, grouped", storage.REDQuery{Services: []string{"two"}, Step: time.Minute}, true},
		{"over max, grouped", storage.REDQuery{Services: []string{"two"}, Step: time.Minute, GroupByOperation: true}, false},
		{"over max", storage.REDQuery{Step: time.Minute}, false},
		{"under max, longer step", storage.REDQuery{Step: 10 * time.Minute, GroupByOperation: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Start, q.End = a.Add(-time.Hour), a.Add(time.Hour) // 120 steps of a minute
			got, err := s.RED(ctxFor(t), q)
			if !tt.ok {
				if !errors.Is(err, storage.ErrInvalidQuery) {
					t.Errorf("RED(%+v) with MaxREDPoints %d: %v, err = %v; want ErrInvalidQuery", q, max, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("RED(%+v) with MaxREDPoints %d: %v", q, max, err)
			}
			if d := diffRED(got, wantRED(spans, q)); d != "" {
				t.Errorf("RED(%+v) differs:\n%s", q, d)
			}
		})
	}
}

// testREDRewritten writes a batch twice (a retry) and then a span again
// with a new name, duration and status: RED counts each span once, as its
// last version; or, with REDCountsEachWrite, once per write.
func testREDRewritten(t *testing.T, s storage.Store, c config) {
	for _, p := range redRewritten(t, s, c) {
		t.Error(p)
	}
}

// redRewritten runs the REDRewritten case and returns its problems.
func redRewritten(t *testing.T, s storage.Store, c config) []string {
	a := redAnchor()
	batch := []storage.Span{
		mk(tid(0x63, 1), sid(1), storage.SpanID{}, "svc", "op", storage.KindServer, a.Add(time.Minute), time.Millisecond),
		mk(tid(0x63, 1), sid(2), sid(1), "svc", "old-name", storage.KindServer, a.Add(time.Minute+time.Second), 5*time.Millisecond),
		mk(tid(0x63, 2), sid(1), storage.SpanID{}, "svc", "op", storage.KindServer, a.Add(3*time.Minute), 2*time.Millisecond),
	}
	write(t, s, batch)
	write(t, s, batch)
	neu := mk(tid(0x63, 1), sid(2), sid(1), "svc", "new-name", storage.KindServer, a.Add(2*time.Minute), 3*time.Second)
	neu.StatusCode = storage.StatusError
	write(t, s, []storage.Span{neu})
	last := []storage.Span{batch[0], neu, batch[2]}
	each := append(append(slices.Clone(batch), batch...), neu)

	var problems []string
	for _, q := range []storage.REDQuery{
		{Start: a, End: a.Add(10 * time.Minute), Step: time.Minute},
		{Start: a, End: a.Add(10 * time.Minute), Step: 5 * time.Minute, GroupByOperation: true},
	} {
		got := red(t, s, q)
		d := diffRED(got, wantRED(last, q))
		if d == "" {
			continue
		}
		if !c.redCountsEachWrite {
			problems = append(problems, fmt.Sprintf("RED(%+v) of rewritten spans differs from their last versions counted once:\n%s", q, d))
			continue
		}
		if d2 := diffRED(got, wantRED(each, q)); d2 != "" {
			problems = append(problems, fmt.Sprintf("RED(%+v) of rewritten spans is neither their last versions counted once:\n%s\nnor each write counted (REDCountsEachWrite):\n%s", q, d, d2))
		}
	}
	return problems
}
