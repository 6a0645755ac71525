package analysis

import (
	"slices"
	"strconv"
	"testing"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

// cs describes a crafted span: its clock as the SDK records it (node "" for
// none), its kind, times and links.
type cs struct {
	id, parent byte
	kind       storage.SpanKind
	start, end int64
	svc        string
	node       string
	tick       uint64
	deps       string
	endTick    uint64
	endDeps    string
	links      []byte
}

var craftTrace = storage.TraceID{1, 2, 3}

func (c cs) span() storage.Span {
	s := storage.Span{TraceID: craftTrace, SpanID: sid(c.id), Kind: c.kind, StartTime: c.start, EndTime: c.end, Service: c.svc, Name: "s" + strconv.Itoa(int(c.id))}
	if s.Service == "" {
		s.Service = "svc-" + c.node
	}
	if c.parent != 0 {
		s.ParentSpanID = sid(c.parent)
	}
	if c.node != "" {
		s.Attributes = append(s.Attributes,
			storage.Attribute{Key: vclock.AttrNode, Value: c.node},
			storage.Attribute{Key: vclock.AttrTick, Type: storage.TypeInt, Value: strconv.FormatUint(c.tick, 10)})
		if c.deps != "" {
			s.Attributes = append(s.Attributes, storage.Attribute{Key: vclock.AttrDeps, Value: c.deps})
		}
		if c.endTick != 0 {
			s.Attributes = append(s.Attributes, storage.Attribute{Key: vclock.AttrEndTick, Type: storage.TypeInt, Value: strconv.FormatUint(c.endTick, 10)})
		}
		if c.endDeps != "" {
			s.Attributes = append(s.Attributes, storage.Attribute{Key: vclock.AttrEndDeps, Value: c.endDeps})
		}
	}
	for _, l := range c.links {
		s.Links = append(s.Links, storage.Link{TraceID: craftTrace, SpanID: sid(l)})
	}
	return s
}

func craft(t *testing.T, specs ...cs) (*Causal, func(id byte) int) {
	t.Helper()
	spans := make([]storage.Span, len(specs))
	for i, c := range specs {
		spans[i] = c.span()
	}
	tr := NewTrace(spans)
	for i, c := range specs {
		if c.node != "" && !tr.ClockOK[tr.Index(sid(c.id))] {
			t.Fatalf("span %d (#%d): clock not accepted", c.id, i)
		}
	}
	return NewCausal(tr), func(id byte) int {
		i := tr.Index(sid(id))
		if i < 0 {
			t.Fatalf("no span %d", id)
		}
		return i
	}
}

const (
	server   = storage.KindServer
	client   = storage.KindClient
	internal = storage.KindInternal
	producer = storage.KindProducer
	consumer = storage.KindConsumer
)

type ev struct {
	id  byte
	end bool
}

func s(id byte) ev { return ev{id, false} }
func e(id byte) ev { return ev{id, true} }

type relCase struct {
	name string
	a, b ev
	want Relation
}

func checkRelations(t *testing.T, c *Causal, idx func(byte) int, cases []relCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			a, b := Event{idx(tt.a.id), tt.a.end}, Event{idx(tt.b.id), tt.b.end}
			if got := c.Relation(a, b); got != tt.want {
				t.Errorf("Relation(%v, %v) = %v/%v, want %v/%v", tt.a, tt.b, got.Order, got.Reason, tt.want.Order, tt.want.Reason)
			}
			// The converse answer.
			want := tt.want
			switch want.Order {
			case Before:
				want.Order = After
			case After:
				want.Order = Before
			}
			if got := c.Relation(b, a); got != want {
				t.Errorf("Relation(%v, %v) = %v/%v, want %v/%v", tt.b, tt.a, got.Order, got.Reason, want.Order, want.Reason)
			}
		})
	}
}

func rel(o Order, r Reason) Relation { return Relation{o, r} }

// A's root calls B; B's server span has a child. The clocks cross both
// ways (request and response).
func TestRelationTwoProcesses(t *testing.T) {
	c, idx := craft(t,
		cs{id: 1, kind: server, start: 0, end: 100, node: "a", tick: 1, endTick: 2, endDeps: "b:2"},
		cs{id: 2, parent: 1, kind: client, start: 10, end: 90, node: "a", tick: 2, endDeps: "b:2"},
		// B's clock runs 1000 ns ahead: timestamps must not matter.
		cs{id: 3, parent: 2, kind: server, start: 1020, end: 1080, node: "b", tick: 1, deps: "a:2", endTick: 2},
		cs{id: 4, parent: 3, kind: internal, start: 1030, end: 1070, node: "b", tick: 2, deps: "a:2"},
	)
	checkRelations(t, c, idx, []relCase{
		{"same event", s(3), s(3), rel(Same, ReasonNone)},
		{"root start before B's child by the clock", s(1), s(4), rel(Before, ReasonClock)},
		{"a span's start before its end", s(4), e(4), rel(Before, ReasonClock)},
		// One counter for both ends: the clock cannot order them, the
		// synchronous child can.
		{"B's child end before B's server end, same node", e(4), e(3), rel(Before, ReasonStructure)},
		{"B's server end before the client's end, a synchronous call", e(3), e(2), rel(Before, ReasonStructure)},
		{"B's child end before the root's end, transitively", e(4), e(1), rel(Before, ReasonStructure)},
		{"B's child start before the root's end: B's tick seen by a's end", s(4), e(1), rel(Before, ReasonClock)},
	})
	if got := c.ConcurrentWith(idx(3)); len(got) != 0 {
		t.Errorf("ConcurrentWith(B's server) = %v, want none", got)
	}
	if got, want := c.CausalOrder(), []int{idx(1), idx(2), idx(3), idx(4)}; !slices.Equal(got, want) {
		t.Errorf("CausalOrder = %v, want %v", got, want)
	}
}

// A's root calls B and C in parallel: the two calls overlap, so B's and C's
// work is concurrent; A's later, sequential call to D follows both.
func TestRelationParallelChildren(t *testing.T) {
	c, idx := craft(t,
		cs{id: 1, kind: server, start: 0, end: 100, node: "a", tick: 1, endTick: 4, endDeps: "b:1,c:1,d:1"},
		cs{id: 2, parent: 1, kind: client, start: 10, end: 50, node: "a", tick: 2, endTick: 3, endDeps: "b:1"},
		cs{id: 3, parent: 1, kind: client, start: 11, end: 52, node: "a", tick: 3, endDeps: "b:1,c:1"},
		cs{id: 4, parent: 2, kind: server, start: 20, end: 40, node: "b", tick: 1, deps: "a:2"},
		cs{id: 5, parent: 3, kind: server, start: 21, end: 41, node: "c", tick: 1, deps: "a:3"},
		cs{id: 6, parent: 1, kind: client, start: 60, end: 90, node: "a", tick: 4, deps: "b:1,c:1", endDeps: "b:1,c:1,d:1"},
		cs{id: 7, parent: 6, kind: server, start: 70, end: 80, node: "d", tick: 1, deps: "a:4,b:1,c:1"},
	)
	checkRelations(t, c, idx, []relCase{
		{"B's and C's starts", s(4), s(5), rel(Concurrent, ReasonClock)},
		{"B's end and C's start", e(4), s(5), rel(Concurrent, ReasonClock)},
		{"the two calls' starts, one process", s(2), s(3), rel(Before, ReasonClock)},
		{"B's work before D's: through the first call's end", e(4), s(7), rel(Before, ReasonClockAndStructure)},
		{"C's work before D's", s(5), s(7), rel(Before, ReasonClock)},
	})
	got := c.ConcurrentWith(idx(4))
	if want := []int{idx(5)}; !slices.Equal(got, want) {
		t.Errorf("ConcurrentWith(B) = %v, want %v", got, want)
	}
	order := c.CausalOrder()
	if want := []int{idx(1), idx(2), idx(3), idx(4), idx(5), idx(6), idx(7)}; !slices.Equal(order, want) {
		t.Errorf("CausalOrder = %v, want %v", order, want)
	}
}

// A child outlives its parent (work handed to a goroutine): its end is not
// before its parent's end, by the clock (same node, later counter) or by
// one host's timestamps without clocks.
func TestRelationChildOutlivesParent(t *testing.T) {
	t.Run("clocks", func(t *testing.T) {
		c, idx := craft(t,
			cs{id: 1, kind: server, start: 0, end: 10, node: "a", tick: 1, endTick: 2},
			cs{id: 2, parent: 1, kind: internal, start: 5, end: 50, node: "a", tick: 2, endTick: 3},
			cs{id: 3, parent: 2, kind: internal, start: 20, end: 30, node: "a", tick: 3},
		)
		checkRelations(t, c, idx, []relCase{
			{"child's end after the parent's end", e(2), e(1), rel(After, ReasonClock)},
			{"grandchild after the parent's end", s(3), e(1), rel(After, ReasonClock)},
			{"parent's start before child's end", s(1), e(2), rel(Before, ReasonClock)},
		})
	})
	t.Run("no clocks", func(t *testing.T) {
		c, idx := craft(t,
			cs{id: 1, kind: server, start: 0, end: 10, svc: "a"},
			cs{id: 2, parent: 1, kind: internal, start: 5, end: 50, svc: "a"},
			cs{id: 3, parent: 1, kind: internal, start: 6, end: 9, svc: "a"},
		)
		checkRelations(t, c, idx, []relCase{
			{"outliving child's end", e(2), e(1), rel(Unknown, ReasonMissingClock)},
			{"a child that ends in time", e(3), e(1), rel(Before, ReasonStructure)},
			{"parent's start before the child's end", s(1), e(2), rel(Before, ReasonStructure)},
			{"the two children", s(2), s(3), rel(Unknown, ReasonMissingClock)},
		})
		if got := c.ConcurrentWith(idx(2)); len(got) != 0 {
			t.Errorf("ConcurrentWith = %v, want none without clocks", got)
		}
	})
}

// A producer's message is consumed in another process, in a span of its own
// trace root that links to the producer; a second consumer is the
// producer's child of kind consumer.
func TestRelationProducerConsumer(t *testing.T) {
	c, idx := craft(t,
		cs{id: 1, kind: server, start: 0, end: 30, node: "a", tick: 1, endTick: 2},
		cs{id: 2, parent: 1, kind: producer, start: 5, end: 10, node: "a", tick: 2},
		// Consumer without clock, linked.
		cs{id: 3, kind: consumer, start: 50, end: 80, svc: "q", links: []byte{2}},
		cs{id: 4, parent: 3, kind: internal, start: 60, end: 70, svc: "q"},
		// Consumer with clock, child of the producer: async, its end is
		// not before the producer's.
		cs{id: 5, parent: 2, kind: consumer, start: 40, end: 90, node: "w", tick: 1, deps: "a:2"},
		// The linked consumer, with clock, that outlived A.
		cs{id: 6, kind: consumer, start: 55, end: 95, node: "v", tick: 1, deps: "a:2", links: []byte{2}},
	)
	checkRelations(t, c, idx, []relCase{
		{"producer before the linked consumer", s(2), s(3), rel(Before, ReasonStructure)},
		{"A's root before the consumer's child", s(1), s(4), rel(Before, ReasonStructure)},
		{"producer end vs linked consumer end", e(2), e(3), rel(Unknown, ReasonMissingClock)},
		{"child consumer's end is not before the producer's end", e(5), e(2), rel(Unknown, ReasonClock)},
		{"child consumer's start after the producer's start", s(5), s(2), rel(After, ReasonClock)},
		{"clocked linked consumer after the producer", s(6), s(2), rel(After, ReasonClock)},
		{"two consumers of one message", s(5), s(6), rel(Concurrent, ReasonClock)},
		// vclock.Compare says Before (the consumer saw a:2, A's end has
		// a:2), but an end is not a tick: the consumer may have started
		// before A's root ended.
		{"A's end and a consumer that saw A's counter", e(1), s(6), rel(Unknown, ReasonClock)},
	})
}

// A -> X -> C where X is a plain OpenTelemetry service without clocks, and A
// calls B in parallel. Nothing behind X is concurrent with A or B, even where
// C's clock (wrongly) is not pruned.
func TestRelationHopWithoutClock(t *testing.T) {
	for _, pruned := range []bool{true, false} {
		mark := ""
		if pruned {
			mark = "!"
		}
		t.Run("pruned "+strconv.FormatBool(pruned), func(t *testing.T) {
			c, idx := craft(t,
				cs{id: 1, kind: server, start: 0, end: 100, node: "a", tick: 1, endTick: 4, endDeps: "b:1"},
				cs{id: 2, parent: 1, kind: client, start: 10, end: 80, node: "a", tick: 2, endTick: 3},
				cs{id: 3, parent: 1, kind: client, start: 12, end: 30, node: "a", tick: 3, endDeps: "b:1"},
				cs{id: 4, parent: 3, kind: server, start: 15, end: 25, node: "b", tick: 1, deps: "a:3"},
				cs{id: 5, parent: 2, kind: server, start: 20, end: 70, svc: "x"},
				cs{id: 6, parent: 5, kind: client, start: 22, end: 68, svc: "x"},
				cs{id: 7, parent: 6, kind: server, start: 24, end: 66, node: "c", tick: 1, deps: mark, endTick: 2},
				cs{id: 8, parent: 7, kind: internal, start: 26, end: 60, node: "c", tick: 2, deps: mark},
				cs{id: 9, parent: 1, kind: internal, start: 85, end: 95, node: "a", tick: 4, deps: "b:1"},
			)
			unknown := ReasonMissingClock
			if pruned {
				unknown = ReasonPrunedClock
			}
			checkRelations(t, c, idx, []relCase{
				{"A's call before C's work, through X", s(2), s(8), rel(Before, ReasonStructure)},
				{"C's work ends before A's later span starts", e(8), s(9), rel(Before, ReasonClockAndStructure)},
				{"B's work vs C's work", s(4), s(8), rel(Unknown, unknown)},
				{"B's end vs C's start", e(4), s(7), rel(Unknown, unknown)},
				{"X's span vs B's", s(5), s(4), rel(Unknown, ReasonMissingClock)},
			})
			for _, id := range []byte{4, 7, 8} {
				if got := c.ConcurrentWith(idx(id)); len(got) != 0 {
					t.Errorf("ConcurrentWith(%d) = %v, want none", id, got)
				}
			}
		})
	}
}

// Missing, malformed and pruned clocks.
func TestRelationMissingAndPrunedClocks(t *testing.T) {
	bad := cs{id: 5, parent: 1, kind: server, start: 5, end: 9, svc: "e"}.span()
	bad.Attributes = []storage.Attribute{{Key: vclock.AttrNode, Value: "e"}, {Key: vclock.AttrTick, Value: "zero"}}
	specs := []cs{
		{id: 1, kind: server, start: 0, end: 100, node: "a", tick: 1, endTick: 4, endDeps: "!b:1,c:1"},
		{id: 2, parent: 1, kind: client, start: 1, end: 50, node: "a", tick: 2, endTick: 4, endDeps: "!b:1,c:1"},
		{id: 3, parent: 1, kind: client, start: 2, end: 50, node: "a", tick: 3, endTick: 4, endDeps: "!b:1,c:1"},
		{id: 4, parent: 1, kind: client, start: 3, end: 50, node: "a", tick: 4, endDeps: "!b:1,c:1"},
		{id: 6, parent: 2, kind: server, start: 10, end: 20, node: "b", tick: 1, deps: "!a:2"},
		{id: 7, parent: 3, kind: server, start: 10, end: 20, node: "c", tick: 1, deps: "a:3"},
		{id: 8, parent: 4, kind: server, start: 10, end: 20, svc: "d"},
	}
	spans := []storage.Span{bad}
	for _, c := range specs {
		spans = append(spans, c.span())
	}
	tr := NewTrace(spans)
	c := NewCausal(tr)
	idx := func(id byte) int { return tr.Index(sid(id)) }
	checkRelations(t, c, idx, []relCase{
		{"pruned vs whole", s(6), s(7), rel(Unknown, ReasonPrunedClock)},
		{"no clock vs whole", s(8), s(7), rel(Unknown, ReasonMissingClock)},
		{"malformed clock vs whole", s(5), s(7), rel(Unknown, ReasonMissingClock)},
		{"pruned clock still orders what it saw", s(1), s(6), rel(Before, ReasonClock)},
		{"no clock: structure still orders", s(1), s(8), rel(Before, ReasonStructure)},
	})
	if got := c.Relation(StartOf(-1), StartOf(0)); got != rel(Unknown, ReasonBadEvent) {
		t.Errorf("bad event: %v", got)
	}
	if got := c.ConcurrentWith(tr.Len()); got != nil {
		t.Errorf("ConcurrentWith(out of range) = %v", got)
	}
}

// Bad data: a parent that links to its own child makes a cycle.
func TestRelationConflict(t *testing.T) {
	c, idx := craft(t,
		cs{id: 1, kind: server, start: 0, end: 10, svc: "a", links: []byte{2}},
		cs{id: 2, parent: 1, kind: internal, start: 1, end: 5, svc: "a"},
		cs{id: 3, parent: 2, kind: internal, start: 2, end: 4, svc: "a"},
	)
	checkRelations(t, c, idx, []relCase{
		{"parent and linked child", s(1), s(2), rel(Unknown, ReasonConflict)},
		{"still ordered after the cycle", s(1), s(3), rel(Before, ReasonStructure)},
	})
	if got := c.CausalOrder(); !slices.Equal(got, []int{idx(1), idx(2), idx(3)}) {
		t.Errorf("CausalOrder = %v", got)
	}
}

// The causal order follows the clocks and structure where timestamps
// disagree (a skewed service), and ties go by time then span id.
func TestCausalOrder(t *testing.T) {
	c, idx := craft(t,
		cs{id: 1, kind: server, start: 100, end: 200, node: "a", tick: 1},
		// B's clock is 90 ns behind: its spans' timestamps precede A's.
		cs{id: 2, parent: 1, kind: server, start: 20, end: 50, node: "b", tick: 1, deps: "a:1"},
		cs{id: 3, parent: 2, kind: internal, start: 30, end: 40, node: "b", tick: 2, deps: "a:1"},
		// Two unordered spans without clocks, same start: by span id.
		cs{id: 5, parent: 1, kind: internal, start: 150, end: 160, svc: "x"},
		cs{id: 4, parent: 1, kind: internal, start: 150, end: 160, svc: "x"},
	)
	if got, want := c.CausalOrder(), []int{idx(1), idx(2), idx(3), idx(4), idx(5)}; !slices.Equal(got, want) {
		t.Errorf("CausalOrder = %v, want %v", got, want)
	}
	if got := NewCausal(NewTrace(nil)).CausalOrder(); len(got) != 0 {
		t.Errorf("empty trace: %v", got)
	}
}
