package analysis

import (
	"cmp"
	"container/heap"
	"slices"
)

// Segment is one piece of a critical path: from Start to End (unix ns) the
// path ran in span Span (an index into Trace.Spans), or, when Span is -1,
// in no span of the trace (a gap: time between a producer's end and its
// consumer's start, or between roots, that no recorded span covers).
type Segment struct {
	Span       int32
	Start, End int64
}

// CriticalPath is the chain of spans that determines a trace's end-to-end
// latency. Its Segments are in time order, never overlap and tile
// [Start, End] exactly: Start is the earliest start of a root and End the
// latest end of any span, so the path covers the trace's whole range, with
// several roots too and with async work that ends after the roots (a child
// that seems to start before its parent is skew, and is clipped to it).
// Per-span slices are indexed like Trace.Spans.
type CriticalPath struct {
	Start, End int64
	Segments   []Segment
	// SelfTime is each span's duration not covered by the union of its
	// children's intervals (clipped to the span), whether or not the span
	// is on the path.
	SelfTime []int64
	// Contribution is each span's time on the path: the sum of its
	// segments. It can exceed the self time: while a child that is not on
	// the path runs (it overlapped the next child on the path, or it was
	// clipped away), the time is the span's own.
	Contribution []int64
	// Gap is the time on the path that no span covers (Segments with
	// Span -1).
	Gap int64
	// LinkParent holds, for a root span (no parent in the trace) that the
	// path treated as the child of a span it links to (a consumer of a
	// producer), that span's index; -1 everywhere else.
	LinkParent []int32
}

// Duration is End - Start, the latency the path explains.
func (p *CriticalPath) Duration() int64 { return p.End - p.Start }

// CriticalPath computes the trace's critical path, walking back in time
// from the trace's end. At each span it takes the child that finished last
// (before the time reached so far), follows that child's own path, then
// continues before the child's start with the child that finished last
// before it; the time between children, and before the first one, is the
// span's own. A child that overlaps the child after it is not on the path
// for the overlap: the span itself started the later child. This is the
// Jaeger UI's algorithm (packages/jaeger-ui/src/components/TracePage/
// CriticalPath/index.ts and utils/sanitizeOverFlowingChildren.ts), made
// iterative and O(n log n), with these differences:
//
//   - Children that outlive their parent are clipped to it (as Jaeger
//     does), except the chain that ends the trace: the span that ends last
//     (the one nearest a root among ties) and its ancestors are followed to
//     the trace's end, so async work that ends the trace is on the path,
//     and the time between an ancestor's end and its descendant's start
//     goes to the deepest ancestor still running, or is a gap when none
//     is (a message waiting in a queue after its sender ended). Jaeger
//     clips or drops such children, and drops a producer's consumer
//     children altogether (utils/cpspan.ts).
//   - A child that ends exactly when the next one starts (sequential
//     children) is on the path; Jaeger requires it to end strictly before.
//   - A root span that links to a span of the trace outside its own tree
//     (a consumer linking to its producer) is placed under the linked span
//     that ended last, unless that makes a cycle (LinkParent says which).
//   - Several roots (orphans too) are the children of one virtual span
//     covering the trace: before a root's start the path continues in the
//     root running then (or ended last), and time with no root running is
//     a gap. Jaeger concatenates each root's path, so they may overlap.
//   - No recursion: a 100,000-deep chain and a 100,000-wide fan-out work.
//
// Spans that end before they start count as lasting zero.
func (t *Trace) CriticalPath() CriticalPath {
	n := t.Len()
	p := CriticalPath{
		SelfTime:     make([]int64, n),
		Contribution: make([]int64, n),
		LinkParent:   make([]int32, n),
	}
	for i := range p.LinkParent {
		p.LinkParent[i] = -1
	}
	if n == 0 {
		return p
	}
	start := make([]int64, n)
	end := make([]int64, n)
	for i := range t.Spans {
		s := &t.Spans[i]
		start[i], end[i] = s.StartTime, max(s.EndTime, s.StartTime)
	}
	t.selfTimes(start, end, p.SelfTime)

	parent := slices.Clone(t.Parent)
	t.linkParents(parent, end, p.LinkParent)
	kids, roots := childLists(parent)
	p.Start, p.End = start[roots[0]], end[roots[0]]
	for _, r := range roots {
		p.Start = min(p.Start, start[r])
	}
	for i := range n {
		p.End = max(p.End, end[i])
	}

	// Breadth-first order from the roots: parents before children.
	order := make([]int32, 0, n)
	depth := make([]int32, n)
	order = append(order, roots...)
	for k := 0; k < len(order); k++ {
		x := order[k]
		for _, c := range kids.of(x) {
			depth[c] = depth[x] + 1
			order = append(order, c)
		}
	}

	// The chain that ends the trace: the span that ends last, nearest a
	// root, and its ancestors.
	last := int32(-1)
	for i := range n {
		if end[i] == p.End && (last < 0 || depth[i] < depth[last]) {
			last = int32(i)
		}
	}
	chain := make([]bool, n)
	var chainList []int32 // root first
	for x := last; x >= 0; x = parent[x] {
		chain[x] = true
		chainList = append(chainList, x)
	}
	slices.Reverse(chainList)

	// Each span's window: its interval clipped to its parent's window,
	// except that the chain runs to the trace's end. bound is the end a
	// span's children are clipped to: a chain span's own end.
	ws := make([]int64, n)
	we := make([]int64, n)
	for _, x := range order {
		ws[x], we[x] = start[x], end[x]
		if q := parent[x]; q >= 0 {
			ws[x] = max(ws[x], ws[q])
			bound := we[q]
			if chain[q] {
				bound = end[q]
			}
			we[x] = min(we[x], bound)
		}
		if chain[x] {
			we[x] = p.End
		}
	}

	// Children, and roots, by window end, latest first; empty windows are
	// never on the path.
	byEnd := func(a, b int32) int {
		if c := cmp.Compare(we[b], we[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	empty := func(x int32) bool { return we[x] <= ws[x] }
	kids.filterSort(empty, byEnd)
	roots = slices.DeleteFunc(roots, empty)
	slices.SortFunc(roots, byEnd)

	w := pathWalker{p: &p, end: end, chain: newChainIndex(chainList, end)}
	type frame struct {
		span int32 // -1: the virtual span over the roots
		next int32 // the next child to consider, in kids.of(span)
	}
	stack := []frame{{span: -1}}
	running := rootHeap{ws: ws} // roots passed over that end after the cursor
	cur := p.End
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.span < 0 {
			for int(f.next) < len(roots) && we[roots[f.next]] > cur {
				heap.Push(&running, roots[f.next])
				f.next++
			}
			var pick int32 = -1
			pickEnd := cur
			switch {
			case running.Len() > 0 && ws[running.ids[0]] < cur:
				pick = heap.Pop(&running).(int32) // running at cur: on the path up to cur
			case int(f.next) < len(roots):
				pick, pickEnd = roots[f.next], we[roots[f.next]]
				f.next++
			}
			if pick < 0 {
				w.emit(-1, p.Start, cur)
				cur = p.Start
				stack = stack[:len(stack)-1]
				continue
			}
			w.emit(-1, pickEnd, cur)
			cur = pickEnd
			stack = append(stack, frame{span: pick})
			continue
		}
		x := f.span
		cs := kids.of(x)
		for int(f.next) < len(cs) && we[cs[f.next]] > cur {
			f.next++
		}
		if int(f.next) < len(cs) {
			c := cs[f.next]
			f.next++
			w.self(x, we[c], cur)
			cur = we[c]
			stack = append(stack, frame{span: c})
			continue
		}
		w.self(x, ws[x], cur)
		cur = ws[x]
		stack = stack[:len(stack)-1]
	}
	slices.Reverse(p.Segments)
	return p
}

// selfTimes sets each span's duration minus the union of its children's
// intervals clipped to it. Children are in start order, so one sweep each.
func (t *Trace) selfTimes(start, end, self []int64) {
	for i := range t.Spans {
		covered := int64(0)
		lo, hi := start[i], start[i] // the union's current run
		for _, c := range t.Children[i] {
			cs, ce := max(start[c], start[i]), min(end[c], end[i])
			if ce <= cs {
				continue
			}
			if cs > hi {
				covered += hi - lo
				lo, hi = cs, ce
			} else {
				hi = max(hi, ce)
			}
		}
		covered += hi - lo
		self[i] = end[i] - start[i] - covered
	}
}

// linkParents gives each root span that links to spans of the trace
// outside its own tree the linked span that ended last as parent, then
// cuts the cycles that may make among trees (at their earliest root).
func (t *Trace) linkParents(parent []int32, end []int64, linkParent []int32) {
	if !slices.ContainsFunc(t.Roots, func(r int32) bool { return len(t.Spans[r].Links) > 0 }) {
		return
	}
	n := len(parent)
	tree := make([]int32, n) // each span's root
	var queue []int32
	for _, r := range t.Roots {
		tree[r] = r
		queue = append(queue[:0], r)
		for k := 0; k < len(queue); k++ {
			for _, c := range t.Children[queue[k]] {
				tree[c] = r
				queue = append(queue, c)
			}
		}
	}
	linked := false
	for _, r := range t.Roots {
		s := &t.Spans[r]
		best := int32(-1)
		for _, l := range s.Links {
			if l.TraceID != s.TraceID {
				continue
			}
			j := t.Index(l.SpanID)
			if j < 0 || tree[j] == r {
				continue
			}
			if best < 0 || end[j] > end[best] || end[j] == end[best] && int32(j) < best {
				best = int32(j)
			}
		}
		if best >= 0 {
			linkParent[r] = best
			linked = true
		}
	}
	if !linked {
		return
	}
	// Cycles among trees: walk up tree by tree, as breakCycles does.
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]uint8, n)
	var path []int32
	for _, r := range t.Roots {
		path = path[:0]
		j := r
		for j >= 0 && state[j] == unseen {
			state[j] = onPath
			path = append(path, j)
			if linkParent[j] < 0 {
				j = -1
			} else {
				j = tree[linkParent[j]]
			}
		}
		if j >= 0 && state[j] == onPath {
			k := slices.Index(path, j)
			linkParent[slices.Min(path[k:])] = -1
		}
		for _, q := range path {
			state[q] = done
		}
	}
	for _, r := range t.Roots {
		if linkParent[r] >= 0 {
			parent[r] = linkParent[r]
		}
	}
}

// csr holds children lists in one slice: span x's are at[off[x]:off[x+1]].
type csr struct {
	off []int32
	at  []int32
	len []int32 // after filterSort: how many of each list are kept
}

func (c *csr) of(x int32) []int32 { return c.at[c.off[x] : c.off[x]+c.len[x]] }

// childLists builds the children lists of parent, and the roots.
func childLists(parent []int32) (csr, []int32) {
	n := len(parent)
	c := csr{off: make([]int32, n+1), len: make([]int32, n)}
	var roots []int32
	for i, q := range parent {
		if q >= 0 {
			c.off[q+1]++
		} else {
			roots = append(roots, int32(i))
		}
	}
	for i := range n {
		c.off[i+1] += c.off[i]
	}
	c.at = make([]int32, c.off[n])
	for i, q := range parent {
		if q >= 0 {
			c.at[c.off[q]+c.len[q]] = int32(i)
			c.len[q]++
		}
	}
	return c, roots
}

// filterSort drops the children drop says and sorts the rest.
func (c *csr) filterSort(drop func(int32) bool, by func(a, b int32) int) {
	for x := range c.len {
		l := c.at[c.off[x] : c.off[x]+c.len[x]]
		l = slices.DeleteFunc(l, drop)
		slices.SortFunc(l, by)
		c.len[x] = int32(len(l))
	}
}

// pathWalker collects segments, latest first, merging neighbours of one span.
type pathWalker struct {
	p       *CriticalPath
	end     []int64
	chain   chainIndex
	scratch []Segment
}

// self emits span x's own time from a to b. Only a span of the chain that
// ends the trace can be followed past its end: that part of the time goes
// to the nearest ancestor still running, for each instant, and is a gap
// where none is.
func (w *pathWalker) self(x int32, a, b int64) {
	g := min(max(w.end[x], a), b)
	if g < b {
		w.scratch = w.chain.claims(x, g, b, w.scratch[:0])
		for k := len(w.scratch) - 1; k >= 0; k-- {
			s := w.scratch[k]
			w.emit(s.Span, s.Start, s.End)
		}
	}
	w.emit(x, a, g)
}

func (w *pathWalker) emit(x int32, a, b int64) {
	if a >= b {
		return
	}
	if x >= 0 {
		w.p.Contribution[x] += b - a
	} else {
		w.p.Gap += b - a
	}
	if k := len(w.p.Segments) - 1; k >= 0 && w.p.Segments[k].Span == x && w.p.Segments[k].Start == b {
		w.p.Segments[k].Start = a
		return
	}
	w.p.Segments = append(w.p.Segments, Segment{Span: x, Start: a, End: b})
}

// rootHeap is a min-heap of roots by window start.
type rootHeap struct {
	ids []int32
	ws  []int64
}

func (h *rootHeap) Len() int { return len(h.ids) }
func (h *rootHeap) Less(i, j int) bool {
	a, b := h.ids[i], h.ids[j]
	return h.ws[a] < h.ws[b] || h.ws[a] == h.ws[b] && a < b
}
func (h *rootHeap) Swap(i, j int) { h.ids[i], h.ids[j] = h.ids[j], h.ids[i] }
func (h *rootHeap) Push(x any)    { h.ids = append(h.ids, x.(int32)) }
func (h *rootHeap) Pop() any {
	x := h.ids[len(h.ids)-1]
	h.ids = h.ids[:len(h.ids)-1]
	return x
}

// chainIndex finds, for a span of the chain that ends the trace, the
// ancestors running after its end: for each instant, the deepest one.
// Along the chain (root first), up[k] is the nearest ancestor position
// whose end is later than position k's; the ancestors running after a time
// g are found by following up from the first one ending after g, which
// binary lifting over up finds in O(log n).
type chainIndex struct {
	list []int32 // the chain, root first
	pos  map[int32]int32
	end  []int64
	// jump[l][k] is up applied 2^l times to position k, or -1.
	jump [][]int32
}

func newChainIndex(list []int32, end []int64) chainIndex {
	c := chainIndex{list: list, end: end, pos: make(map[int32]int32, len(list))}
	for k, x := range list {
		c.pos[x] = int32(k)
	}
	return c
}

// build makes the jump tables on first use: most traces never need them.
func (c *chainIndex) build() {
	m := len(c.list)
	up := make([]int32, m)
	var stack []int32 // positions, ends decreasing from the bottom
	for k, x := range c.list {
		for len(stack) > 0 && c.end[c.list[stack[len(stack)-1]]] <= c.end[x] {
			stack = stack[:len(stack)-1]
		}
		up[k] = -1
		if len(stack) > 0 {
			up[k] = stack[len(stack)-1]
		}
		stack = append(stack, int32(k))
	}
	c.jump = [][]int32{up}
	for l := 1; 1<<l <= m; l++ {
		prev := c.jump[l-1]
		next := make([]int32, m)
		for k := range next {
			next[k] = -1
			if j := prev[k]; j >= 0 {
				next[k] = prev[j]
			}
		}
		c.jump = append(c.jump, next)
	}
}

// claims appends to out the segments, in time order, that tile (g, b]
// above the end of chain span x: each to the deepest ancestor running,
// gaps (Span -1) where none is.
func (c *chainIndex) claims(x int32, g, b int64, out []Segment) []Segment {
	k, ok := c.pos[x]
	if !ok || k == 0 {
		return append(out, Segment{Span: -1, Start: g, End: b})
	}
	if c.jump == nil {
		c.build()
	}
	// The nearest ancestor ending after g: from the parent, along up.
	s := k - 1
	if c.end[c.list[s]] <= g {
		for l := len(c.jump) - 1; l >= 0; l-- {
			if j := c.jump[l][s]; j >= 0 && c.end[c.list[j]] <= g {
				s = j
			}
		}
		s = c.jump[0][s]
	}
	at := g
	for ; s >= 0 && at < b; s = c.jump[0][s] {
		y := c.list[s]
		e := min(c.end[y], b)
		out = append(out, Segment{Span: y, Start: at, End: e})
		at = e
	}
	if at < b {
		out = append(out, Segment{Span: -1, Start: at, End: b})
	}
	return out
}
