package analysis

// Happened-before between the events of a trace.
//
// # API
//
//	type Event struct{ Span int; End bool }       // a span's start or end
//	func StartOf(span int) Event; func EndOf(span int) Event
//	type Order int8                               // Unknown (the zero value), Same, Before, After, Concurrent
//	type Reason uint8                             // ReasonNone, ReasonClock, ReasonStructure,
//	                                              // ReasonClockAndStructure, ReasonMissingClock,
//	                                              // ReasonPrunedClock, ReasonConflict, ReasonBadEvent
//	type Relation struct{ Order Order; Reason Reason }
//	func NewCausal(t *Trace) *Causal              // O(n log n + m*chains), built once per trace
//	func (c *Causal) Trace() *Trace
//	func (c *Causal) Relation(a, b Event) Relation
//	func (c *Causal) Before(a, b Event) bool       // Relation(a, b).Order == Before
//	func (c *Causal) ConcurrentWith(span int) []int
//	func (c *Causal) CausalOrder() []int
//
// A Causal is read-only once built and safe for concurrent use.
//
// # The relation
//
// Each span has two events, its start and its end. Happened-before is the
// reachability relation of a graph over the events whose edges come from two
// sources, so that it is transitive across them (A before B by the clocks and
// B before C by the structure gives A before C):
//
// The clocks (ReasonClock). A process's events of a trace are totally ordered
// by its counter (package sdk): a span's start is event Tick of its node, an
// end with counter c (End.Get(node)) comes after start c and before start
// c+1; ends with the same counter are not ordered among themselves. Each
// process's events form such a chain. An event whose clock holds another
// node's entry M:c has seen M's start c: the latest start of M with a tick
// up to c precedes it. An end is not a tick of the clock: the clock orders
// it after what its clock has seen and, through its process's chain, before
// the process's later starts, but a remote event that saw the same counter
// need not follow it.
//
// The structure (ReasonStructure). A span's start precedes its end; a
// parent's start precedes its children's starts; a synchronous child's end
// precedes its parent's end; a link's target start precedes the linking
// span's start (links to spans of the same trace only). A child is
// synchronous when its kind is internal, server, client or unspecified (not
// producer or consumer) and it does not visibly outlive its parent: when the
// two share a clock node, the child's end counter is not above the parent's;
// when they share an instance, the child's end time is not after the
// parent's (one host's timestamps, so no skew between them; the counter
// alone cannot tell when nothing ticked in between); across instances,
// when the answer brought the child's clock back, the parent's end clock has
// seen the child's end counter (an RPC's server span ends after it sent the
// answer, so the server may have moved on before its span ended); else kind
// alone decides: a server span under a client span is a synchronous call.
//
// Before and After carry the reason, first found of: ReasonClock when one
// event's clock has seen the other (the chains and clock edges alone join
// them); ReasonStructure when the structure alone does (an ancestor's
// start; an end that reaches an ancestor's end through synchronous ends;
// with links, a search over structure edges); else ReasonClockAndStructure.
// The reason is what these checks show: with inconsistent clocks a pure
// clock path the clock itself does not show is reported as mixed.
//
// Concurrent is claimed only when no path joins the two events either way,
// both spans carry clocks, neither event's clock is pruned, vclock.Compare
// of the two clocks says Concurrent, the spans are of different nodes (one
// process's events are totally ordered, even where the counter cannot tell
// its ends apart), the two spans are in one clocked component of the trace
// (connected through parent and link edges whose both ends carry a clock),
// and neither event is tainted: reached, or possibly preceded, by an event
// of a span without a clock. A plain OpenTelemetry process relays causality
// that no clock sees: two requests through it are ordered by its own
// program order, and its response to a Tracer client carries no clock, so
// what follows such a response may follow events the clocks cannot show.
// Taint flows along the graph's edges, to the other ends of the same
// counter of a process (which may follow the tainted one), and to whatever
// saw a process's counter at or after a tainted end. A span without a clock
// between or before them (a plain hop), an orphan or a second root
// therefore gives Unknown, never Concurrent.
//
// Otherwise the answer is Unknown with the reason: ReasonMissingClock (a
// span without a clock, no clocked connection, or taint), ReasonPrunedClock,
// or ReasonClock (the clocks leave it open: two ends of one node, or a
// comparison that vclock.Compare orders but the graph does not, which only
// an end event gives: see above). Bad data that makes events precede each
// other both ways (a cycle, such as a parent linking to its own child) gives
// Unknown with ReasonConflict for the events of the cycle.
//
// # Cost
//
// NewCausal builds the graph (2n events, a barrier node after each counter
// group of a process with more than one event, m edges: about 4n
// structural plus one per clock entry that an event newly saw), the taint
// (one search), condenses cycles (Tarjan, iterative) and labels the
// condensed graph: a topological index, two GRAIL interval labellings
// (random post-order intervals: a node reaches another only if its
// intervals contain the other's), the span tree's pre/post order, and the
// chain index: for each node and each of the longest 64 process chains, the
// smallest chain position it reaches (positions: counter group g's start
// 3g, its ends 3g+1, its barrier 3g+2). Time O(n log n + m*Q) and memory
// O(m + n*Q) for Q <= 64 chains. A query tries the clocks and the tree
// (O(1)), the labels and the chain index (O(Q) at most, O(1) per lookup):
// exact for any event of an indexed process, except two ends of one
// counter; what remains (spans without clocks, same-counter ends) is a
// backward search from the later event over the nodes the index cannot
// decide, pruned by the labels: bounded by the clock-less part of the
// trace, O(n+m) in the worst case. The reason for a mixed path with links
// costs one more search over structure edges. ConcurrentWith is one forward
// and one backward search, O(n+m); CausalOrder is Kahn's algorithm with a
// heap, O((n+m) log n). Nothing recurses, so 100,000-deep chains are fine.

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

// Event is a span's start or, with End, its end. Span is an index into
// Trace.Spans.
type Event struct {
	Span int
	End  bool
}

// StartOf is the start event of span.
func StartOf(span int) Event { return Event{Span: span} }

// EndOf is the end event of span.
func EndOf(span int) Event { return Event{Span: span, End: true} }

// Order is how one event relates to another in happened-before.
type Order int8

// Orders: Before means the first event happened before the second.
const (
	Unknown Order = iota
	Same
	Before
	After
	Concurrent
)

func (o Order) String() string {
	switch o {
	case Same:
		return "same"
	case Before:
		return "before"
	case After:
		return "after"
	case Concurrent:
		return "concurrent"
	default:
		return "unknown"
	}
}

// Reason says what decided an Order.
type Reason uint8

// Reasons; see the package's notes on the relation.
const (
	ReasonNone              Reason = iota // Same
	ReasonClock                           // the vector clocks
	ReasonStructure                       // parent/child, synchronous end, links, start before end
	ReasonClockAndStructure               // a chain mixing both
	ReasonMissingClock                    // a span without a clock, or no clocked connection
	ReasonPrunedClock                     // a pruned clock leaves it open
	ReasonConflict                        // the events precede each other both ways (bad data)
	ReasonBadEvent                        // an event's span is not in the trace
)

var reasonNames = [...]string{"none", "clock", "structure", "clock+structure", "missing clock", "pruned clock", "conflict", "bad event"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(?)"
}

// Relation is the answer for a pair of events: the order and what decided it.
type Relation struct {
	Order  Order
	Reason Reason
}

// Edge kinds, a bit set on paths.
const (
	edgeClock     uint8 = 1
	edgeStructure uint8 = 2
)

// graph is a compressed adjacency list.
type graph struct {
	off  []int32 // node v's edges are [off[v], off[v+1])
	to   []int32
	kind []uint8
}

func (g *graph) edges(v int32) ([]int32, []uint8) {
	a, b := g.off[v], g.off[v+1]
	return g.to[a:b], g.kind[a:b]
}

type edge struct {
	from, to int32
	kind     uint8
}

func buildGraph(n int, es []edge, reverse bool) graph {
	g := graph{off: make([]int32, n+1), to: make([]int32, len(es)), kind: make([]uint8, len(es))}
	for _, e := range es {
		f := e.from
		if reverse {
			f = e.to
		}
		g.off[f+1]++
	}
	for v := range n {
		g.off[v+1] += g.off[v]
	}
	next := slices.Clone(g.off[:n])
	for _, e := range es {
		f, t := e.from, e.to
		if reverse {
			f, t = t, f
		}
		g.to[next[f]], g.kind[next[f]] = t, e.kind
		next[f]++
	}
	return g
}

// grailLabels is the number of GRAIL interval labellings.
const grailLabels = 2

// Causal is the happened-before relation of one trace (see the notes at
// the top of causal.go). Build it with NewCausal.
type Causal struct {
	t *Trace
	// comp maps an event (2*span, 2*span+1 for its end) or barrier to its
	// node of the condensed graph; cyclic marks condensed nodes that hold
	// a cycle.
	comp   []int32
	cyclic []bool
	fwd    graph // condensed graph
	bwd    graph
	topo   []int32 // topological index of each condensed node
	low    [grailLabels][]int32
	rank   [grailLabels][]int32
	// pre/post order of the span tree.
	pre, post []int32
	// tainted marks the events that an event of a span without a clock
	// reaches or may precede: their clocks may lack part of their past.
	tainted []bool
	// component of the clocked forest (parent and link edges between
	// clocked spans), -1 for a span without a clock.
	clockComp []int32
	// counters of each clocked span's end on its own node.
	endCount []uint64
	// each node's start events by tick.
	starts  map[string][]chainItem
	scratch sync.Pool
	// The chain index: chainOf and posOf give each graph node's chain
	// (-1: none) and position on it (a counter group g's start at 3g, its
	// ends at 3g+1, its barrier at 3g+2); first[k*chains+q] is the
	// smallest position on chain q that condensed node k is or reaches.
	chains    int
	chainOf   []int16
	posOf     []int32
	compChain []int16 // a condensed node's chain (-1: none or several)
	compPos   []int32
	first     []int32
	syncUp    []int32 // the highest ancestor a span's end reaches by synchronous ends
	hasLinks  bool
}

// maxChains bounds the chains the index covers (memory: 4 bytes per chain
// per graph node); events of the others are found by search.
const maxChains = 64

// NewCausal builds the happened-before relation of t.
func NewCausal(t *Trace) *Causal {
	n := t.Len()
	c := &Causal{t: t}
	c.endCount = make([]uint64, n)
	for i := range n {
		if t.ClockOK[i] {
			c.endCount[i] = max(t.Clocks[i].End.Get(t.Clocks[i].Node), t.Clocks[i].Tick)
		}
	}
	es, possible, nodes, proxies := c.edges()
	c.taint(es, possible, nodes, proxies)
	c.condense(nodes, es)
	c.labelTree()
	c.labelClockComps()
	c.indexChains(nodes)
	c.labelSyncUp()
	return c
}

// indexChains computes first, in reverse topological order (Tarjan's).
func (c *Causal) indexChains(nodes int) {
	nc := len(c.topo)
	c.compChain = make([]int16, nc)
	c.compPos = make([]int32, nc)
	for k := range c.compChain {
		c.compChain[k] = -1
	}
	members := make([]int32, nc)
	for v := range nodes {
		k := c.comp[v]
		members[k]++
		if q := c.chainOf[v]; q >= 0 {
			c.compChain[k], c.compPos[k] = q, c.posOf[v]
		}
	}
	for k := range nc {
		if members[k] > 1 {
			c.compChain[k] = -1 // a cycle: searched, never indexed
		}
	}
	q := c.chains
	if q == 0 {
		return
	}
	const inf = 1<<31 - 1
	c.first = make([]int32, nc*q)
	for i := range c.first {
		c.first[i] = inf
	}
	for k := range int32(nc) { // successors come first
		row := c.first[int(k)*q : int(k+1)*q]
		if ch := c.compChain[k]; ch >= 0 {
			row[ch] = c.compPos[k]
		}
		out, _ := c.fwd.edges(k)
		for _, w := range out {
			wr := c.first[int(w)*q : int(w+1)*q]
			for j := range row {
				row[j] = min(row[j], wr[j])
			}
		}
	}
}

// Index answers.
const (
	no = iota
	yes
	maybe
)

// indexReach tells from the chain index whether condensed node u reaches
// v (u != v).
func (c *Causal) indexReach(u, v int32) int {
	q := c.compChain[v]
	if q < 0 {
		return maybe
	}
	f, p := c.first[int(u)*c.chains+int(q)], c.compPos[v]
	switch {
	case f > p:
		return no
	case f == p: // v itself, or another end of its counter (or start of its tick)
		return maybe
	}
	return yes
}

// reaches reports whether condensed node u reaches v: the labels, then the
// chain index, then a backward search from v over what the index cannot
// decide (spans without clocks, same-counter ends).
func (c *Causal) reaches(u, v int32) bool {
	if u == v || !c.maybeReaches(u, v) {
		return false
	}
	switch c.indexReach(u, v) {
	case yes:
		return true
	case no:
		return false
	}
	s := c.getScratch()
	defer c.scratch.Put(s)
	s.stack = append(s.stack[:0], v)
	s.mark[v] = s.gen
	for len(s.stack) > 0 {
		x := s.stack[len(s.stack)-1]
		s.stack = s.stack[:len(s.stack)-1]
		in, _ := c.bwd.edges(x)
		for _, p := range in {
			if p == u {
				return true
			}
			if s.mark[p] == s.gen || !c.maybeReaches(u, p) {
				continue
			}
			s.mark[p] = s.gen
			switch c.indexReach(u, p) {
			case yes:
				return true
			case maybe:
				s.stack = append(s.stack, p)
			}
		}
	}
	return false
}

// labelSyncUp computes syncUp top-down (in the tree's pre-order).
func (c *Causal) labelSyncUp() {
	t := c.t
	n := t.Len()
	c.syncUp = make([]int32, n)
	byPre := make([]int32, n)
	for i := range n {
		byPre[c.pre[i]] = int32(i)
		if len(t.Spans[i].Links) > 0 {
			c.hasLinks = true
		}
	}
	for _, i := range byPre {
		c.syncUp[i] = i
		if p := t.Parent[i]; p >= 0 && c.synchronous(int(p), int(i)) {
			c.syncUp[i] = c.syncUp[p]
		}
	}
}

// ancestorOrSelf reports whether span x is span y or one of its ancestors.
func (c *Causal) ancestorOrSelf(x, y int) bool {
	return c.pre[x] <= c.pre[y] && c.post[y] <= c.post[x]
}

// structureBefore reports the structure's orders without links: a's span
// x (its start, or its end) before the end of an ancestor y that x's end
// reaches through synchronous ends.
func (c *Causal) structureBefore(a, b Event) bool {
	if !b.End {
		return false
	}
	x, y := a.Span, b.Span
	return x != y && c.ancestorOrSelf(y, x) && c.ancestorOrSelf(int(c.syncUp[x]), y)
}

// taint marks the events that an event of a span without a clock reaches,
// or may precede (the possible edges of edges).
func (c *Causal) taint(es, possible []edge, nodes, proxies int) {
	all := make([]edge, 0, len(es)+len(possible))
	all = append(all, es...)
	id := func(v int32) int32 {
		if v < 0 {
			return int32(nodes) - v - 1
		}
		return v
	}
	for _, e := range possible {
		all = append(all, edge{id(e.from), id(e.to), 0})
	}
	g := buildGraph(nodes+proxies, all, false)
	tainted := make([]bool, nodes+proxies)
	var stack []int32
	for i := range c.t.Len() {
		if c.t.ClockOK[i] {
			continue
		}
		for _, v := range []int32{int32(2 * i), int32(2*i + 1)} {
			if !tainted[v] {
				tainted[v] = true
				stack = append(stack, v)
			}
		}
	}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out, _ := g.edges(x)
		for _, w := range out {
			if !tainted[w] {
				tainted[w] = true
				stack = append(stack, w)
			}
		}
	}
	c.tainted = tainted[:2*c.t.Len()]
}

// Trace is the trace the relation is of.
func (c *Causal) Trace() *Trace { return c.t }

// chainItem is one event on a process's chain.
type chainItem struct {
	count uint64
	end   bool
	ev    int32
}

// edges lists the event graph's edges and its node count (events and
// barriers).
//
// It also lists, for taint, the edges of "possibly after": each process's
// ends of one counter may follow each other, and an event that saw counter
// c of a node may follow its ends up to c. These go through one proxy per
// counter group (proxy p has the id -(p+1)), chained along the process.
func (c *Causal) edges() (es, possible []edge, nodes, proxies int) {
	t := c.t
	n := t.Len()
	nodes = 2 * n
	entries := 0
	for i := range n {
		if t.ClockOK[i] {
			entries += t.Clocks[i].Start.Len() + t.Clocks[i].End.Len()
		}
	}
	es = make([]edge, 0, 6*n+entries)
	possible = make([]edge, 0, 3*n+entries)
	add := func(from, to int32, k uint8) { es = append(es, edge{from, to, k}) }
	for i := range n {
		s := int32(2 * i)
		add(s, s+1, edgeStructure)
		if p := t.Parent[i]; p >= 0 {
			add(2*p, s, edgeStructure)
			if c.synchronous(int(p), i) {
				add(s+1, 2*p+1, edgeStructure)
			}
		}
		sp := &t.Spans[i]
		for _, l := range sp.Links {
			if l.TraceID != sp.TraceID {
				continue
			}
			if j := t.Index(l.SpanID); j >= 0 && j != i {
				add(int32(2*j), s, edgeStructure)
			}
		}
	}
	// The processes' chains.
	chains := map[string][]chainItem{}
	var names []string
	for i := range n {
		if !t.ClockOK[i] {
			continue
		}
		node := t.Clocks[i].Node
		if _, ok := chains[node]; !ok {
			names = append(names, node)
		}
		chains[node] = append(chains[node],
			chainItem{t.Clocks[i].Tick, false, int32(2 * i)},
			chainItem{c.endCount[i], true, int32(2*i + 1)})
	}
	// Index the longest chains (maxChains at most): each event's chain
	// and position (see chainPos).
	c.chainOf = make([]int16, nodes, nodes+n)
	c.posOf = make([]int32, nodes, nodes+n)
	for i := range c.chainOf {
		c.chainOf[i] = -1
	}
	ranked := slices.Clone(names)
	slices.SortStableFunc(ranked, func(a, b string) int { return cmp.Compare(len(chains[b]), len(chains[a])) })
	chainID := map[string]int16{}
	for k, name := range ranked[:min(len(ranked), maxChains)] {
		chainID[name] = int16(k)
	}
	c.chains = min(len(ranked), maxChains)
	starts := map[string][]chainItem{} // each node's starts by tick
	type counterGroup struct {
		count uint64
		proxy int32
	}
	groups := map[string][]counterGroup{}
	var gstartBuf, gendBuf []int32
	for _, name := range names {
		prevProxy := int32(0)
		q, indexed := chainID[name]
		gi := int32(0)
		ch := chains[name]
		slices.SortFunc(ch, func(a, b chainItem) int {
			if c := cmp.Compare(a.count, b.count); c != 0 {
				return c
			}
			if a.end != b.end {
				if a.end {
					return 1
				}
				return -1
			}
			return cmp.Compare(a.ev, b.ev)
		})
		var st []chainItem
		// prev holds the events of the last counter group that later
		// events must follow: one node, or a barrier.
		prev := int32(-1)
		for g := 0; g < len(ch); {
			h := g
			for h < len(ch) && ch[h].count == ch[g].count {
				h++
			}
			group := ch[g:h]
			gstarts, gends := gstartBuf[:0], gendBuf[:0]
			for _, it := range group {
				if indexed {
					c.chainOf[it.ev], c.posOf[it.ev] = q, 3*gi
					if it.end {
						c.posOf[it.ev]++
					}
				}
				if it.end {
					gends = append(gends, it.ev)
				} else {
					gstarts = append(gstarts, it.ev)
					st = append(st, it)
				}
			}
			proxies++
			px := -int32(proxies)
			groups[name] = append(groups[name], counterGroup{ch[g].count, px})
			if prevProxy != 0 {
				possible = append(possible, edge{prevProxy, px, 0})
			}
			prevProxy = px
			for _, e := range gends {
				possible = append(possible, edge{e, px, 0}, edge{px, e, 0})
			}
			// Entry: the group's starts, else its ends.
			entry := gstarts
			if len(entry) == 0 {
				entry = gends
			}
			if prev >= 0 {
				for _, e := range entry {
					add(prev, e, edgeClock)
				}
			}
			if len(gstarts) > 0 {
				for _, s := range gstarts {
					for _, e := range gends {
						if e != s+1 { // a span's own start-end edge is already there
							add(s, e, edgeClock)
						}
					}
				}
			}
			// Exit: one node if the group has one member, else a barrier.
			if len(group) == 1 {
				prev = group[0].ev
			} else {
				bar := int32(nodes)
				nodes++
				c.chainOf, c.posOf = append(c.chainOf, -1), append(c.posOf, 0)
				if indexed {
					c.chainOf[bar], c.posOf[bar] = q, 3*gi+2
				}
				for _, it := range group {
					add(it.ev, bar, edgeClock)
				}
				prev = bar
			}
			gstartBuf, gendBuf = gstarts, gends
			gi++
			g = h
		}
		starts[name] = st
	}
	c.starts = starts
	// What each event saw of other nodes.
	// nodeChain is what an event that saw a node's counter c needs: the
	// latest start with tick <= c and the latest counter group <= c; by
	// binary search, or from dense tables when the counters are dense.
	type nodeChain struct {
		starts     []chainItem
		groups     []counterGroup
		denseStart []int32 // by counter: the event, -1 for none
		denseProxy []int32 // by counter: the proxy, 0 for none
	}
	byNode := make(map[string]nodeChain, len(names))
	for _, name := range names {
		nc := nodeChain{starts: starts[name], groups: groups[name]}
		if gs := nc.groups; len(gs) > 0 && gs[len(gs)-1].count <= uint64(4*len(gs)+64) {
			top := gs[len(gs)-1].count
			nc.denseStart, nc.denseProxy = make([]int32, top+1), make([]int32, top+1)
			si, gi := 0, 0
			lastStart, lastProxy := int32(-1), int32(0)
			for cnt := uint64(0); cnt <= top; cnt++ {
				for si < len(nc.starts) && nc.starts[si].count <= cnt {
					lastStart = nc.starts[si].ev
					si++
				}
				for gi < len(gs) && gs[gi].count <= cnt {
					lastProxy = gs[gi].proxy
					gi++
				}
				nc.denseStart[cnt], nc.denseProxy[cnt] = lastStart, lastProxy
			}
		}
		byNode[name] = nc
	}
	var baseEntries []vclock.Entry
	seen := func(ev int32, node string, clk vclock.Clock, base *vclock.Clock) {
		baseEntries = baseEntries[:0]
		if base != nil {
			for m, k := range base.All() {
				baseEntries = append(baseEntries, vclock.Entry{Node: m, Count: k})
			}
		}
		j := 0 // base's entries, merged in node order
		for m, cnt := range clk.All() {
			for j < len(baseEntries) && baseEntries[j].Node < m {
				j++
			}
			if m == node || (j < len(baseEntries) && baseEntries[j].Node == m && baseEntries[j].Count >= cnt) {
				continue
			}
			nc, ok := byNode[m]
			if !ok {
				continue
			}
			if nc.denseStart != nil {
				c := min(cnt, uint64(len(nc.denseStart)-1))
				if e := nc.denseStart[c]; e >= 0 {
					add(e, ev, edgeClock)
				}
				if px := nc.denseProxy[c]; px != 0 {
					possible = append(possible, edge{px, ev, 0})
				}
				continue
			}
			st := nc.starts
			k, found := slices.BinarySearchFunc(st, cnt, func(it chainItem, c uint64) int { return cmp.Compare(it.count, c) })
			if found {
				for k+1 < len(st) && st[k+1].count == cnt {
					k++
				}
				k++
			}
			// st[k-1] is the latest start with tick <= cnt.
			if k > 0 {
				add(st[k-1].ev, ev, edgeClock)
			}
			gs := nc.groups
			if k, _ := slices.BinarySearchFunc(gs, cnt+1, func(g counterGroup, c uint64) int { return cmp.Compare(g.count, c) }); k > 0 {
				possible = append(possible, edge{gs[k-1].proxy, ev, 0})
			}
		}
	}
	for i := range n {
		if !t.ClockOK[i] {
			continue
		}
		sc := &t.Clocks[i]
		seen(int32(2*i), sc.Node, sc.Start, nil)
		seen(int32(2*i+1), sc.Node, sc.End, &sc.Start)
	}
	return es, possible, nodes, proxies
}

// synchronous reports whether child's end precedes parent's end (see the
// notes at the top).
func (c *Causal) synchronous(parent, child int) bool {
	t := c.t
	switch t.Spans[child].Kind {
	case storage.KindProducer, storage.KindConsumer:
		return false
	}
	if t.ClockOK[parent] && t.ClockOK[child] && t.Clocks[parent].Node == t.Clocks[child].Node &&
		c.endCount[child] > c.endCount[parent] {
		return false
	}
	if t.Instance[parent] == t.Instance[child] {
		return t.Spans[child].EndTime <= t.Spans[parent].EndTime
	}
	// A remote child with a clock (a server span under a client span) is
	// synchronous only when the parent's end clock has seen the child's end:
	// the RPC instrumentation ends a server span after it has sent the
	// answer (gRPC's stats handlers report the end once the status is
	// written), so the server may start other work, and end the span, after
	// the client has merged the answer's clock and returned.
	// Without an answer's clock (the parent's end clock has no entry for the
	// child's node), kind alone decides.
	if t.ClockOK[parent] && t.ClockOK[child] {
		if seen := t.Clocks[parent].End.Get(t.Clocks[child].Node); seen > 0 {
			return seen >= c.endCount[child]
		}
	}
	return true
}

// condense finds the strongly connected components (iterative Tarjan),
// builds the condensed graph and labels it.
func (c *Causal) condense(nodes int, es []edge) {
	g := buildGraph(nodes, es, false)
	const none = -1
	index := make([]int32, nodes)
	lowl := make([]int32, nodes)
	onStack := make([]bool, nodes)
	for i := range index {
		index[i] = none
	}
	comp := make([]int32, nodes)
	var stack []int32
	type frame struct{ v, e int32 }
	var call []frame
	next, ncomp := int32(0), int32(0)
	var sizes []int32
	for root := range int32(nodes) {
		if index[root] != none {
			continue
		}
		call = append(call, frame{root, g.off[root]})
		index[root], lowl[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			v := f.v
			if f.e < g.off[v+1] {
				w := g.to[f.e]
				f.e++
				if index[w] == none {
					index[w], lowl[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, g.off[w]})
				} else if onStack[w] {
					lowl[v] = min(lowl[v], index[w])
				}
				continue
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				u := call[len(call)-1].v
				lowl[u] = min(lowl[u], lowl[v])
			}
			if lowl[v] == index[v] {
				size := int32(0)
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp[w] = ncomp
					size++
					if w == v {
						break
					}
				}
				sizes = append(sizes, size)
				ncomp++
			}
		}
	}
	c.comp = comp
	c.cyclic = make([]bool, ncomp)
	for k, s := range sizes {
		c.cyclic[k] = s > 1
	}
	// Tarjan emits components in reverse topological order.
	c.topo = make([]int32, ncomp)
	for k := range ncomp {
		c.topo[k] = ncomp - 1 - k
	}
	ces := es[:0]
	for _, e := range es {
		if a, b := comp[e.from], comp[e.to]; a != b {
			ces = append(ces, edge{a, b, e.kind})
		}
	}
	// Clock edges first, so that searches prefer clock paths.
	slices.SortStableFunc(ces, func(a, b edge) int { return cmp.Compare(a.kind, b.kind) })
	c.fwd = buildGraph(int(ncomp), ces, false)
	c.bwd = buildGraph(int(ncomp), ces, true)
	c.grail(int(ncomp))
}

// grail computes the interval labellings: for each, a post-order rank and
// the lowest rank below each node, from depth-first searches that visit
// roots and children in a random (seeded, so deterministic) order.
func (c *Causal) grail(nc int) {
	rng := rand.New(rand.NewPCG(0x7472616365, 0x636175736c))
	indeg := make([]int32, nc)
	for _, w := range c.fwd.to {
		indeg[w]++
	}
	var roots []int32
	for v := range int32(nc) {
		if indeg[v] == 0 {
			roots = append(roots, v)
		}
	}
	type frame struct{ v, i, rot int32 }
	for l := range grailLabels {
		rank := make([]int32, nc)
		low := make([]int32, nc)
		seen := make([]bool, nc)
		rng.Shuffle(len(roots), func(i, j int) { roots[i], roots[j] = roots[j], roots[i] })
		r := int32(0)
		var call []frame
		push := func(v int32) {
			seen[v] = true
			low[v] = 1<<31 - 1
			d := c.fwd.off[v+1] - c.fwd.off[v]
			rot := int32(0)
			if d > 1 {
				rot = rng.Int32N(d)
			}
			call = append(call, frame{v, 0, rot})
		}
		for _, root := range roots {
			push(root)
			for len(call) > 0 {
				f := &call[len(call)-1]
				v := f.v
				out, _ := c.fwd.edges(v)
				if int(f.i) < len(out) {
					w := out[(f.i+f.rot)%int32(len(out))]
					f.i++
					if !seen[w] {
						push(w)
					} else {
						low[v] = min(low[v], low[w])
					}
					continue
				}
				rank[v] = r
				r++
				low[v] = min(low[v], rank[v])
				call = call[:len(call)-1]
				if len(call) > 0 {
					u := call[len(call)-1].v
					low[u] = min(low[u], low[v])
				}
			}
		}
		c.rank[l], c.low[l] = rank, low
	}
}

// labelTree numbers the span tree in pre and post order.
func (c *Causal) labelTree() {
	t := c.t
	n := t.Len()
	c.pre, c.post = make([]int32, n), make([]int32, n)
	type frame struct{ v, i int32 }
	var call []frame
	pre, post := int32(0), int32(0)
	for _, r := range t.Roots {
		c.pre[r] = pre
		pre++
		call = append(call, frame{r, 0})
		for len(call) > 0 {
			f := &call[len(call)-1]
			if ch := t.Children[f.v]; int(f.i) < len(ch) {
				w := ch[f.i]
				f.i++
				c.pre[w] = pre
				pre++
				call = append(call, frame{w, 0})
				continue
			}
			c.post[f.v] = post
			post++
			call = call[:len(call)-1]
		}
	}
}

// labelClockComps joins clocked spans through parent and link edges
// (union-find).
func (c *Causal) labelClockComps() {
	t := c.t
	n := t.Len()
	up := make([]int32, n)
	for i := range up {
		up[i] = int32(i)
	}
	find := func(x int32) int32 {
		for up[x] != x {
			up[x] = up[up[x]]
			x = up[x]
		}
		return x
	}
	union := func(a, b int32) {
		if ra, rb := find(a), find(b); ra != rb {
			up[max(ra, rb)] = min(ra, rb)
		}
	}
	for i := range n {
		if !t.ClockOK[i] {
			continue
		}
		if p := t.Parent[i]; p >= 0 && t.ClockOK[p] {
			union(p, int32(i))
		}
		sp := &t.Spans[i]
		for _, l := range sp.Links {
			if j := t.Index(l.SpanID); l.TraceID == sp.TraceID && j >= 0 && t.ClockOK[j] {
				union(int32(j), int32(i))
			}
		}
	}
	c.clockComp = make([]int32, n)
	for i := range n {
		c.clockComp[i] = -1
		if t.ClockOK[i] {
			c.clockComp[i] = find(int32(i))
		}
	}
}

func (c *Causal) valid(e Event) bool { return e.Span >= 0 && e.Span < c.t.Len() }

func node(e Event) int32 {
	if e.End {
		return int32(2*e.Span + 1)
	}
	return int32(2 * e.Span)
}

// eventClock is the clock of e (its span must have one).
func (c *Causal) eventClock(e Event) vclock.Clock {
	if e.End {
		return c.t.Clocks[e.Span].End
	}
	return c.t.Clocks[e.Span].Start
}

// Relation tells how event a relates to event b: Before means a happened
// before b. Events of spans outside the trace give Unknown with
// ReasonBadEvent.
func (c *Causal) Relation(a, b Event) Relation {
	if !c.valid(a) || !c.valid(b) {
		return Relation{Unknown, ReasonBadEvent}
	}
	if a == b {
		return Relation{Same, ReasonNone}
	}
	ca, cb := c.comp[node(a)], c.comp[node(b)]
	if ca == cb {
		return Relation{Unknown, ReasonConflict}
	}
	if c.clockSeen(a, b) {
		return Relation{Before, ReasonClock}
	}
	if c.clockSeen(b, a) {
		return Relation{After, ReasonClock}
	}
	if c.treeBefore(a, b) {
		return Relation{Before, ReasonStructure}
	}
	if c.treeBefore(b, a) {
		return Relation{After, ReasonStructure}
	}
	if r, ok := c.path(a, b, ca, cb); ok {
		return Relation{Before, r}
	}
	if r, ok := c.path(b, a, cb, ca); ok {
		return Relation{After, r}
	}
	return c.unordered(a, b)
}

// path searches a path from u to v and names its reason: a path of clock
// edges alone, else of structure edges alone, else a mixed one.
func (c *Causal) path(a, b Event, u, v int32) (Reason, bool) {
	if !c.reaches(u, v) {
		return 0, false
	}
	if c.structureBefore(a, b) {
		return ReasonStructure, true
	}
	if c.hasLinks {
		if k, ok := c.reach(u, v, edgeStructure); ok {
			return pathReason(k), true
		}
	}
	return ReasonClockAndStructure, true
}

// Before reports whether a happened before b.
func (c *Causal) Before(a, b Event) bool { return c.Relation(a, b).Order == Before }

func pathReason(k uint8) Reason {
	switch k {
	case edgeClock:
		return ReasonClock
	case edgeStructure:
		return ReasonStructure
	default:
		return ReasonClockAndStructure
	}
}

// clockSeen reports whether b's clock has seen a, which the process chains
// and the clock edges put on a path from a to b.
func (c *Causal) clockSeen(a, b Event) bool {
	t := c.t
	if !t.ClockOK[a.Span] || !t.ClockOK[b.Span] {
		return false
	}
	sa := &t.Clocks[a.Span]
	got := c.eventClock(b).Get(sa.Node)
	if b.End && t.Clocks[b.Span].Node == sa.Node {
		got = c.endCount[b.Span]
	}
	if a.End {
		// b saw a later tick of a's node than a's end: on the graph's
		// path only if a start of that tick, or a later one up to it,
		// is in the trace.
		if b.End && t.Clocks[b.Span].Node == sa.Node {
			return got > c.endCount[a.Span]
		}
		st := c.starts[sa.Node]
		k, _ := slices.BinarySearchFunc(st, got+1, func(it chainItem, c uint64) int { return cmp.Compare(it.count, c) })
		return k > 0 && st[k-1].count > c.endCount[a.Span]
	}
	if got < sa.Tick {
		return false
	}
	// Another start of the same node and tick (bad data) is not after a.
	return b.End || t.Clocks[b.Span].Node != sa.Node || t.Clocks[b.Span].Tick != sa.Tick
}

// treeBefore reports the tree's own orders: a's start precedes the events
// of its descendants (and its own end).
func (c *Causal) treeBefore(a, b Event) bool {
	if a.End {
		return false
	}
	x, y := a.Span, b.Span
	if x == y {
		return b.End
	}
	return c.pre[x] < c.pre[y] && c.post[y] < c.post[x]
}

// maybeReaches applies the labels: false proves u does not reach v.
func (c *Causal) maybeReaches(u, v int32) bool {
	if c.topo[u] >= c.topo[v] {
		return false
	}
	for l := range grailLabels {
		if c.low[l][v] < c.low[l][u] || c.rank[l][v] > c.rank[l][u] {
			return false
		}
	}
	return true
}

type scratch struct {
	mark  []uint32
	gen   uint32
	pred  []int32
	kind  []uint8
	stack []int32
}

func (c *Causal) getScratch() *scratch {
	if s, ok := c.scratch.Get().(*scratch); ok {
		s.gen++
		if s.gen == 0 {
			clear(s.mark)
			s.gen = 1
		}
		return s
	}
	n := len(c.topo)
	return &scratch{mark: make([]uint32, n), gen: 1, pred: make([]int32, n), kind: make([]uint8, n)}
}

// reach searches a path from u to v in the condensed graph over edges of
// the kinds in mask and returns the kinds of edges on the path it found.
func (c *Causal) reach(u, v int32, mask uint8) (uint8, bool) {
	if !c.maybeReaches(u, v) {
		return 0, false
	}
	s := c.getScratch()
	defer c.scratch.Put(s)
	s.stack = append(s.stack[:0], u)
	s.mark[u] = s.gen
	for len(s.stack) > 0 {
		x := s.stack[len(s.stack)-1]
		s.stack = s.stack[:len(s.stack)-1]
		out, kinds := c.fwd.edges(x)
		for i, w := range out {
			if s.mark[w] == s.gen || kinds[i]&mask == 0 {
				continue
			}
			if w != v && !c.maybeReaches(w, v) {
				continue
			}
			s.mark[w] = s.gen
			s.pred[w], s.kind[w] = x, kinds[i]
			if w == v {
				var k uint8
				for y := v; y != u; y = s.pred[y] {
					k |= s.kind[y]
				}
				return k, true
			}
			s.stack = append(s.stack, w)
		}
	}
	return 0, false
}

// unordered decides between Concurrent and Unknown for two events that no
// path joins.
func (c *Causal) unordered(a, b Event) Relation {
	t := c.t
	if !t.ClockOK[a.Span] || !t.ClockOK[b.Span] {
		return Relation{Unknown, ReasonMissingClock}
	}
	ka, kb := c.eventClock(a), c.eventClock(b)
	if ka.Pruned() || kb.Pruned() {
		return Relation{Unknown, ReasonPrunedClock}
	}
	if c.clockComp[a.Span] != c.clockComp[b.Span] || c.tainted[node(a)] || c.tainted[node(b)] {
		return Relation{Unknown, ReasonMissingClock}
	}
	if t.Clocks[a.Span].Node == t.Clocks[b.Span].Node || vclock.Compare(ka, kb) != vclock.Concurrent {
		return Relation{Unknown, ReasonClock}
	}
	return Relation{Concurrent, ReasonClock}
}

// ConcurrentWith returns the spans whose whole interval is concurrent with
// span's, in index order: x such that x's start and span's end, and span's
// start and x's end, are Concurrent (then no event of x is ordered with any
// event of span, and all four clocks are whole). Nil for a span outside the
// trace.
func (c *Causal) ConcurrentWith(span int) []int {
	if !c.valid(StartOf(span)) {
		return nil
	}
	after := c.closure(c.comp[node(StartOf(span))], &c.fwd)
	before := c.closure(c.comp[node(EndOf(span))], &c.bwd)
	var out []int
	for x := range c.t.Len() {
		if x == span || after[c.comp[node(EndOf(x))]] || before[c.comp[node(StartOf(x))]] {
			continue
		}
		if c.unordered(StartOf(x), EndOf(span)).Order == Concurrent &&
			c.unordered(StartOf(span), EndOf(x)).Order == Concurrent {
			out = append(out, x)
		}
	}
	return out
}

// closure marks what u reaches in g (itself included).
func (c *Causal) closure(u int32, g *graph) []bool {
	seen := make([]bool, len(c.topo))
	seen[u] = true
	stack := []int32{u}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out, _ := g.edges(x)
		for _, w := range out {
			if !seen[w] {
				seen[w] = true
				stack = append(stack, w)
			}
		}
	}
	return seen
}

// CausalOrder returns the spans (indexes) in an order consistent with
// happened-before of their starts: a span whose start happened before
// another's comes first. Among events free to go next, the earliest
// timestamp goes first, ties by span id; the events of a cycle (bad data)
// go together at the place of the earliest of them. Deterministic.
func (c *Causal) CausalOrder() []int {
	t := c.t
	nc := len(c.topo)
	// Each condensed node's member events (in event order, so by span
	// index), in one array: memberOf[k] is events[off[k]:off[k+1]].
	off := make([]int32, nc+1)
	for ev := range 2 * t.Len() {
		off[c.comp[ev]+1]++
	}
	for k := range nc {
		off[k+1] += off[k]
	}
	events := make([]int32, 2*t.Len())
	next := slices.Clone(off[:nc])
	for ev := range 2 * t.Len() {
		k := c.comp[ev]
		events[next[k]] = int32(ev)
		next[k]++
	}
	members := func(k int32) []int32 { return events[off[k]:off[k+1]] }
	// Each condensed node's key, in one pass over the spans (barriers,
	// without members, go first).
	keys := make([]orderKey, nc)
	has := make([]bool, nc)
	for i := range keys {
		keys[i] = orderKey{time: -1 << 63, idx: -1}
	}
	for sp := range t.Len() {
		s := &t.Spans[sp]
		for _, ok := range [2]orderKey{{time: s.StartTime, idx: int32(sp)}, {time: s.EndTime, idx: int32(sp), end: true}} {
			k := c.comp[2*sp]
			if ok.end {
				k = c.comp[2*sp+1]
			}
			if !has[k] || ok.less(keys[k]) {
				keys[k], has[k] = ok, true
			}
		}
	}
	key := func(k int32) orderKey { return keys[k] }
	indeg := make([]int32, nc)
	for _, w := range c.fwd.to {
		indeg[w]++
	}
	var h orderHeap
	for k := range int32(nc) {
		if indeg[k] == 0 {
			h.push(orderItem{key(k), k})
		}
	}
	out := make([]int, 0, t.Len())
	for len(h) > 0 {
		it := h.pop()
		for _, ev := range members(it.node) {
			if ev%2 == 0 {
				out = append(out, int(ev/2))
			}
		}
		out2, _ := c.fwd.edges(it.node)
		for _, w := range out2 {
			if indeg[w]--; indeg[w] == 0 {
				h.push(orderItem{key(w), w})
			}
		}
	}
	return out
}

type orderKey struct {
	time int64
	idx  int32 // span index: start order, ties by span id
	end  bool
}

func (a orderKey) less(b orderKey) bool {
	if a.time != b.time {
		return a.time < b.time
	}
	if a.idx != b.idx {
		return a.idx < b.idx
	}
	return !a.end && b.end
}

type orderItem struct {
	key  orderKey
	node int32
}

// orderHeap is a binary min-heap of orderItems by key.
type orderHeap []orderItem

func (h *orderHeap) push(it orderItem) {
	*h = append(*h, it)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if !a[i].key.less(a[p].key) {
			break
		}
		a[i], a[p] = a[p], a[i]
		i = p
	}
}

func (h *orderHeap) pop() orderItem {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(a) && a[l].key.less(a[m].key) {
			m = l
		}
		if r := l + 1; r < len(a) && a[r].key.less(a[m].key) {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}
