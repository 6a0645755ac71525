package analysis

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

// Clock skew.
//
// Sign convention. Every instance I has an offset o_I: how far its clock is
// ahead of true time, so that a timestamp it records is T = t + o_I. The
// skew of a pair (A, B) is δ = o_B − o_A: "B's clock is ahead of A's by δ"
// (negative: behind). When event x on A happened before event y on B, then
// t_x < t_y, that is T_x − o_A < T_y − o_B, so
//
//	δ = o_B − o_A ≤ T_y − T_x.
//
// Each order from A to B bounds δ from above, each order from B to A
// (y' on B before x' on A) bounds it from below: δ ≥ T_y' − T_x'. A
// violation is an order whose timestamps contradict it with no skew
// (T_y < T_x): its bound excludes 0.
//
// The orders are happened-before's (Causal.Relation says Before, with its
// Reason), but not all of them: only those whose timestamps are sound
// bounds of the events they order, found by the rules below
// (SkewConstraint.Via), and confirmed by the relation (a candidate it does
// not confirm, in a cycle of bad data say, is dropped). Orders through
// other instances are not needed: they add up from these.
//
//   - ViaClock: span b's clock (at its start, or at its end when the
//     clock moved) has seen the tick of span a's start on another node, so
//     a's start happened before b's start (or end); a's node is one that
//     sent b a message (see clockConstraints). Only a start is a tick
//     of its own: a span's end is not an event of the clock (its end clock
//     is the clock's state when it ended), so an end is never the earlier
//     event of a clock order. A gRPC server span, for one, ends after it
//     has sent its answer, possibly after the caller received it.
//   - ViaCall: a span's start precedes the start of its child on another
//     instance (a remote call, or a message's consumer).
//   - ViaReply: a server span's end precedes the end of its client
//     parent on another instance, used only when the answer brought no
//     clock back (a hop without Tracer's SDK): it assumes that the server
//     span ends before the caller has the answer, true up to the few
//     microseconds a server may take to close its span.
//   - ViaLink: a linked span of the same trace started before the span
//     that links to it (a batch consumer and its producers).
//
// Only orders between two instances count: no offset explains timestamps
// that go backwards within one instance.

// The rules by which Skew finds its constraints (SkewConstraint.Via).
const (
	ViaClock = "clock"
	ViaCall  = "call"
	ViaReply = "reply"
	ViaLink  = "link"
)

// MaxSkewViolations is the most violations a SkewPair lists (the largest);
// ViolationCount counts them all.
const MaxSkewViolations = 20

// maxEstimated is the most instances whose offsets Skew estimates jointly
// (the estimate is cubic in their number); past it, instances are left
// unestimated and SkewReport.Unestimated says so.
const maxEstimated = 512

// SkewConstraint is one order between events of two instances: Before
// happened before After, so that After's instance's clock is ahead of
// Before's by at most Bound = T_after − T_before. Bound < 0 is a
// violation: the timestamps contradict the order by −Bound.
type SkewConstraint struct {
	Before, After Event
	Bound         time.Duration
	// Via is the rule that found the order (ViaClock, ...), Reason what
	// decided it in happened-before (Causal.Relation).
	Via    string
	Reason Reason

	pair int64 // the instance pair, smaller first, as one number
}

// Interval is a closed interval of durations whose ends may be missing
// (unbounded).
type Interval struct {
	Lo, Hi       time.Duration
	HasLo, HasHi bool
}

// Contains reports whether d is in the interval.
func (iv Interval) Contains(d time.Duration) bool {
	return (!iv.HasLo || d >= iv.Lo) && (!iv.HasHi || d <= iv.Hi)
}

// Empty reports whether the bounds contradict each other (Lo > Hi).
func (iv Interval) Empty() bool { return iv.HasLo && iv.HasHi && iv.Lo > iv.Hi }

// Nearest returns the point of the interval nearest to d (d itself when
// the interval contains it). For an empty interval it returns d.
func (iv Interval) Nearest(d time.Duration) time.Duration {
	switch {
	case iv.Empty():
		return d
	case iv.HasLo && d < iv.Lo:
		return iv.Lo
	case iv.HasHi && d > iv.Hi:
		return iv.Hi
	}
	return d
}

// Confidence says how well the constraints of a pair pin its skew down.
type Confidence string

// Confidences, from the best. High: both directions bound the skew, each
// by at least ConfidentConstraints constraints. Medium: both directions
// bound it, one by fewer. Low: only one direction does (a half-line).
// Contradicted: the bounds contradict each other (Lo > Hi), so that no
// constant offset explains the timestamps (the skew drifted during the
// trace, or an assumed order is wrong): no value is estimated.
const (
	ConfidenceHigh         Confidence = "high"
	ConfidenceMedium       Confidence = "medium"
	ConfidenceLow          Confidence = "low"
	ConfidenceContradicted Confidence = "contradicted"
)

// ConfidentConstraints is how many constraints each direction needs for
// ConfidenceHigh.
const ConfidentConstraints = 3

// SkewPair is the skew between two instances of a trace, from the
// constraints directly between them.
type SkewPair struct {
	// A < B are indexes into Trace.Instances. Skew is how far B's clock is
	// ahead of A's: the interval of offsets consistent with every
	// constraint between them.
	A, B int32
	Skew Interval
	// Forward counts the constraints from A to B (they bound Skew from
	// above), Backward those from B to A (from below).
	Forward, Backward int
	// Tightest are the constraints that set Skew.Hi (From A to B) and
	// Skew.Lo (from B to A); valid where Skew has the bound.
	TightestHi, TightestLo SkewConstraint
	// Violations are the constraints the timestamps contradict, the
	// largest first, at most MaxSkewViolations of ViolationCount.
	Violations     []SkewConstraint
	ViolationCount int
	Confidence     Confidence
}

// Skewed reports whether the timestamps of the pair contradict some order
// between them, that is whether 0 is outside Skew.
func (p *SkewPair) Skewed() bool { return p.ViolationCount > 0 }

// InstanceSkew is the estimated offset of one instance's clock relative to
// the reference instance's.
type InstanceSkew struct {
	// Range is the interval of offsets consistent with every constraint
	// of the trace (combined along the paths between instances), relative
	// to the reference; unbounded where nothing connects the instance to
	// the reference in that direction.
	Range Interval
	// Offset is the estimate: how far the instance's clock is ahead of the
	// reference's. It is the smallest shift that explains every violation,
	// chosen jointly so that the offsets of all instances satisfy every
	// constraint together: instances that can keep their clocks keep them
	// (Offset 0), the others get the point of what remains of their Range
	// nearest to 0. With no violation in the trace every Offset is 0.
	Offset time.Duration
	// Contradicted is set when the constraints through this instance
	// contradict each other (a cycle of orders no offsets satisfy); its
	// Offset is then 0 and Range unbounded.
	Contradicted bool
}

// SkewReport is the clock skew analysis of one trace.
type SkewReport struct {
	// Reference is the instance of the trace's first root span, offset 0
	// by definition; -1 for an empty trace.
	Reference int32
	// Pairs are the instance pairs with constraints between them, by (A,
	// B).
	Pairs []SkewPair
	// Instances holds each instance's estimate, indexed as
	// Trace.Instances.
	Instances []InstanceSkew
	// Unestimated is set when the trace has more instances with
	// constraints than Skew estimates jointly (512): every Offset is then 0.
	Unestimated bool

	trace *Trace
}

// AdjustedSpan is a span's times shifted by its instance's estimated
// offset: the times its instance's clock would have recorded had it agreed
// with the reference instance's. Storage is never rewritten.
type AdjustedSpan struct {
	Start, End int64 // unix nanoseconds
	// Shift is what was added to the recorded times (minus the offset).
	Shift time.Duration
	// Adjusted is set when Shift is not 0.
	Adjusted bool
}

// Adjusted returns each span's adjusted times, indexed as Trace.Spans.
func (r *SkewReport) Adjusted() []AdjustedSpan {
	out := make([]AdjustedSpan, r.trace.Len())
	for i := range r.trace.Spans {
		s := &r.trace.Spans[i]
		var shift time.Duration
		if inst := r.trace.Instance[i]; int(inst) < len(r.Instances) {
			shift = -r.Instances[inst].Offset
		}
		out[i] = AdjustedSpan{
			Start:    satAdd(s.StartTime, int64(shift)),
			End:      satAdd(s.EndTime, int64(shift)),
			Shift:    shift,
			Adjusted: shift != 0,
		}
	}
	return out
}

// Skew estimates the clock skew between the instances of c's trace from
// its happened-before relation c: per pair of
// instances the interval of offsets consistent with the orders between
// their events, and per instance an offset relative to the reference
// instance (the first root's) that explains every violation. It runs in
// O(n log n) for n spans and O(k³) for k instances with constraints.
func Skew(c *Causal) *SkewReport {
	t := c.Trace()
	r := &SkewReport{Reference: -1, trace: t, Instances: make([]InstanceSkew, len(t.Instances))}
	if len(t.Roots) > 0 {
		r.Reference = t.Instance[t.Roots[0]]
	}
	cons := skewConstraints(c)
	r.Pairs = skewPairs(t, cons)
	r.estimate(t, cons)
	return r
}

// skewConstraints derives the orders between events of different
// instances, each once, sorted by (instance pair, Before, After).
func skewConstraints(c *Causal) []SkewConstraint {
	t := c.Trace()
	// About three per span: a call, a clock order each way.
	cons := make([]SkewConstraint, 0, 3*t.Len())
	add := func(before, after Event, via string) {
		if t.Instance[before.Span] == t.Instance[after.Span] {
			return
		}
		x, y := t.Instance[before.Span], t.Instance[after.Span]
		if x > y {
			x, y = y, x
		}
		cons = append(cons, SkewConstraint{
			Before: before, After: after,
			Bound: time.Duration(satSub(eventTime(t, after), eventTime(t, before))),
			Via:   via,
			pair:  int64(x)<<32 | int64(y),
		})
	}
	clockConstraints(t, add)
	for ch, p := range t.Parent {
		if p < 0 {
			continue
		}
		add(StartOf(int(p)), StartOf(ch), ViaCall)
		if t.Spans[p].Kind == storage.KindClient && t.Spans[ch].Kind == storage.KindServer && !replyClock(t, p, int32(ch)) {
			add(EndOf(ch), EndOf(int(p)), ViaReply)
		}
	}
	for i := range t.Spans {
		s := &t.Spans[i]
		for _, l := range s.Links {
			if l.TraceID != s.TraceID {
				continue
			}
			if j := t.Index(l.SpanID); j >= 0 && j != i {
				add(StartOf(j), StartOf(i), ViaLink)
			}
		}
	}
	// One constraint per pair of events: a clock order and a call may
	// order the same two.
	slices.SortFunc(cons, func(x, y SkewConstraint) int {
		if c := cmp.Compare(x.pair, y.pair); c != 0 {
			return c
		}
		if c := cmpEvent(x.Before, y.Before); c != 0 {
			return c
		}
		return cmpEvent(x.After, y.After)
	})
	cons = slices.CompactFunc(cons, func(x, y SkewConstraint) bool {
		return x.Before == y.Before && x.After == y.After
	})
	// One definition of happened-before: keep what the relation confirms.
	kept := cons[:0]
	for _, k := range cons {
		if rel := c.Relation(k.Before, k.After); rel.Order == Before {
			k.Reason = rel.Reason
			kept = append(kept, k)
		}
	}
	return slices.Clip(kept)
}

// replyClock reports whether the answer to client span p's call, served
// by span c, brought c's clock back to p: p's end clock has seen c's start.
func replyClock(t *Trace, p, c int32) bool {
	return t.ClockOK[p] && t.ClockOK[c] && t.Clocks[p].End.Get(t.Clocks[c].Node) >= t.Clocks[c].Tick
}

// clockConstraints adds, for each span's start and each node that sent
// it a message (its remote parent's, its links'), and for each span's end
// and each node that answered it (its remote children's), the order from
// the latest start on that node that the event's clock has seen: the
// tightest of that node's orders to the event. An entry the previous start
// of the same node (or, for an end, the span's own start) had seen
// already gives an order implied by that one's and the node's own order,
// no tighter (the node's timestamps grow with its counter): it is left
// out, and so are entries that came through other nodes (the orders of
// those nodes' own messages imply them).
func clockConstraints(t *Trace, add func(before, after Event, via string)) {
	// Per node, its spans by tick with the running latest start.
	type node struct {
		ticks  []uint64
		latest []int32 // latest[k]: the span with the latest start among ticks[:k+1]
	}
	byNode := map[string]*node{}
	var spans []int32
	for i, ok := range t.ClockOK {
		if ok {
			spans = append(spans, int32(i))
		}
	}
	// Nodes numbered once: sorting by number is cheaper than by name.
	nodeNum := make([]int32, len(t.Spans))
	nums := map[string]int32{}
	for _, i := range spans {
		k, ok := nums[t.Clocks[i].Node]
		if !ok {
			k = int32(len(nums))
			nums[t.Clocks[i].Node] = k
		}
		nodeNum[i] = k
	}
	slices.SortFunc(spans, func(a, b int32) int {
		if c := cmp.Compare(nodeNum[a], nodeNum[b]); c != 0 {
			return c
		}
		return cmp.Compare(t.Clocks[a].Tick, t.Clocks[b].Tick)
	})
	for _, i := range spans {
		c := &t.Clocks[i]
		n := byNode[c.Node]
		if n == nil {
			n = &node{}
			byNode[c.Node] = n
		}
		best := i
		if k := len(n.latest); k > 0 && t.Spans[n.latest[k-1]].StartTime > t.Spans[i].StartTime {
			best = n.latest[k-1]
		}
		n.ticks = append(n.ticks, c.Tick)
		n.latest = append(n.latest, best)
	}
	seen := func(node string, count uint64) int32 {
		n := byNode[node]
		if n == nil {
			return -1
		}
		k, found := slices.BinarySearch(n.ticks, count)
		if found {
			// the last of equal ticks (bad data may repeat one)
			for k+1 < len(n.ticks) && n.ticks[k+1] == count {
				k++
			}
			return n.latest[k]
		}
		if k == 0 {
			return -1
		}
		return n.latest[k-1]
	}
	// The nodes that sent b's start a message (its remote parent, the
	// spans it links to) and those that answered before its end (its
	// remote children): the direct messages. Entries that came through
	// other nodes give orders implied by the direct ones of those nodes.
	var nodes []string
	addNode := func(j int, own string) {
		if j >= 0 && t.ClockOK[j] && t.Clocks[j].Node != own && !slices.Contains(nodes, t.Clocks[j].Node) {
			nodes = append(nodes, t.Clocks[j].Node)
		}
	}
	for q, b := range spans {
		c := &t.Clocks[b]
		// The previous start on b's node (it precedes b's start): what it
		// had seen already bounds the skew at least as tightly.
		var prev *vclock.Clock
		if q > 0 && nodeNum[spans[q-1]] == nodeNum[b] {
			prev = &t.Clocks[spans[q-1]].Start
		}
		nodes = nodes[:0]
		addNode(int(t.Parent[b]), c.Node)
		for _, l := range t.Spans[b].Links {
			if l.TraceID == t.Spans[b].TraceID {
				addNode(t.Index(l.SpanID), c.Node)
			}
		}
		for _, node := range nodes {
			count := c.Start.Get(node)
			if prev != nil && prev.Get(node) >= count {
				continue
			}
			if a := seen(node, count); a >= 0 {
				add(StartOf(int(a)), StartOf(int(b)), ViaClock)
			}
		}
		nodes = nodes[:0]
		for _, ch := range t.Children[b] {
			addNode(int(ch), c.Node)
		}
		for _, node := range nodes {
			count := c.End.Get(node)
			if count <= c.Start.Get(node) {
				continue // nothing the start had not seen
			}
			if a := seen(node, count); a >= 0 {
				add(StartOf(int(a)), EndOf(int(b)), ViaClock)
			}
		}
	}
}

func eventTime(t *Trace, e Event) int64 {
	if e.End {
		return t.Spans[e.Span].EndTime
	}
	return t.Spans[e.Span].StartTime
}

// pairOf returns a constraint's instance pair, the smaller first.
func pairOf(t *Trace, c SkewConstraint) (int32, int32) {
	a, b := t.Instance[c.Before.Span], t.Instance[c.After.Span]
	if a > b {
		a, b = b, a
	}
	return a, b
}

func cmpEvent(x, y Event) int {
	if c := cmp.Compare(x.Span, y.Span); c != 0 {
		return c
	}
	switch {
	case x.End == y.End:
		return 0
	case y.End:
		return -1
	}
	return 1
}

// skewPairs combines the constraints (sorted by pair) of each pair.
func skewPairs(t *Trace, cons []SkewConstraint) []SkewPair {
	var pairs []SkewPair
	for len(cons) > 0 {
		a, b := pairOf(t, cons[0])
		k := 1
		for k < len(cons) {
			if x, y := pairOf(t, cons[k]); x != a || y != b {
				break
			}
			k++
		}
		p := SkewPair{A: a, B: b}
		for _, c := range cons[:k] {
			if t.Instance[c.Before.Span] == a { // A to B: δ ≤ Bound
				p.Forward++
				if !p.Skew.HasHi || c.Bound < p.Skew.Hi {
					p.Skew.Hi, p.Skew.HasHi, p.TightestHi = c.Bound, true, c
				}
			} else { // B to A: o_A − o_B ≤ Bound, δ ≥ −Bound
				p.Backward++
				if lo := -c.Bound; !p.Skew.HasLo || lo > p.Skew.Lo {
					p.Skew.Lo, p.Skew.HasLo, p.TightestLo = lo, true, c
				}
			}
			if c.Bound < 0 {
				p.ViolationCount++
				p.Violations = append(p.Violations, c)
			}
		}
		slices.SortStableFunc(p.Violations, func(x, y SkewConstraint) int { return cmp.Compare(x.Bound, y.Bound) })
		if len(p.Violations) > MaxSkewViolations {
			p.Violations = slices.Clip(p.Violations[:MaxSkewViolations])
		}
		switch {
		case p.Skew.Empty():
			p.Confidence = ConfidenceContradicted
		case p.Forward == 0 || p.Backward == 0:
			p.Confidence = ConfidenceLow
		case p.Forward < ConfidentConstraints || p.Backward < ConfidentConstraints:
			p.Confidence = ConfidenceMedium
		default:
			p.Confidence = ConfidenceHigh
		}
		pairs = append(pairs, p)
		cons = cons[k:]
	}
	return pairs
}

const inf = math.MaxInt64

// estimate sets each instance's Range and Offset. The constraints form a
// system of differences o_B − o_A ≤ w: the tightest w of each ordered
// instance pair is an edge A→B of weight w, shortest paths bound each
// instance relative to the reference (Range), and a cycle of negative
// weight is a contradiction. Pairs whose own constraints contradict are
// left out of the system; instances on a remaining negative cycle are
// marked Contradicted and left out too. The offsets are then fixed one
// instance at a time, breadth first from the reference along the calls
// (see fixOrder): first every instance whose remaining range allows 0 is
// kept at 0, then each other one gets the point of its remaining range
// nearest to 0. A point of a feasible system's projection keeps it
// feasible, so all offsets satisfy every constraint at once: the fewest
// instances are shifted (greedily), each by the least it must be.
func (r *SkewReport) estimate(t *Trace, cons []SkewConstraint) {
	contradicted := map[[2]int32]bool{}
	for _, p := range r.Pairs {
		if p.Confidence == ConfidenceContradicted {
			contradicted[[2]int32{p.A, p.B}] = true
		}
	}
	// The instances with constraints, and the reference, densely numbered.
	dense := make([]int32, len(t.Instances))
	for i := range dense {
		dense[i] = -1
	}
	var ids []int32
	use := func(i int32) {
		if dense[i] < 0 {
			dense[i] = int32(len(ids))
			ids = append(ids, i)
		}
	}
	if r.Reference >= 0 {
		use(r.Reference)
	}
	for _, c := range cons {
		if a, b := pairOf(t, c); !contradicted[[2]int32{a, b}] {
			use(a)
			use(b)
		}
	}
	k := len(ids)
	if k <= 1 {
		return
	}
	if k > maxEstimated {
		r.Unestimated = true
		return
	}
	w := make([]int64, k*k)
	for i := range w {
		w[i] = inf
	}
	for i := range k {
		w[i*k+i] = 0
	}
	for _, c := range cons {
		if a, b := pairOf(t, c); contradicted[[2]int32{a, b}] {
			continue
		}
		x, y := dense[t.Instance[c.Before.Span]], dense[t.Instance[c.After.Span]]
		if e := &w[int(x)*k+int(y)]; int64(c.Bound) < *e {
			*e = int64(c.Bound)
		}
	}
	out := make([]bool, k) // contradicted instances, left out
	var d []int64
	for {
		d = shortestPaths(w, k)
		bad := false
		for i := range k {
			if d[i*k+i] < 0 {
				out[i], bad = true, true
			}
		}
		if !bad {
			break
		}
		for i := range k {
			if !out[i] {
				continue
			}
			for j := range k {
				if j != i {
					w[i*k+j], w[j*k+i] = inf, inf
				}
			}
		}
	}
	ref := -1
	if r.Reference >= 0 {
		ref = int(dense[r.Reference])
	}
	for i := range k {
		is := &r.Instances[ids[i]]
		if out[i] {
			is.Contradicted = true
			continue
		}
		if ref >= 0 && !out[ref] {
			if v := d[ref*k+i]; v != inf {
				is.Range.Hi, is.Range.HasHi = time.Duration(v), true
			}
			if v := d[i*k+ref]; v != inf {
				is.Range.Lo, is.Range.HasLo = time.Duration(-v), true
			}
		}
	}
	// Fix the offsets one by one; lo and hi are the bounds the fixed ones
	// leave each instance.
	lo, hi := make([]int64, k), make([]int64, k)
	for i := range k {
		lo[i], hi[i] = -inf, inf
	}
	fix := func(f int, v int64) {
		r.Instances[ids[f]].Offset = time.Duration(v)
		for j := range k {
			if out[j] {
				continue
			}
			if e := d[f*k+j]; e != inf {
				hi[j] = min(hi[j], satAdd(v, e))
			}
			if e := d[j*k+f]; e != inf {
				lo[j] = max(lo[j], satSub(v, e))
			}
		}
	}
	order := fixOrder(t, dense, w, k, ref, out)
	// First every instance that may keep its clock, then the others, each
	// by the least shift the fixed ones leave it.
	done := make([]bool, k)
	for _, f := range order {
		if lo[f] <= 0 && hi[f] >= 0 {
			done[f] = true
			fix(f, 0)
		}
	}
	for _, f := range order {
		if done[f] {
			continue
		}
		v := int64(0)
		if lo[f] > 0 {
			v = lo[f]
		} else if hi[f] < 0 {
			v = hi[f]
		}
		fix(f, v)
	}
}

// fixOrder is the order in which estimate fixes the offsets: breadth
// first from the reference along the calls between instances (a caller's
// offset before its callee's: each instance is shifted the least that its
// caller's shift allows), then along any constraints, then the instances
// not reached from the reference likewise; ties in the order of
// Trace.Instances.
func fixOrder(t *Trace, dense []int32, w []int64, k, ref int, out []bool) []int {
	call := make([]bool, k*k)
	for ch, p := range t.Parent {
		if p < 0 {
			continue
		}
		x, y := dense[t.Instance[p]], dense[t.Instance[ch]]
		if x >= 0 && y >= 0 && x != y {
			call[int(x)*k+int(y)], call[int(y)*k+int(x)] = true, true
		}
	}
	linked := func(i, j int) bool { return w[i*k+j] != inf || w[j*k+i] != inf }
	order := make([]int, 0, k)
	seen := slices.Clone(out)
	// grow extends order breadth first from order[from:] along adj.
	grow := func(from int, adj func(i, j int) bool) {
		for q := from; q < len(order); q++ {
			i := order[q]
			for j := range k {
				if !seen[j] && adj(i, j) {
					seen[j] = true
					order = append(order, j)
				}
			}
		}
	}
	start := func(s int) {
		n := len(order)
		seen[s] = true
		order = append(order, s)
		grow(n, func(i, j int) bool { return call[i*k+j] })
		grow(n, linked)
	}
	if ref >= 0 && !seen[ref] {
		start(ref)
	}
	for i := range k {
		if !seen[i] {
			start(i)
		}
	}
	return order
}

// shortestPaths is Floyd–Warshall over the k×k weights w (inf: no edge).
func shortestPaths(w []int64, k int) []int64 {
	d := slices.Clone(w)
	for m := range k {
		for i := range k {
			dim := d[i*k+m]
			if dim == inf {
				continue
			}
			row, mrow := d[i*k:i*k+k], d[m*k:m*k+k]
			for j, dmj := range mrow {
				if dmj == inf {
					continue
				}
				if s := satAdd(dim, dmj); s < row[j] {
					row[j] = s
				}
			}
		}
	}
	return d
}

// satAdd and satSub are a + b and a − b, saturated at the int64 range
// (absurd timestamps must not wrap around into plausible bounds).
func satAdd(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64 - 1
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64 + 1
	}
	return s
}

func satSub(a, b int64) int64 {
	if b == math.MinInt64 {
		return satAdd(satAdd(a, math.MaxInt64), 1)
	}
	return satAdd(a, -b)
}
