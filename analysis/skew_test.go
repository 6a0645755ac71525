package analysis

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

const ms = int64(time.Millisecond)

// skewSim plays out calls between instances in true time and records the
// spans each instance would store: timestamps shifted by the instance's
// clock offset, and the vector clock attributes Tracer's SDK writes (one
// clock per process; a span's start ticks it; a request carries the
// caller's clock and an answer the server's). Instances in noClock run
// plain OpenTelemetry: no clock on their spans, none on their messages.
type skewSim struct {
	off     map[string]int64
	noClock map[string]bool
	// pruned nodes mark their clocks pruned (as the SDK does past a hop
	// without clocks, or past its limit).
	pruned map[string]bool
	clocks map[string]*vclock.Clock
	spans  []storage.Span
	node   []string
	tick   []uint64
	deps   []string
}

func newSkewSim(off map[string]int64, noClock ...string) *skewSim {
	s := &skewSim{off: off, noClock: map[string]bool{}, clocks: map[string]*vclock.Clock{}}
	for _, n := range noClock {
		s.noClock[n] = true
	}
	return s
}

// depsOf is the text of c without node's entry.
func depsOf(c vclock.Clock, node string) string {
	var parts []string
	for n, v := range c.All() {
		if n != node {
			parts = append(parts, n+":"+strconv.FormatUint(v, 10))
		}
	}
	if c.Pruned() && len(parts) > 0 {
		return "!" + strings.Join(parts, ",")
	}
	return strings.Join(parts, ",")
}

// msg is the clock a message from node carries (nil without a clock).
func (s *skewSim) msg(node string) *vclock.Clock {
	if s.noClock[node] {
		return nil
	}
	c := s.clock(node).Copy()
	return &c
}

func (s *skewSim) clock(node string) *vclock.Clock {
	c := s.clocks[node]
	if c == nil {
		v := vclock.New(vclock.MaxLimit)
		c = &v
		s.clocks[node] = c
	}
	return c
}

// start starts a span on node at true time at, under parent (-1: a root),
// having received m (nil: nothing received).
func (s *skewSim) start(node string, kind storage.SpanKind, parent int, at int64, m *vclock.Clock) int {
	i := len(s.spans)
	sp := storage.Span{
		TraceID:   storage.TraceID{1},
		SpanID:    storage.SpanID{0, 0, 0, 0, byte(i >> 16), byte(i >> 8), byte(i), 1},
		Name:      node + "-" + strconv.Itoa(i),
		Kind:      kind,
		StartTime: at + s.off[node],
		Service:   node,
		Resource:  []storage.Attribute{{Key: "service.name", Value: node}, {Key: "service.instance.id", Value: node}},
	}
	if parent >= 0 {
		sp.ParentSpanID = s.spans[parent].SpanID
	}
	var tick uint64
	var deps string
	if !s.noClock[node] {
		c := s.clock(node)
		if m != nil {
			c.Merge(*m)
		}
		if s.pruned[node] {
			c.MarkPruned()
		}
		tick = c.Tick(node)
		deps = depsOf(*c, node)
		sp.Attributes = append(sp.Attributes,
			storage.Attribute{Key: vclock.AttrNode, Value: node},
			storage.Attribute{Key: vclock.AttrTick, Type: storage.TypeInt, Value: strconv.FormatUint(tick, 10)})
		if deps != "" {
			sp.Attributes = append(sp.Attributes, storage.Attribute{Key: vclock.AttrDeps, Value: deps})
		}
	}
	s.spans = append(s.spans, sp)
	s.node, s.tick, s.deps = append(s.node, node), append(s.tick, tick), append(s.deps, deps)
	return i
}

// end ends span i at true time at, having received m (an answer) first.
func (s *skewSim) end(i int, at int64, m *vclock.Clock) {
	node := s.node[i]
	sp := &s.spans[i]
	sp.EndTime = at + s.off[node]
	if s.noClock[node] {
		return
	}
	c := s.clock(node)
	if m != nil {
		c.Merge(*m)
	}
	if c.Get(node) != s.tick[i] {
		sp.Attributes = append(sp.Attributes, storage.Attribute{Key: vclock.AttrEndTick, Type: storage.TypeInt, Value: strconv.FormatUint(c.Get(node), 10)})
	}
	if d := depsOf(*c, node); d != s.deps[i] {
		sp.Attributes = append(sp.Attributes, storage.Attribute{Key: vclock.AttrEndDeps, Value: d})
	}
}

// call is a synchronous call from a client span on from (under parent) to
// a server span on to: the request takes lat, the server works for work
// (calling inner at the true time it starts, if set), the answer takes lat.
// It returns the client and server spans.
func (s *skewSim) call(from, to string, parent int, at, lat, work int64, inner func(server int, at int64)) (int, int) {
	c := s.start(from, storage.KindClient, parent, at, nil)
	srv := s.start(to, storage.KindServer, c, at+lat, s.msg(from))
	if inner != nil {
		inner(srv, at+lat)
	}
	s.end(srv, at+lat+work, nil)
	s.end(c, at+2*lat+work, s.msg(to))
	return c, srv
}

// local records a span of work on node under parent, from at for d.
func (s *skewSim) local(node string, parent int, at, d int64) int {
	i := s.start(node, storage.KindInternal, parent, at, nil)
	s.end(i, at+d, nil)
	return i
}

func (s *skewSim) trace() *Trace { return NewTrace(s.spans) }

// instanceOf returns the index of the instance named node.
func instanceOf(t *testing.T, tr *Trace, node string) int32 {
	t.Helper()
	for i, in := range tr.Instances {
		if in.Service == node {
			return int32(i)
		}
	}
	t.Fatalf("no instance %q", node)
	return -1
}

// pairName names a pair by its services, in alphabetical order.
func pairName(tr *Trace, p SkewPair) string {
	a, b := tr.Instances[p.A].Service, tr.Instances[p.B].Service
	if a > b {
		a, b = b, a
	}
	return a + ">" + b
}

// checkAdjusted checks that the adjusted view contradicts no constraint
// of a pair that is not contradicted.
func checkAdjusted(t *testing.T, r *SkewReport, tr *Trace) {
	t.Helper()
	adj := r.Adjusted()
	for _, c := range skewConstraints(NewCausal(tr)) {
		a, b := pairOf(tr, c)
		contra := r.Instances[a].Contradicted || r.Instances[b].Contradicted
		for _, p := range r.Pairs {
			if p.A == a && p.B == b && p.Confidence == ConfidenceContradicted {
				contra = true
			}
		}
		if contra {
			continue
		}
		at := func(e Event) int64 {
			if e.End {
				return adj[e.Span].End
			}
			return adj[e.Span].Start
		}
		if at(c.After) < at(c.Before) {
			t.Errorf("adjusted, %s %v (%d) is still before %v (%d)", c.Via, c.After, at(c.After), c.Before, at(c.Before))
		}
	}
	for i := range tr.Spans {
		want := -r.Instances[tr.Instance[i]].Offset
		if adj[i].Shift != want || adj[i].Adjusted != (want != 0) {
			t.Errorf("span %d: adjusted %+v, want shift %v", i, adj[i], want)
		}
		if adj[i].Start != tr.Spans[i].StartTime+int64(want) || adj[i].End != tr.Spans[i].EndTime+int64(want) {
			t.Errorf("span %d: adjusted %+v, recorded [%d, %d], shift %v", i, adj[i], tr.Spans[i].StartTime, tr.Spans[i].EndTime, want)
		}
	}
}

func TestSkew(t *testing.T) {
	// A front end "a" calls "b", which calls "c"; "a" also calls "d".
	// b works 5ms and does local work near its end, so both directions
	// bound a-b tightly.
	chain := func(s *skewSim) {
		root := s.start("a", storage.KindServer, -1, 0, nil)
		s.call("a", "b", root, 1*ms, ms, 5*ms, func(srv int, at int64) {
			s.call("b", "c", srv, at+ms, ms/2, ms, nil)
			s.local("b", srv, at+4*ms, ms-ms/10)
		})
		s.call("a", "d", root, 10*ms, 2*ms, 3*ms, func(srv int, at int64) {
			s.local("d", srv, at+2*ms, ms)
		})
		s.end(root, 20*ms, nil)
	}
	tests := []struct {
		name      string
		off       map[string]int64
		noClock   []string
		build     func(s *skewSim)
		wantSkew  []string                 // pairs "x>y" that must show violations
		wantNone  bool                     // no pair shows a violation
		wantConf  map[string]Confidence    // "x>y" → confidence
		tightness int64                    // every two-sided interval of a direct pair at most this wide (0: unchecked)
		direct    map[string]bool          // the pairs that call each other
		offset    map[string]time.Duration // known estimates, worked out by hand
	}{
		{name: "no skew", off: map[string]int64{}, build: chain, wantNone: true, tightness: 5 * ms},
		// From a, b's range is at most its server start − a's call start
		// (52ms − 1ms), at least its last start (56ms) − a's call end
		// (8ms): [48ms, 51ms]. c's range allows 0, so c keeps its clock,
		// and then b's call to c (b's start 53ms, c's 3.5ms) puts b at
		// least 49.5ms ahead.
		{name: "positive", off: map[string]int64{"b": 50 * ms}, build: chain, wantSkew: []string{"a>b", "b>c"}, tightness: 5 * ms,
			offset: map[string]time.Duration{"a": 0, "b": 49500 * time.Microsecond, "c": 0, "d": 0}},
		// From a, b's range is [(6ms − 30ms) − 8ms, (2ms − 30ms) − 1ms] =
		// [−32ms, −29ms]; with c at 0, b's call to c allows [−30.5ms,
		// −28.5ms] of it: −29ms is the least shift.
		{name: "negative", off: map[string]int64{"b": -30 * ms}, build: chain, wantSkew: []string{"a>b", "b>c"}, tightness: 5 * ms,
			offset: map[string]time.Duration{"a": 0, "b": -29 * time.Millisecond, "c": 0, "d": 0}},
		{name: "several at once", off: map[string]int64{"b": 20 * ms, "c": -40 * ms, "d": 7 * ms}, build: chain,
			wantSkew: []string{"a>b", "b>c", "a>d"}, wantConf: map[string]Confidence{"a>b": ConfidenceMedium, "a>d": ConfidenceMedium}},
		{name: "three calls: high confidence", off: map[string]int64{"b": 15 * ms},
			build: func(s *skewSim) {
				root := s.start("a", storage.KindServer, -1, 0, nil)
				for i := range int64(3) {
					s.call("a", "b", root, (1+10*i)*ms, ms, 5*ms, nil)
				}
				s.end(root, 40*ms, nil)
			},
			wantSkew: []string{"a>b"}, wantConf: map[string]Confidence{"a>b": ConfidenceHigh}, tightness: 8 * ms},
		{name: "sub-millisecond", off: map[string]int64{"b": 5 * ms / 2}, build: chain, wantSkew: []string{"a>b"}, tightness: 5 * ms},
		{name: "hop without clocks", off: map[string]int64{"b": -25 * ms}, noClock: []string{"b"}, build: chain,
			wantSkew: []string{"a>b", "b>c"}, tightness: 5 * ms},
		{name: "pruned clocks", off: map[string]int64{"b": 35 * ms, "c": -20 * ms}, build: func(s *skewSim) {
			s.pruned = map[string]bool{"b": true, "c": true}
			chain(s)
		}, wantSkew: []string{"a>b", "b>c"}, tightness: 5 * ms},
		{name: "async consumer behind: one direction", off: map[string]int64{"q": -100 * ms},
			build: func(s *skewSim) {
				root := s.start("a", storage.KindServer, -1, 0, nil)
				p := s.start("a", storage.KindProducer, root, ms, nil)
				s.end(p, 2*ms, nil)
				s.end(root, 3*ms, nil)
				cons := s.start("q", storage.KindConsumer, p, 50*ms, s.msg("a"))
				s.end(cons, 60*ms, nil)
			},
			wantSkew: []string{"a>q"}, wantConf: map[string]Confidence{"a>q": ConfidenceLow}},
		{name: "async consumer ahead: one direction, no violation", off: map[string]int64{"q": 100 * ms},
			build: func(s *skewSim) {
				root := s.start("a", storage.KindServer, -1, 0, nil)
				p := s.start("a", storage.KindProducer, root, ms, nil)
				s.end(p, 2*ms, nil)
				s.end(root, 3*ms, nil)
				cons := s.start("q", storage.KindConsumer, p, 50*ms, s.msg("a"))
				s.end(cons, 60*ms, nil)
			},
			wantNone: true, wantConf: map[string]Confidence{"a>q": ConfidenceLow}},
	}
	calls := map[string]bool{"a>b": true, "b>c": true, "a>d": true}
	for _, tt := range tests {
		if tt.direct == nil {
			tt.direct = calls
		}
		t.Run(tt.name, func(t *testing.T) {
			s := newSkewSim(tt.off, tt.noClock...)
			tt.build(s)
			tr := s.trace()
			pruned := 0
			for i, sp := range tr.Spans {
				if !s.noClock[sp.Service] && !tr.ClockOK[i] {
					t.Fatalf("span %d of %s: no clock", i, sp.Service)
				}
				if tr.ClockOK[i] && tr.Clocks[i].Start.Pruned() {
					pruned++
				}
			}
			if (pruned > 0) != (len(s.pruned) > 0) {
				t.Fatalf("%d spans with pruned clocks, pruned nodes %v", pruned, s.pruned)
			}
			r := Skew(NewCausal(tr))
			if r.Reference != instanceOf(t, tr, "a") {
				t.Errorf("reference %d, want a's instance", r.Reference)
			}
			skewed := map[string]bool{}
			for _, p := range r.Pairs {
				name := pairName(tr, p)
				truth := time.Duration(tt.off[tr.Instances[p.B].Service] - tt.off[tr.Instances[p.A].Service])
				if !p.Skew.Contains(truth) {
					t.Errorf("%s: skew %+v does not contain the true %v", name, p.Skew, truth)
				}
				if p.Skewed() != !(p.Skew.Contains(0)) {
					t.Errorf("%s: Skewed %v but the interval %+v", name, p.Skewed(), p.Skew)
				}
				if p.Skewed() {
					skewed[name] = true
					if len(p.Violations) == 0 || p.Violations[0].Bound >= 0 {
						t.Errorf("%s: skewed without a violation listed: %+v", name, p.Violations)
					}
				}
				if tt.tightness > 0 && tt.direct[name] && p.Skew.HasLo && p.Skew.HasHi && p.Skew.Hi-p.Skew.Lo > time.Duration(tt.tightness) {
					t.Errorf("%s: interval %+v is wider than %v", name, p.Skew, time.Duration(tt.tightness))
				}
				if c, ok := tt.wantConf[name]; ok && p.Confidence != c {
					t.Errorf("%s: confidence %s, want %s", name, p.Confidence, c)
				}
				if p.Skew.HasHi && tr.Instance[p.TightestHi.Before.Span] != p.A {
					t.Errorf("%s: tightest upper bound %+v is not from A", name, p.TightestHi)
				}
				if p.Skew.HasLo && tr.Instance[p.TightestLo.Before.Span] != p.B {
					t.Errorf("%s: tightest lower bound %+v is not from B", name, p.TightestLo)
				}
			}
			for _, name := range tt.wantSkew {
				if !skewed[name] {
					t.Errorf("%s: no skew reported, want some", name)
				}
			}
			if tt.wantNone && len(skewed) > 0 {
				t.Errorf("skew reported for %v, want none", skewed)
			}
			for i, in := range tr.Instances {
				is := r.Instances[i]
				if is.Contradicted {
					t.Errorf("%s: contradicted", in.Service)
				}
				truth := time.Duration(tt.off[in.Service] - tt.off["a"])
				if !is.Range.Contains(truth) {
					t.Errorf("%s: range %+v does not contain the true offset %v", in.Service, is.Range, truth)
				}
				if !is.Range.Contains(is.Offset) {
					t.Errorf("%s: offset %v outside its range %+v", in.Service, is.Offset, is.Range)
				}
				if want, ok := tt.offset[in.Service]; ok && is.Offset != want {
					t.Errorf("%s: offset %v, want %v", in.Service, is.Offset, want)
				}
				if tt.wantNone && is.Offset != 0 {
					t.Errorf("%s: offset %v with no skew", in.Service, is.Offset)
				}
			}
			checkAdjusted(t, r, tr)
		})
	}
}

// Which constraints a hop yields: clocks both ways when they travel; the
// call and the reply (structure) when they do not.
func TestSkewReasons(t *testing.T) {
	tests := []struct {
		name    string
		noClock []string
		want    map[string]bool
	}{
		{"clocks", nil, map[string]bool{ViaClock: true}}, // the call is also a clock order
		{"server without clock", []string{"b"}, map[string]bool{ViaCall: true, ViaReply: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSkewSim(map[string]int64{"b": 40 * ms}, tt.noClock...)
			root := s.start("a", storage.KindServer, -1, 0, nil)
			s.call("a", "b", root, ms, ms, 3*ms, nil)
			s.end(root, 10*ms, nil)
			tr := s.trace()
			got := map[string]bool{}
			for _, c := range skewConstraints(NewCausal(tr)) {
				got[c.Via] = true
			}
			if len(got) != len(tt.want) {
				t.Errorf("reasons %v, want %v", got, tt.want)
			}
			for k := range tt.want {
				if !got[k] {
					t.Errorf("reasons %v, want %v", got, tt.want)
				}
			}
			r := Skew(NewCausal(tr))
			if len(r.Pairs) != 1 || !r.Pairs[0].Skew.HasLo || !r.Pairs[0].Skew.HasHi {
				t.Fatalf("pairs %+v, want one bounded both ways", r.Pairs)
			}
			if p := r.Pairs[0]; !p.Skew.Contains(40 * time.Millisecond) {
				t.Errorf("skew %+v, want it to contain 40ms", p.Skew)
			}
		})
	}
}

// Two calls between the same instances whose skew drifted (b's clock was
// set back by 100ms between them): no constant offset explains both, and
// Skew says so rather than invent one.
func TestSkewContradicted(t *testing.T) {
	s := newSkewSim(map[string]int64{"b": 50 * ms})
	root := s.start("a", storage.KindServer, -1, 0, nil)
	s.call("a", "b", root, ms, ms, 3*ms, nil)
	s.off["b"] = -50 * ms
	s.call("a", "b", root, 10*ms, ms, 3*ms, nil)
	s.end(root, 20*ms, nil)
	tr := s.trace()
	r := Skew(NewCausal(tr))
	if len(r.Pairs) != 1 {
		t.Fatalf("%d pairs, want 1", len(r.Pairs))
	}
	p := r.Pairs[0]
	if p.Confidence != ConfidenceContradicted || !p.Skew.Empty() {
		t.Errorf("pair %+v, want contradicted", p)
	}
	b := r.Instances[instanceOf(t, tr, "b")]
	if b.Offset != 0 || b.Range.HasLo || b.Range.HasHi {
		t.Errorf("b: %+v, want no estimate", b)
	}
}

// A cycle of three instances whose pairs each look consistent but whose
// orders together admit no offsets: its instances are contradicted.
func TestSkewContradictedCycle(t *testing.T) {
	// Recorded times: a→b says b ≤ a+(-10); b→c says c ≤ b+(-10); c→a
	// says a ≤ c+(-10): summing, 0 ≤ -30.
	sp := func(id byte, inst string, start int64, parent byte, kind storage.SpanKind) storage.Span {
		s := storage.Span{TraceID: storage.TraceID{1}, SpanID: sid(id), Service: inst, StartTime: start, EndTime: start + 1, Kind: kind}
		if parent != 0 {
			s.ParentSpanID = sid(parent)
		}
		return s
	}
	spans := []storage.Span{
		sp(1, "a", 100, 0, storage.KindProducer),
		sp(2, "b", 90, 1, storage.KindConsumer), // b − a ≤ −10
		sp(3, "b", 200, 0, storage.KindProducer),
		sp(4, "c", 190, 3, storage.KindConsumer), // c − b ≤ −10
		sp(5, "c", 300, 0, storage.KindProducer),
		sp(6, "a", 290, 5, storage.KindConsumer), // a − c ≤ −10
	}
	tr := NewTrace(spans)
	r := Skew(NewCausal(tr))
	for _, p := range r.Pairs {
		if p.Confidence == ConfidenceContradicted {
			t.Errorf("pair %d-%d contradicted alone, want only the cycle to be", p.A, p.B)
		}
	}
	for i, in := range tr.Instances {
		if !r.Instances[i].Contradicted {
			t.Errorf("%s: %+v, want contradicted", in.Service, r.Instances[i])
		}
	}
	_ = r.Adjusted()
}

// Bad input never panics, and gives no estimate it cannot back.
func TestSkewBadInput(t *testing.T) {
	tests := []struct {
		name  string
		spans []storage.Span
	}{
		{"empty", nil},
		{"one span", []storage.Span{{SpanID: sid(1), Service: "a", StartTime: 5, EndTime: 1}}},
		{"absurd times", []storage.Span{
			{SpanID: sid(1), Service: "a", StartTime: math.MaxInt64, EndTime: math.MinInt64, Kind: storage.KindClient},
			{SpanID: sid(2), ParentSpanID: sid(1), Service: "b", StartTime: math.MinInt64, EndTime: math.MaxInt64, Kind: storage.KindServer},
			{SpanID: sid(3), ParentSpanID: sid(2), Service: "c", StartTime: math.MaxInt64, EndTime: math.MaxInt64, Kind: storage.KindClient},
			{SpanID: sid(4), ParentSpanID: sid(3), Service: "a", StartTime: math.MinInt64, EndTime: math.MinInt64, Kind: storage.KindServer},
		}},
		{"malformed clock", []storage.Span{
			{SpanID: sid(1), Service: "a", Attributes: []storage.Attribute{{Key: vclock.AttrNode, Value: "a"}, {Key: vclock.AttrTick, Value: "x"}}},
			{SpanID: sid(2), ParentSpanID: sid(1), Service: "b", Attributes: []storage.Attribute{{Key: vclock.AttrNode, Value: "b"}, {Key: vclock.AttrTick, Value: "1"}, {Key: vclock.AttrDeps, Value: "a:99"}}},
		}},
		{"link to itself and elsewhere", []storage.Span{
			{SpanID: sid(1), Service: "a", Links: []storage.Link{{SpanID: sid(1)}, {SpanID: sid(9)}, {TraceID: storage.TraceID{9}, SpanID: sid(2)}}},
			{SpanID: sid(2), Service: "b"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTrace(tt.spans)
			r := Skew(NewCausal(tr))
			if len(r.Instances) != len(tr.Instances) {
				t.Errorf("%d instance estimates for %d instances", len(r.Instances), len(tr.Instances))
			}
			if got := r.Adjusted(); len(got) != tr.Len() {
				t.Errorf("%d adjusted spans for %d", len(got), tr.Len())
			}
			if tr.Len() == 0 && r.Reference != -1 {
				t.Errorf("reference %d for an empty trace", r.Reference)
			}
		})
	}
}

func TestInterval(t *testing.T) {
	tests := []struct {
		name    string
		iv      Interval
		in, out []time.Duration
		nearest map[time.Duration]time.Duration
	}{
		{"unbounded", Interval{}, []time.Duration{math.MinInt64, 0, math.MaxInt64}, nil, map[time.Duration]time.Duration{0: 0, 5: 5}},
		{"closed", Interval{Lo: 2, Hi: 5, HasLo: true, HasHi: true}, []time.Duration{2, 5}, []time.Duration{1, 6}, map[time.Duration]time.Duration{0: 2, 3: 3, 9: 5}},
		{"half-line", Interval{Hi: -3, HasHi: true}, []time.Duration{-3, math.MinInt64}, []time.Duration{-2}, map[time.Duration]time.Duration{0: -3, -9: -9}},
		{"empty", Interval{Lo: 5, Hi: 2, HasLo: true, HasHi: true}, nil, []time.Duration{2, 3, 5}, map[time.Duration]time.Duration{0: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, d := range tt.in {
				if !tt.iv.Contains(d) {
					t.Errorf("%+v does not contain %v", tt.iv, d)
				}
			}
			for _, d := range tt.out {
				if tt.iv.Contains(d) {
					t.Errorf("%+v contains %v", tt.iv, d)
				}
			}
			for d, want := range tt.nearest {
				if got := tt.iv.Nearest(d); got != want {
					t.Errorf("Nearest(%v) = %v, want %v", d, got, want)
				}
			}
		})
	}
}

// Past maxEstimated instances with constraints, pairs are still reported
// but offsets are not estimated, and the report says so.
func TestSkewUnestimated(t *testing.T) {
	tests := []struct {
		name        string
		instances   int
		unestimated bool
	}{
		{"at the limit", maxEstimated - 1, false},
		{"past it", maxEstimated + 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			off := map[string]int64{}
			for i := range tt.instances {
				off["s"+strconv.Itoa(i)] = 10 * ms
			}
			s := newSkewSim(off)
			root := s.start("root", storage.KindServer, -1, 0, nil)
			for i := range tt.instances {
				s.call("root", "s"+strconv.Itoa(i), root, int64(i)*10*ms, ms, ms, nil)
			}
			s.end(root, int64(tt.instances+1)*10*ms, nil)
			tr := s.trace()
			r := Skew(NewCausal(tr))
			if r.Unestimated != tt.unestimated {
				t.Errorf("Unestimated %v, want %v", r.Unestimated, tt.unestimated)
			}
			if len(r.Pairs) != tt.instances {
				t.Errorf("%d pairs, want %d", len(r.Pairs), tt.instances)
			}
			shifted := 0
			for _, is := range r.Instances {
				if is.Offset != 0 {
					shifted++
				}
			}
			if want := map[bool]int{false: tt.instances, true: 0}[tt.unestimated]; shifted != want {
				t.Errorf("%d instances shifted, want %d", shifted, want)
			}
		})
	}
}
