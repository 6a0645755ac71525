package badger

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// model is what a store should hold: the last version of every span
// written, and every attribute a version carried (listings keep what was
// seen).
type model struct {
	spans map[[idLen]byte]storage.Span
	seen  []storage.Span
}

func (m *model) write(t *testing.T, s *Store, batch []storage.Span) {
	t.Helper()
	if err := s.WriteSpans(t.Context(), batch); err != nil {
		t.Fatalf("WriteSpans(%d spans): %v", len(batch), err)
	}
	for _, sp := range batch {
		m.spans[ids(&sp)] = sp
		m.seen = append(m.seen, sp)
	}
}

// randomTraces makes traces over three hours from base: parents in other
// services and in the same, children that start before their parent,
// children whose parent is never written, errors.
func randomTraces(r *rand.Rand, base time.Time, traces int) []storage.Span {
	services := []string{"front", "back", "db", "cache"}
	ops := []string{"get", "put", "list"}
	var out []storage.Span
	for range traces {
		var tid storage.TraceID
		for tid.IsZero() {
			tid = storage.TraceID{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), 1}
		}
		n := 1 + r.IntN(12)
		root := base.UnixNano() + r.Int64N(int64(3*time.Hour))
		var spans []storage.Span
		for i := range n {
			sp := storage.Span{
				TraceID: tid,
				SpanID:  storage.SpanID{byte(i + 1), byte(r.Uint32()), 7},
				Name:    ops[r.IntN(len(ops))],
				Kind:    storage.SpanKind(1 + r.IntN(5)),
				Service: services[r.IntN(len(services))],
			}
			sp.StartTime = root
			if i > 0 {
				p := &spans[r.IntN(i)]
				sp.ParentSpanID = p.SpanID
				sp.StartTime = p.StartTime + r.Int64N(int64(2*time.Second))
				if r.IntN(10) == 0 {
					sp.StartTime = p.StartTime - r.Int64N(int64(90*time.Second)) // skewed clocks
				}
				if r.IntN(12) == 0 {
					sp.ParentSpanID = storage.SpanID{0xee, byte(r.Uint32())} // never written
				}
			}
			sp.EndTime = sp.StartTime + r.Int64N(int64(3*time.Second))
			if r.IntN(5) == 0 {
				sp.StatusCode = storage.StatusError
			} else if r.IntN(3) == 0 {
				sp.StatusCode = storage.StatusOK
			}
			sp.Resource = []storage.Attribute{
				{Key: "service.name", Value: sp.Service},
				{Key: "host", Value: "h" + strconv.Itoa(r.IntN(3))},
			}
			sp.Attributes = []storage.Attribute{{Key: "k" + strconv.Itoa(r.IntN(3)), Value: "v" + strconv.Itoa(r.IntN(4))}}
			if r.IntN(8) == 0 {
				sp.Attributes = append(sp.Attributes, storage.Attribute{Key: "host", Value: "own"})
			}
			spans = append(spans, sp)
		}
		out = append(out, spans...)
	}
	return out
}

// fill writes spans in random order and batches, some batches twice (a
// retry), then rewrites some spans with other content.
func fill(t *testing.T, s *Store, m *model, r *rand.Rand, spans []storage.Span) {
	t.Helper()
	spans = slices.Clone(spans)
	r.Shuffle(len(spans), func(i, j int) { spans[i], spans[j] = spans[j], spans[i] })
	for len(spans) > 0 {
		n := min(len(spans), 1+r.IntN(60))
		batch := spans[:n]
		spans = spans[n:]
		m.write(t, s, batch)
		if r.IntN(4) == 0 {
			m.write(t, s, batch)
		}
	}
	var all []storage.Span
	for _, sp := range m.spans {
		all = append(all, sp)
	}
	slices.SortFunc(all, func(a, b storage.Span) int {
		return cmp.Compare(string(a.SpanID[:])+string(a.TraceID[:]), string(b.SpanID[:])+string(b.TraceID[:]))
	})
	var rewrites []storage.Span
	for range len(all) / 5 {
		sp := all[r.IntN(len(all))]
		switch r.IntN(6) {
		case 0:
			sp.Service = "moved"
		case 1:
			sp.StartTime += r.Int64N(int64(10 * time.Minute))
			sp.EndTime = sp.StartTime + 1000
		case 2:
			sp.StatusCode = storage.StatusError
		case 3:
			sp.Name = "renamed"
		case 4:
			sp.ParentSpanID = storage.SpanID{}
		case 5:
			sp.Attributes = []storage.Attribute{{Key: "k9", Value: "new"}}
		}
		rewrites = append(rewrites, sp)
	}
	for len(rewrites) > 0 {
		n := min(len(rewrites), 1+r.IntN(20))
		m.write(t, s, rewrites[:n])
		rewrites = rewrites[n:]
	}
}

func (m *model) dependencies(t *testing.T, end time.Time, lookback time.Duration) []storage.Dependency {
	c, err := storage.NewDependencyCounter(end, lookback)
	if err != nil {
		t.Fatal(err)
	}
	for id, sp := range m.spans {
		if sp.ParentSpanID.IsZero() || !c.InWindow(sp.StartTime) {
			continue
		}
		var pid [idLen]byte
		copy(pid[:], id[:16])
		copy(pid[16:], sp.ParentSpanID[:])
		if p, ok := m.spans[pid]; ok {
			c.Count(p.Service, p.StartTime, sp.Service, sp.StatusCode)
		}
	}
	return c.Dependencies()
}

func (m *model) red(q storage.REDQuery) []storage.REDSeries {
	lo, hi := floorTo(q.Start.UnixNano(), minuteNs), floorTo(q.End.UnixNano(), minuteNs)
	series := map[[2]string]map[int64]*storage.REDPoint{}
	for _, sp := range m.spans {
		switch {
		case sp.StartTime < lo || sp.StartTime >= hi,
			len(q.Services) > 0 && !slices.Contains(q.Services, sp.Service),
			len(q.Kinds) > 0 && !slices.Contains(q.Kinds, sp.Kind),
			q.Operation != "" && sp.Name != q.Operation:
			continue
		}
		k := [2]string{sp.Service, ""}
		if q.GroupByOperation {
			k[1] = sp.Name
		}
		if series[k] == nil {
			series[k] = map[int64]*storage.REDPoint{}
		}
		at := floorTo(sp.StartTime, int64(q.Step))
		p := series[k][at]
		if p == nil {
			p = &storage.REDPoint{Time: at}
			series[k][at] = p
		}
		p.Calls++
		if sp.StatusCode == storage.StatusError {
			p.Errors++
		}
		p.Latency.Add(sp.Duration())
	}
	var out []storage.REDSeries
	for k, pts := range series {
		sr := storage.REDSeries{Service: k[0], Operation: k[1]}
		for _, p := range pts {
			sr.Points = append(sr.Points, *p)
		}
		slices.SortFunc(sr.Points, func(a, b storage.REDPoint) int { return cmp.Compare(a.Time, b.Time) })
		out = append(out, sr)
	}
	slices.SortFunc(out, func(a, b storage.REDSeries) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Operation, b.Operation))
	})
	return out
}

func diffRED(got, want []storage.REDSeries) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d series, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Service != w.Service || g.Operation != w.Operation || len(g.Points) != len(w.Points) {
			return fmt.Sprintf("series %d: %s/%s with %d points, want %s/%s with %d", i, g.Service, g.Operation, len(g.Points), w.Service, w.Operation, len(w.Points))
		}
		for j := range g.Points {
			gp, wp := g.Points[j], w.Points[j]
			if gp.Time != wp.Time || gp.Calls != wp.Calls || gp.Errors != wp.Errors || !slices.Equal(trim(gp.Latency), trim(wp.Latency)) {
				return fmt.Sprintf("series %s/%s point %d: %+v, want %+v", g.Service, g.Operation, j, gp, wp)
			}
		}
	}
	return ""
}

func trim(h storage.Histogram) storage.Histogram {
	for len(h) > 0 && h[len(h)-1] == 0 {
		h = h[:len(h)-1]
	}
	return h
}

// TestAggregatesMatchSpans writes random traces in random batches (children
// before parents, retried batches, rewritten spans) and checks Dependencies
// and RED against counting the spans themselves, over windows that end
// inside minutes, on minute and hour bounds, and hold whole hours.
func TestAggregatesMatchSpans(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			s := open(t, t.TempDir(), WithSyncWrites(false))
			m := &model{spans: map[[idLen]byte]storage.Span{}}
			base := time.Unix(0, floorTo(time.Now().Add(-5*time.Hour).UnixNano(), hourNs)).Add(17*time.Minute + 3*time.Second)
			fill(t, s, m, r, randomTraces(r, base, 150))
			ctx := t.Context()

			hour := time.Unix(0, ceilTo(base.UnixNano(), hourNs))
			windows := []struct {
				name     string
				end      time.Time
				lookback time.Duration
			}{
				{"everything", base.Add(5 * time.Hour), 6 * time.Hour},
				{"whole hours", hour.Add(2*time.Hour - 1), 2*time.Hour - 1},
				{"whole minutes", hour.Add(47*time.Minute - 1), 31*time.Minute - 1},
				{"zero lookback", base, 0},
				{"inside one minute", hour.Add(90 * time.Second), 20 * time.Second},
			}
			for i := range 25 {
				end := base.Add(time.Duration(r.Int64N(int64(3*time.Hour + 10*time.Minute))))
				lb := time.Duration(r.Int64N(int64(3 * time.Hour)))
				windows = append(windows, struct {
					name     string
					end      time.Time
					lookback time.Duration
				}{fmt.Sprintf("random %d", i), end, lb})
			}
			for _, w := range windows {
				got, err := s.Dependencies(ctx, w.end, w.lookback)
				if err != nil {
					t.Fatalf("Dependencies(%s): %v", w.name, err)
				}
				if want := m.dependencies(t, w.end, w.lookback); !slices.Equal(got, want) {
					t.Errorf("Dependencies(%s: end %s, lookback %s)\n got %+v\nwant %+v", w.name, w.end.Format(time.RFC3339Nano), w.lookback, got, want)
				}
			}

			queries := []storage.REDQuery{
				{Start: base.Add(-time.Hour), End: base.Add(4 * time.Hour), Step: time.Hour},
				{Start: base.Add(-time.Hour), End: base.Add(4 * time.Hour), Step: time.Hour, GroupByOperation: true},
				{Start: base, End: base.Add(3 * time.Hour), Step: 2 * time.Hour, Services: []string{"front", "db"}},
				{Start: base.Add(7 * time.Minute), End: base.Add(2*time.Hour + 13*time.Minute + 5*time.Second), Step: time.Minute, GroupByOperation: true},
				{Start: base, End: base.Add(3 * time.Hour), Step: 5 * time.Minute, Kinds: []storage.SpanKind{storage.KindServer, storage.KindClient}},
				{Start: base, End: base.Add(3 * time.Hour), Step: time.Hour, Operation: "get", Services: []string{"back"}},
				{Start: hour, End: hour.Add(3 * time.Hour), Step: 3 * time.Hour, GroupByOperation: true, Services: []string{"moved", "cache"}},
			}
			for i, q := range queries {
				got, err := s.RED(ctx, q)
				if err != nil {
					t.Fatalf("RED(query %d): %v", i, err)
				}
				if d := diffRED(got, m.red(q)); d != "" {
					t.Errorf("RED(query %d: %+v): %s", i, q, d)
				}
			}

			// Purge drops the aggregates of the whole buckets before the
			// cut; a window after the cut's hour still counts exactly.
			cut := hour.Add(time.Hour + 30*time.Minute)
			if err := s.Purge(ctx, cut); err != nil {
				t.Fatal(err)
			}
			// Children after the cut whose parent was purged stay counted
			// (see Purge): the window after the cut's hour holds only
			// whole minutes, so count with the parents.
			after := time.Unix(0, ceilTo(cut.UnixNano(), hourNs))
			end := base.Add(6 * time.Hour)
			want := m.dependencies(t, end, end.Sub(after))
			for id, sp := range m.spans {
				if sp.StartTime < cut.UnixNano() {
					delete(m.spans, id)
				}
			}
			got, err := s.Dependencies(ctx, end, end.Sub(after))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("Dependencies after Purge\n got %+v\nwant %+v", got, want)
			}
			if got, err := s.Dependencies(ctx, cut.Add(-time.Minute), 10*time.Hour); err != nil || len(got) != 0 {
				t.Errorf("Dependencies before the cut after Purge = %+v, %v; want none", got, err)
			}
			q := storage.REDQuery{Start: after, End: end, Step: time.Hour, GroupByOperation: true}
			gotRED, err := s.RED(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffRED(gotRED, m.red(q)); d != "" {
				t.Errorf("RED after Purge: %s", d)
			}
			before := storage.REDQuery{Start: base.Add(-time.Hour), End: time.Unix(0, floorTo(cut.UnixNano(), minuteNs)), Step: time.Minute}
			if gotRED, err := s.RED(ctx, before); err != nil || len(gotRED) != 0 {
				t.Errorf("RED before the cut after Purge = %d series, %v; want none", len(gotRED), err)
			}
		})
	}
}
