package vclock

import (
	"cmp"
	"iter"
	"slices"
)

// DefaultLimit is the number of entries a clock keeps unless told otherwise.
const DefaultLimit = 32

// MaxLimit is the hard ceiling on a clock's entries, and the one size limit
// of Tracer: a clock may be configured to hold up to MaxLimit entries (New
// and every option that sets a limit clamp to it), and everything that
// decodes a clock (Parse, Validate, Compose, FromAttributes, the
// propagators, storage) accepts any clock up to it, whatever limit the
// process that sent it was configured with.
const MaxLimit = 128

// MaxNodeLen is the longest node id allowed.
const MaxNodeLen = 64

// Entry is one process's counter.
type Entry struct {
	Node  string
	Count uint64
}

// Clock is a vector clock. The zero value is an empty clock with the default
// limit, ready to use. A Clock is not safe for concurrent mutation; copies
// made with Copy are independent, plain assignment shares storage.
type Clock struct {
	entries []Entry // sorted by Node, every Count > 0
	pruned  bool
	limit   int // 0 means DefaultLimit
}

// New returns an empty clock holding at most limit entries: DefaultLimit if
// limit < 1, MaxLimit if limit is larger.
func New(limit int) Clock {
	return Clock{limit: clampLimit(limit, DefaultLimit)}
}

// clampLimit bounds limit to [1, MaxLimit], with def for limit < 1.
func clampLimit(limit, def int) int {
	switch {
	case limit < 1:
		return def
	case limit > MaxLimit:
		return MaxLimit
	}
	return limit
}

// Limit returns the maximum number of entries.
func (c Clock) Limit() int {
	if c.limit < 1 {
		return DefaultLimit
	}
	return c.limit
}

// Len returns the number of entries.
func (c Clock) Len() int { return len(c.entries) }

// Pruned reports whether the clock may lack entries or hold counters lower
// than the truth: entries were dropped to respect the limit, or the clock
// was started (MarkPruned) where the causal past did not come with it, such
// as behind a hop that does not carry the clock. Compare treats what a pruned
// clock lacks as unknown.
func (c Clock) Pruned() bool { return c.pruned }

// MarkPruned marks the clock as possibly incomplete (see Pruned). The mark
// stays through Merge and travels in the text encoding.
func (c *Clock) MarkPruned() { c.pruned = true }

// Entries returns a copy of the entries, sorted by node.
func (c Clock) Entries() []Entry { return slices.Clone(c.entries) }

// All iterates over the entries in node order without copying them.
func (c Clock) All() iter.Seq2[string, uint64] {
	return func(yield func(string, uint64) bool) {
		for _, e := range c.entries {
			if !yield(e.Node, e.Count) {
				return
			}
		}
	}
}

// Get returns node's counter, 0 when absent.
func (c Clock) Get(node string) uint64 {
	if i, ok := c.find(node); ok {
		return c.entries[i].Count
	}
	return 0
}

// Copy returns an independent copy.
func (c Clock) Copy() Clock {
	c.entries = slices.Clone(c.entries)
	return c
}

func (c Clock) find(node string) (int, bool) {
	return slices.BinarySearchFunc(c.entries, node, func(e Entry, n string) int { return cmp.Compare(e.Node, n) })
}

// Tick records a local event of node: its counter grows by one. It returns
// the new count. If node is new and the clock is full, the smallest other
// entry is dropped and the clock marked pruned.
func (c *Clock) Tick(node string) uint64 {
	i, ok := c.find(node)
	if ok {
		c.entries[i].Count++
		return c.entries[i].Count
	}
	c.entries = slices.Insert(c.entries, i, Entry{Node: node, Count: 1})
	c.prune(node)
	return 1
}

// Set raises node's counter to n if it is lower. Counters never go down.
func (c *Clock) Set(node string, n uint64) {
	if n == 0 {
		return
	}
	i, ok := c.find(node)
	if ok {
		c.entries[i].Count = max(c.entries[i].Count, n)
		return
	}
	c.entries = slices.Insert(c.entries, i, Entry{Node: node, Count: n})
	c.prune(node)
}

// Merge sets c to the entry-wise maximum of c and o. It reports whether c
// changed. A pruned o makes c pruned. Merge is commutative, associative and
// idempotent.
func (c *Clock) Merge(o Clock) bool {
	changed := false
	if o.pruned && !c.pruned {
		c.pruned, changed = true, true
	}
	// Fast path: every entry of o already present and not larger.
	grow := 0
	for _, e := range o.entries {
		i, ok := c.find(e.Node)
		if !ok {
			grow++
			continue
		}
		if e.Count > c.entries[i].Count {
			c.entries[i].Count = e.Count
			changed = true
		}
	}
	if grow == 0 {
		return changed
	}
	merged := make([]Entry, 0, len(c.entries)+grow)
	i, j := 0, 0
	for i < len(c.entries) || j < len(o.entries) {
		switch {
		case j == len(o.entries) || (i < len(c.entries) && c.entries[i].Node < o.entries[j].Node):
			merged = append(merged, c.entries[i])
			i++
		case i == len(c.entries) || o.entries[j].Node < c.entries[i].Node:
			merged = append(merged, o.entries[j])
			j++
		default: // same node, already maxed above
			merged = append(merged, c.entries[i])
			i++
			j++
		}
	}
	c.entries = merged
	c.prune("")
	return true
}

// prune drops the smallest entries (never keep) until the clock fits.
func (c *Clock) prune(keep string) {
	limit := c.Limit()
	for len(c.entries) > limit {
		victim := -1
		for i, e := range c.entries {
			if e.Node == keep {
				continue
			}
			if victim < 0 || e.Count < c.entries[victim].Count ||
				(e.Count == c.entries[victim].Count && e.Node > c.entries[victim].Node) {
				victim = i
			}
		}
		c.entries = slices.Delete(c.entries, victim, victim+1)
		c.pruned = true
	}
}

// Order is the result of comparing two clocks.
type Order int8

// Orders. Unknown is returned when a pruned clock leaves the answer open.
const (
	Equal Order = iota
	Before
	After
	Concurrent
	Unknown
)

func (o Order) String() string {
	switch o {
	case Equal:
		return "equal"
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

// Compare tells how the event with clock a relates to the event with clock b:
// Before means a happened before b.
//
// A counter missing from an unpruned clock is 0; missing from a pruned clock
// it is unknown. Two known counters that differ both ways prove Concurrent;
// an order that a dropped counter could contradict is Unknown.
func Compare(a, b Clock) Order {
	less, greater, unknown := false, false, false
	i, j := 0, 0
	for i < len(a.entries) || j < len(b.entries) {
		switch {
		case j == len(b.entries) || (i < len(a.entries) && a.entries[i].Node < b.entries[j].Node):
			// only in a: b's counter is 0, or unknown when b is pruned
			if b.pruned {
				unknown = true
			} else {
				greater = true
			}
			i++
		case i == len(a.entries) || b.entries[j].Node < a.entries[i].Node:
			if a.pruned {
				unknown = true
			} else {
				less = true
			}
			j++
		default:
			switch x, y := a.entries[i].Count, b.entries[j].Count; {
			case x < y:
				less = true
			case x > y:
				greater = true
			}
			i++
			j++
		}
	}
	switch {
	case less && greater:
		return Concurrent
	case unknown:
		return Unknown
	case less:
		// a <= b needs a's dropped counters, if any, to be no larger.
		if a.pruned {
			return Unknown
		}
		return Before
	case greater:
		if b.pruned {
			return Unknown
		}
		return After
	case a.pruned || b.pruned:
		return Unknown
	default:
		return Equal
	}
}
