package badger

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/storagetest"
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

// checkAggregates compares Dependencies and RED over many windows with
// counting the model's spans.
func checkAggregates(t *testing.T, s *Store, m *model, r *rand.Rand, base time.Time) {
	t.Helper()
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
		{Start: base.Add(3 * time.Minute), End: base.Add(2*time.Hour + 50*time.Minute), Step: 30 * time.Minute, GroupByOperation: true},
		{Start: base.Add(-27 * time.Minute), End: base.Add(3*time.Hour + 1), Step: 10 * time.Minute, Services: []string{"db"}},
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

}

// TestAggregatesMatchSpans writes random traces in random batches (children
// before parents, retried batches, rewritten spans) and checks Dependencies
// and RED against counting the spans themselves, over windows that end
// inside minutes, on minute and hour bounds, and hold whole hours.
func TestAggregatesMatchSpans(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			opts := []Option{WithSyncWrites(false)}
			if seed == 4 {
				// Badger's smallest memory table: a call takes many
				// transactions, some found too big and divided.
				opts = append(opts, WithBadgerOptions(func(o badgerdb.Options) badgerdb.Options { return o.WithMemTableSize(1 << 20) }))
			}
			s := open(t, t.TempDir(), opts...)
			m := &model{spans: map[[idLen]byte]storage.Span{}}
			base := time.Unix(0, floorTo(time.Now().Add(-5*time.Hour).UnixNano(), hourNs)).Add(17*time.Minute + 3*time.Second)
			spans := randomTraces(r, base, 150)
			if seed == 4 {
				for i := range spans {
					spans[i].Attributes = append(spans[i].Attributes, storage.Attribute{Key: "blob", Value: strings.Repeat("b", 1000+r.IntN(2000))})
				}
				m.write(t, s, spans[:len(spans)/2])
				spans = spans[len(spans)/2:]
			}
			fill(t, s, m, r, spans)
			ctx := t.Context()

			checkAggregates(t, s, m, r, base)
			hour := time.Unix(0, ceilTo(base.UnixNano(), hourNs))

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

// TestStreamTraceBatches streams a trace of 2,500 spans written in three
// calls: batches of at most storage.MaxStreamBatch, every span once, and the
// MaxTraceSpans cut exact at and around a batch boundary.
func TestStreamTraceBatches(t *testing.T) {
	spans := storagetest.NewGenerator(21).Trace(time.Now().Add(-time.Hour), 2500)
	for _, tt := range []struct {
		max       int
		want      int
		truncated bool
	}{
		{0, 2500, false},
		{2500, 2500, false},
		{2000, 2000, true},
		{1999, 1999, true},
		{1, 1, true},
	} {
		t.Run(fmt.Sprintf("max%d", tt.max), func(t *testing.T) {
			s := open(t, t.TempDir(), WithSyncWrites(false), WithReaderLimits(storage.ReaderLimits{MaxTraceSpans: tt.max}))
			for _, part := range [][]storage.Span{spans[:700], spans[700:1900], spans[1900:]} {
				if err := s.WriteSpans(t.Context(), part); err != nil {
					t.Fatal(err)
				}
			}
			var got []storage.Span
			truncated, err := s.StreamTrace(t.Context(), spans[0].TraceID, func(b []storage.Span) error {
				if len(b) == 0 || len(b) > storage.MaxStreamBatch {
					t.Errorf("batch of %d spans", len(b))
				}
				got = append(got, b...)
				return nil
			})
			if err != nil || truncated != tt.truncated || len(got) != tt.want {
				t.Fatalf("StreamTrace = %d spans, truncated %v, %v; want %d, %v", len(got), truncated, err, tt.want, tt.truncated)
			}
			seen := map[storage.SpanID]bool{}
			for _, sp := range got {
				if seen[sp.SpanID] {
					t.Fatalf("span %s passed twice", sp.SpanID)
				}
				seen[sp.SpanID] = true
			}
			if !tt.truncated {
				if d := storagetest.DiffSpans(got, spans); d != "" {
					t.Fatalf("streamed spans differ:\n%s", d)
				}
			}
			stop := errors.New("stop")
			calls := 0
			if _, err := s.StreamTrace(t.Context(), spans[0].TraceID, func([]storage.Span) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
				t.Fatalf("StreamTrace with fn failing: %d calls, err %v; want 1 call and fn's error", calls, err)
			}
			if _, err := s.StreamTrace(t.Context(), storage.TraceID{1}, func([]storage.Span) error { return nil }); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("StreamTrace(unknown) err = %v, want ErrNotFound", err)
			}
		})
	}
}

// TestResourceAttributeOverridden: a span whose own attribute has the key
// of a resource attribute with another value is found by the resource's
// value in ResourceAttributes, and by its own in Attributes.
func TestResourceAttributeOverridden(t *testing.T) {
	s := open(t, t.TempDir())
	now := time.Now().Add(-time.Minute).UnixNano()
	sp := storage.Span{
		TraceID: storage.TraceID{3, 1}, SpanID: storage.SpanID{1}, Service: "svc", Name: "op",
		StartTime: now, EndTime: now + 10,
		Resource:   []storage.Attribute{{Key: "service.name", Value: "svc"}, {Key: "host", Value: "res-host"}},
		Attributes: []storage.Attribute{{Key: "host", Value: "own-host"}},
	}
	other := sp
	other.TraceID = storage.TraceID{3, 2}
	other.Attributes = nil
	if err := s.WriteSpans(t.Context(), []storage.Span{sp, other}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		q    storage.Query
		want []storage.TraceID
	}{
		{"resource value", storage.Query{ResourceAttributes: map[string]string{"host": "res-host"}}, []storage.TraceID{{3, 2}, {3, 1}}},
		{"own value as attribute", storage.Query{Attributes: map[string]string{"host": "own-host"}}, []storage.TraceID{{3, 1}}},
		{"resource value as attribute", storage.Query{Attributes: map[string]string{"host": "res-host"}}, []storage.TraceID{{3, 2}}},
		{"own value as resource", storage.Query{ResourceAttributes: map[string]string{"host": "own-host"}}, nil},
		{"status", storage.Query{Service: "svc", Status: storage.OnlyError}, nil},
		{"status unset", storage.Query{Service: "svc", Status: storage.OnlyUnset}, []storage.TraceID{{3, 2}, {3, 1}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.FindTraceIDs(t.Context(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(got, func(a, b storage.TraceID) int { return cmp.Compare(b[1], a[1]) })
			if !slices.Equal(got, tt.want) {
				t.Fatalf("FindTraceIDs(%+v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

// TestFormatChecked: a directory of another format version is refused with
// an error that says what to do, and a new one opens again.
func TestFormatChecked(t *testing.T) {
	for _, tt := range []struct {
		name  string
		value []byte
		want  string
	}{
		{"version 9", []byte{9}, "format version [9]"},
		{"bad record", []byte{2, 0}, "format version [2 0]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, WithLogger(discard()))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.WriteSpans(t.Context(), storagetest.NewGenerator(4).Trace(time.Now(), 3)); err != nil {
				t.Fatal(err)
			}
			if err := s.db.Update(func(txn *badgerTxn) error { return txn.Set(formatKey, tt.value) }); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			_, err = Open(dir, WithLogger(discard()))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "move it aside") {
				t.Fatalf("Open(%s) err = %v, want one that says %q and what to do", tt.name, err, tt.want)
			}
		})
	}
	// A new directory, closed and opened again, opens.
	dir := t.TempDir()
	s, err := Open(dir, WithLogger(discard()))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	open(t, dir)
}

// TestAttributeListingBounded: values are listed up to MaxAttributeValues
// per key, service and hour (the store writes no more), values and keys over
// maxListed bytes are not listed, and span and resource attributes are
// listed apart.
func TestAttributeListingBounded(t *testing.T) {
	s := open(t, t.TempDir(), WithReaderLimits(storage.ReaderLimits{MaxAttributeValues: 5}))
	at := time.Unix(0, floorTo(time.Now().Add(-2*time.Hour).UnixNano(), hourNs)).Add(10 * time.Minute)
	long := strings.Repeat("x", maxListed+1)
	var spans []storage.Span
	for i := range 12 {
		spans = append(spans, storage.Span{
			TraceID: storage.TraceID{4, byte(i)}, SpanID: storage.SpanID{1}, Service: "svc", Name: "op",
			StartTime: at.Add(time.Duration(i) * time.Second).UnixNano(), EndTime: at.Add(time.Duration(i)*time.Second + 1).UnixNano(),
			Resource:   []storage.Attribute{{Key: "service.name", Value: "svc"}, {Key: "zone", Value: "z" + strconv.Itoa(i%2)}},
			Attributes: []storage.Attribute{{Key: "id", Value: fmt.Sprintf("v%02d", i)}, {Key: "long", Value: long}, {Key: long, Value: "x"}},
		})
	}
	for _, sp := range spans { // one call each: the cap holds across calls
		if err := s.WriteSpans(t.Context(), []storage.Span{sp}); err != nil {
			t.Fatal(err)
		}
	}
	q := storage.AttributeQuery{Start: at.Add(-time.Minute), End: at.Add(time.Minute)}
	keys, err := s.AttributeKeys(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"id", "long"}; !slices.Equal(keys, want) {
		t.Errorf("AttributeKeys = %q, want %q", keys, want)
	}
	q.Resource = true
	if keys, err = s.AttributeKeys(t.Context(), q); err != nil || !slices.Equal(keys, []string{"service.name", "zone"}) {
		t.Errorf("AttributeKeys(resource) = %q, %v; want [service.name zone]", keys, err)
	}
	q.Key = "zone"
	if vals, err := s.AttributeValues(t.Context(), q); err != nil || !slices.Equal(vals, []string{"z0", "z1"}) {
		t.Errorf("AttributeValues(resource zone) = %q, %v; want [z0 z1]", vals, err)
	}
	q.Resource, q.Key = false, "id"
	vals, err := s.AttributeValues(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"v00", "v01", "v02", "v03", "v04"}; !slices.Equal(vals, want) {
		t.Errorf("AttributeValues(id) = %q, want %q", vals, want)
	}
	q.Key = "long"
	if vals, err := s.AttributeValues(t.Context(), q); err != nil || len(vals) != 0 {
		t.Errorf("AttributeValues(long) = %d values, %v; want none", len(vals), err)
	}
	q.Key, q.Service = "id", "other"
	if vals, err := s.AttributeValues(t.Context(), q); err != nil || len(vals) != 0 {
		t.Errorf("AttributeValues(other service) = %q, %v; want none", vals, err)
	}
	var stored int
	if err := s.db.View(func(txn *badgerTxn) error {
		stored = len(keysWithPrefix(txn, attrValPrefix(nil, hourOf(at.UnixNano()), false, "svc", "id")))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if stored != 5 {
		t.Errorf("store holds %d values of id, want the cap, 5", stored)
	}
}

// TestChunkFoundTooBig writes spans whose index keys are far longer than
// the chunk estimate assumes (long attribute values in the keys), on
// Badger's smallest memory table: Badger refuses the first transactions as
// too big, the writer divides them, and spans and aggregates are whole.
func TestChunkFoundTooBig(t *testing.T) {
	s := open(t, t.TempDir(), WithSyncWrites(false), WithBadgerOptions(func(o badgerdb.Options) badgerdb.Options { return o.WithMemTableSize(1 << 20) }))
	at := time.Unix(0, floorTo(time.Now().Add(-time.Hour).UnixNano(), minuteNs))
	var spans []storage.Span
	for i := range 200 {
		sp := storage.Span{
			TraceID: storage.TraceID{5, byte(i)}, SpanID: storage.SpanID{1}, Service: "svc", Name: "op",
			StartTime: at.UnixNano() + int64(i), EndTime: at.UnixNano() + int64(i) + 1000,
		}
		for j := range 40 {
			sp.Attributes = append(sp.Attributes, storage.Attribute{Key: "k" + strconv.Itoa(j), Value: strings.Repeat(strconv.Itoa(i%10), maxInlineTerm-1)})
		}
		spans = append(spans, sp)
	}
	if err := s.WriteSpans(t.Context(), spans); err != nil {
		t.Fatal(err)
	}
	ids, err := s.FindTraceIDs(t.Context(), storage.Query{Service: "svc", Limit: 500})
	if err != nil || len(ids) != len(spans) {
		t.Fatalf("FindTraceIDs = %d traces, %v; want %d", len(ids), err, len(spans))
	}
	red, err := s.RED(t.Context(), storage.REDQuery{Start: at, End: at.Add(time.Minute), Step: time.Minute})
	if err != nil || len(red) != 1 || len(red[0].Points) != 1 || red[0].Points[0].Calls != uint64(len(spans)) {
		t.Fatalf("RED = %+v, %v; want one point of %d calls", red, err, len(spans))
	}
}

// TestRebuildOlderStore opens directories as version 1 left them (spans and
// indexes, no format record, no aggregates, no child index) and as a
// rebuild that did not finish left them (some aggregates): Open rebuilds
// the aggregates, which then match counting the spans, and records the
// version.
func TestRebuildOlderStore(t *testing.T) {
	for _, tt := range []struct {
		name  string
		strip bool // delete the derived keys, as version 1 had none
	}{{"version 1", true}, {"interrupted rebuild", false}} {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 8))
			dir := t.TempDir()
			s, err := Open(dir, WithSyncWrites(false), WithLogger(discard()))
			if err != nil {
				t.Fatal(err)
			}
			m := &model{spans: map[[idLen]byte]storage.Span{}}
			base := time.Unix(0, floorTo(time.Now().Add(-5*time.Hour).UnixNano(), hourNs)).Add(9*time.Minute + 5*time.Second)
			spans := randomTraces(r, base, 480)
			// Random span ids, so that children come before their parents
			// in key order too.
			remap := map[storage.SpanID]storage.SpanID{}
			for i := range spans {
				if _, ok := remap[spans[i].SpanID]; !ok {
					remap[spans[i].SpanID] = storage.SpanID{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), 3}
				}
			}
			for i := range spans {
				spans[i].SpanID = remap[spans[i].SpanID]
				if p, ok := remap[spans[i].ParentSpanID]; ok {
					spans[i].ParentSpanID = p
				}
				// A trace longer than a rebuild batch, split across batches.
				if i%3 == 0 {
					spans[i].TraceID = storage.TraceID{9, 9, 9, 1}
				}
			}
			fill(t, s, m, r, spans)
			var derived [][]byte
			if err := s.db.View(func(txn *badgerTxn) error {
				for _, p := range []byte{pChild, pRED, pEdge, pSkew, pAttrKey, pAttrVal} {
					derived = append(derived, keysWithPrefix(txn, []byte{p})...)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !tt.strip {
				derived = derived[:len(derived)/2]
			}
			if err := s.deleteKeys(append(derived, formatKey)); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = open(t, dir, WithSyncWrites(false))
			checkAggregates(t, s, m, r, base)
			keys, err := s.AttributeKeys(t.Context(), storage.AttributeQuery{Start: base, End: base.Add(4 * time.Hour)})
			if err != nil || !slices.Contains(keys, "k0") {
				t.Errorf("AttributeKeys after the rebuild = %q, %v; want k0 among them", keys, err)
			}
			var version []byte
			if err := s.db.View(func(txn *badgerTxn) error {
				item, err := txn.Get(formatKey)
				if err != nil {
					return err
				}
				version, err = item.ValueCopy(nil)
				return err
			}); err != nil || !slices.Equal(version, []byte{formatVersion}) {
				t.Fatalf("format record after the rebuild = %v, %v", version, err)
			}
			for _, sp := range m.spans {
				tr, err := s.Trace(t.Context(), sp.TraceID)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.ContainsFunc(tr.Spans, func(g storage.Span) bool {
					return g.SpanID == sp.SpanID && storagetest.DiffSpans([]storage.Span{g}, []storage.Span{sp}) == ""
				}) {
					t.Fatalf("span %s/%s differs after the rebuild", sp.TraceID, sp.SpanID)
				}
				break
			}
		})
	}
}

// TestStreamTraceSnapshot: spans rewritten or added while a trace streams
// do not show in its later batches (the stream reads the versions written
// before the call), and Close waits for a callback under way, then the
// stream stops with an error.
func TestStreamTraceSnapshot(t *testing.T) {
	s, err := Open(t.TempDir(), WithSyncWrites(false), WithLogger(discard()))
	if err != nil {
		t.Fatal(err)
	}
	spans := storagetest.NewGenerator(23).Trace(time.Now().Add(-time.Hour), 2500)
	if err := s.WriteSpans(t.Context(), spans); err != nil {
		t.Fatal(err)
	}
	changed := make([]storage.Span, len(spans))
	for i, sp := range spans {
		sp.Name = "changed"
		changed[i] = sp
	}
	extra := changed[0]
	extra.SpanID = storage.SpanID{0xff, 0xff}
	var got []storage.Span
	_, err = s.StreamTrace(t.Context(), spans[0].TraceID, func(b []storage.Span) error {
		if len(got) == 0 {
			if err := s.WriteSpans(t.Context(), append(changed, extra)); err != nil {
				return err
			}
		}
		got = append(got, b...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := storagetest.DiffSpans(got, spans); d != "" {
		t.Fatalf("StreamTrace while the trace is rewritten differs from the versions before the call:\n%s", d)
	}

	entered, release := make(chan struct{}), make(chan struct{})
	streamed := make(chan error, 1)
	go func() {
		_, err := s.StreamTrace(t.Context(), spans[0].TraceID, func([]storage.Span) error {
			close(entered)
			<-release
			return nil
		})
		streamed <- err
	}()
	<-entered
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for {
		s.mu.RLock()
		c := s.closed
		s.mu.RUnlock()
		if c {
			break
		}
		runtime.Gosched()
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a stream's callback runs", err)
	default:
	}
	close(release)
	if err := <-streamed; !errors.Is(err, errClosed) {
		t.Errorf("StreamTrace stopped by Close: err = %v, want the closed store's error", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
}
