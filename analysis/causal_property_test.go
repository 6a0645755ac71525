package analysis

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

// The property table: each row is simulated for several fixed seeds.
var simCases = []struct {
	name          string
	spans, procs  int
	limit         int
	plainRate     float64
	seeds, triple int
}{
	{"clocked, small", 12, 3, vclock.DefaultLimit, 0, 40, 500},
	{"clocked, larger", 60, 5, vclock.DefaultLimit, 0, 15, 3000},
	{"plain hops", 40, 5, vclock.DefaultLimit, 0.4, 30, 2000},
	{"pruned by the limit", 40, 6, 2, 0, 20, 2000},
	{"plain hops and pruning", 50, 6, 3, 0.3, 20, 2000},
}

// allEvents lists every event of a trace.
func allEvents(n int) []Event {
	evs := make([]Event, 0, 2*n)
	for i := range n {
		evs = append(evs, StartOf(i), EndOf(i))
	}
	return evs
}

func godOf(st simTrace, tr *Trace, e Event) vclock.Clock {
	id := tr.Spans[e.Span].SpanID
	if e.End {
		return st.godEnd[id]
	}
	return st.godStart[id]
}

// clocklessBetween reports whether no chain of parent and link edges
// between clocked spans joins spans a and b: a span without a clock lies on
// every path between them, or none exists.
func clocklessBetween(tr *Trace, a, b int) bool {
	if !tr.ClockOK[a] || !tr.ClockOK[b] {
		return true
	}
	adj := make([][]int, tr.Len())
	join := func(x, y int) {
		if tr.ClockOK[x] && tr.ClockOK[y] {
			adj[x], adj[y] = append(adj[x], y), append(adj[y], x)
		}
	}
	for i := range tr.Len() {
		if p := tr.Parent[i]; p >= 0 {
			join(int(p), i)
		}
		for _, l := range tr.Spans[i].Links {
			if j := tr.Index(l.SpanID); j >= 0 {
				join(j, i)
			}
		}
	}
	seen := map[int]bool{a: true}
	queue := []int{a}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		if x == b {
			return false
		}
		for _, y := range adj[x] {
			if !seen[y] {
				seen[y] = true
				queue = append(queue, y)
			}
		}
	}
	return true
}

func TestRelationProperties(t *testing.T) {
	for _, tc := range simCases {
		for seed := range tc.seeds {
			t.Run(fmt.Sprintf("%s/seed %d", tc.name, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(seed), 14))
				st, err := simulate(rng, tc.spans, tc.procs, tc.limit, tc.plainRate)
				if err != nil {
					t.Fatal(err)
				}
				tr := NewTrace(st.spans)
				c := NewCausal(tr)
				evs := allEvents(tr.Len())
				rels := make(map[[2]Event]Relation, len(evs)*len(evs))
				for _, a := range evs {
					for _, b := range evs {
						r := c.Relation(a, b)
						rels[[2]Event{a, b}] = r
						ga, gb := godOf(st, tr, a), godOf(st, tr, b)
						switch {
						case a == b:
							if r.Order != Same {
								t.Fatalf("irreflexive: Relation(%v, %v) = %v", a, b, r.Order)
							}
							continue
						case r.Order == Same:
							t.Fatalf("Relation(%v, %v) = same for different events", a, b)
						}
						// Sound against the ground truth.
						if r.Order == Before && vclock.Compare(ga, gb) != vclock.Before {
							t.Fatalf("Relation(%v, %v) = before/%v, truth %v", a, b, r.Reason, vclock.Compare(ga, gb))
						}
						if r.Order == Concurrent && vclock.Compare(ga, gb) != vclock.Concurrent {
							t.Fatalf("Relation(%v, %v) = concurrent, truth %v", a, b, vclock.Compare(ga, gb))
						}
						if r.Order == Concurrent && clocklessBetween(tr, a.Span, b.Span) {
							t.Fatalf("Relation(%v, %v) = concurrent across a span without clock", a, b)
						}
						// Never contradicts the clocks.
						if tr.ClockOK[a.Span] && tr.ClockOK[b.Span] {
							ca, cb := tr.Clocks[a.Span], tr.Clocks[b.Span]
							if !a.End && !b.End && vclock.CompareStarts(ca, cb) == vclock.Before && r.Order != Before {
								t.Fatalf("CompareStarts(%v, %v) = before, Relation %v", a, b, r.Order)
							}
							if !a.End && vclock.Compare(ca.Start, c.eventClock(b)) == vclock.Before && r.Order != Before {
								t.Fatalf("Compare(start %v, %v) = before, Relation %v", a, b, r.Order)
							}
							if r.Order == Concurrent && !a.End && !b.End && vclock.CompareStarts(ca, cb) != vclock.Concurrent {
								t.Fatalf("Relation(%v, %v) = concurrent, CompareStarts %v", a, b, vclock.CompareStarts(ca, cb))
							}
						}
						// Structure: a span's start before its end, a parent's start before its child's.
						if a.Span == b.Span && !a.End && b.End && r.Order != Before {
							t.Fatalf("start %d vs its end: %v", a.Span, r.Order)
						}
						if !a.End && !b.End && int(tr.Parent[b.Span]) == a.Span && r.Order != Before {
							t.Fatalf("parent %d start vs child %d start: %v", a.Span, b.Span, r.Order)
						}
					}
				}
				// Antisymmetric: the converse of each answer.
				for k, r := range rels {
					back := rels[[2]Event{k[1], k[0]}]
					want := r.Order
					switch r.Order {
					case Before:
						want = After
					case After:
						want = Before
					}
					if back.Order != want || back.Reason != r.Reason {
						t.Fatalf("Relation(%v, %v) = %v/%v but the converse is %v/%v", k[0], k[1], r.Order, r.Reason, back.Order, back.Reason)
					}
				}
				// Transitive over sampled triples.
				hits := 0
				for range tc.triple {
					a, b, x := evs[rng.IntN(len(evs))], evs[rng.IntN(len(evs))], evs[rng.IntN(len(evs))]
					if rels[[2]Event{a, b}].Order == Before && rels[[2]Event{b, x}].Order == Before {
						hits++
						if got := rels[[2]Event{a, x}]; got.Order != Before {
							t.Fatalf("%v < %v < %v but Relation(%v, %v) = %v", a, b, x, a, x, got.Order)
						}
					}
				}
				if hits == 0 && tc.triple > 1000 {
					t.Errorf("no ordered triple sampled")
				}
				checkOrderAndConcurrent(t, c, rels)
			})
		}
	}
}

// checkOrderAndConcurrent checks CausalOrder against the relation of starts
// and ConcurrentWith against its definition.
func checkOrderAndConcurrent(t *testing.T, c *Causal, rels map[[2]Event]Relation) {
	t.Helper()
	n := c.Trace().Len()
	order := c.CausalOrder()
	if len(order) != n {
		t.Fatalf("CausalOrder has %d spans, want %d", len(order), n)
	}
	pos := make([]int, n)
	for i := range pos {
		pos[i] = -1
	}
	for k, i := range order {
		if pos[i] >= 0 {
			t.Fatalf("CausalOrder lists %d twice", i)
		}
		pos[i] = k
	}
	for a := range n {
		for b := range n {
			if rels[[2]Event{StartOf(a), StartOf(b)}].Order == Before && pos[a] > pos[b] {
				t.Fatalf("CausalOrder puts %d after %d, whose start it precedes", a, b)
			}
		}
	}
	for x := range n {
		got := map[int]bool{}
		for _, y := range c.ConcurrentWith(x) {
			got[y] = true
		}
		for y := range n {
			want := y != x && rels[[2]Event{StartOf(y), EndOf(x)}].Order == Concurrent &&
				rels[[2]Event{StartOf(x), EndOf(y)}].Order == Concurrent
			if got[y] != want {
				t.Fatalf("ConcurrentWith(%d) has %d: %v, want %v", x, y, got[y], want)
			}
		}
	}
}

// The simulations make the cases the properties are about.
func TestSimulationCoverage(t *testing.T) {
	var concurrent, unknownHop, pruned, plain int
	for seed := range 20 {
		rng := rand.New(rand.NewPCG(uint64(seed), 14))
		st, err := simulate(rng, 50, 6, 3, 0.3)
		if err != nil {
			t.Fatal(err)
		}
		tr := NewTrace(st.spans)
		c := NewCausal(tr)
		for i := range tr.Len() {
			if !tr.ClockOK[i] {
				plain++
			} else if tr.Clocks[i].Start.Pruned() {
				pruned++
			}
		}
		for _, a := range allEvents(tr.Len()) {
			for _, b := range allEvents(tr.Len()) {
				r := c.Relation(a, b)
				if r.Order == Concurrent {
					concurrent++
				}
				if r.Order == Unknown && vclock.Compare(godOf(st, tr, a), godOf(st, tr, b)) == vclock.Concurrent && clocklessBetween(tr, a.Span, b.Span) {
					unknownHop++
				}
			}
		}
	}
	if concurrent == 0 || unknownHop == 0 || pruned == 0 || plain == 0 {
		t.Errorf("concurrent %d, truly concurrent but unknown across a hop %d, pruned %d, plain %d: want all > 0", concurrent, unknownHop, pruned, plain)
	}
}

// scaleClocks multiplies every counter of spans' clocks by k: a monotone
// change of the counters, which must not change any answer. Large sparse
// counters take the index's binary searches instead of its dense tables.
func scaleClocks(t *testing.T, spans []storage.Span, k uint64) []storage.Span {
	t.Helper()
	out := make([]storage.Span, len(spans))
	for i, s := range spans {
		s.Attributes = slices.Clone(s.Attributes)
		for j, a := range s.Attributes {
			switch a.Key {
			case vclock.AttrTick, vclock.AttrEndTick:
				n, err := strconv.ParseUint(a.Value, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				s.Attributes[j].Value = strconv.FormatUint(n*k, 10)
			case vclock.AttrDeps, vclock.AttrEndDeps:
				text, pruned := strings.CutPrefix(a.Value, "!")
				var parts []string
				for _, e := range strings.Split(text, ",") {
					node, cnt, ok := strings.Cut(e, ":")
					n, err := strconv.ParseUint(cnt, 10, 64)
					if !ok || err != nil {
						t.Fatalf("entry %q", e)
					}
					parts = append(parts, node+":"+strconv.FormatUint(n*k, 10))
				}
				s.Attributes[j].Value = strings.Join(parts, ",")
				if pruned {
					s.Attributes[j].Value = "!" + s.Attributes[j].Value
				}
			}
		}
		out[i] = s
	}
	return out
}

func TestRelationSparseCounters(t *testing.T) {
	for seed := range 10 {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			st, err := simulate(rand.New(rand.NewPCG(uint64(seed), 15)), 40, 5, vclock.DefaultLimit, 0.2)
			if err != nil {
				t.Fatal(err)
			}
			dense := NewCausal(NewTrace(st.spans))
			sparse := NewCausal(NewTrace(scaleClocks(t, st.spans, 1000)))
			if sparse.Trace().Clocks[0].Tick < 1000 {
				t.Fatalf("not scaled: %v", sparse.Trace().Clocks[0])
			}
			evs := allEvents(dense.Trace().Len())
			for _, a := range evs {
				for _, b := range evs {
					if d, s := dense.Relation(a, b), sparse.Relation(a, b); d != s {
						t.Fatalf("Relation(%v, %v): %v/%v with dense counters, %v/%v sparse", a, b, d.Order, d.Reason, s.Order, s.Reason)
					}
				}
			}
			if !slices.Equal(dense.CausalOrder(), sparse.CausalOrder()) {
				t.Error("CausalOrder differs")
			}
		})
	}
}
