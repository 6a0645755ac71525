package vclock

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Span attribute keys under which Tracer's SDK records a span's clock.
//
// At start every span gets AttrNode and AttrTick, and AttrDeps when the
// process has heard from other processes in this trace. At end, if the clock
// moved while the span was open (a child span ticked it, a response was
// merged), the span also gets AttrEndTick and, when the other processes'
// entries changed, AttrEndDeps. Compose turns a (node, tick, deps) triple
// back into the whole clock.
const (
	// AttrNode is the id of the process (node) that recorded the span.
	AttrNode = "tracer.vc.node"
	// AttrTick is the node's own counter at span start (an int).
	AttrTick = "tracer.vc.tick"
	// AttrDeps is the text encoding of the other nodes' entries at span
	// start; absent when there are none.
	AttrDeps = "tracer.vc.deps"
	// AttrEndTick is the node's counter when the span ended, if it moved.
	AttrEndTick = "tracer.vc.end_tick"
	// AttrEndDeps is the other nodes' entries at span end, if they changed.
	AttrEndDeps = "tracer.vc.end_deps"
)

// Compose rebuilds a whole clock from a span's attributes: the entries in
// deps (text encoding, possibly empty, up to MaxLimit entries) plus node at
// tick. The result's limit is MaxLimit.
func Compose(node string, tick uint64, deps string) (Clock, error) {
	if !ValidNode(node) {
		return Clock{}, fmt.Errorf("vclock: invalid node id %q", node)
	}
	c, err := parse(deps, MaxLimit, 1) // room for node's entry: one allocation
	if err != nil {
		return Clock{}, err
	}
	c.Set(node, tick)
	return c, nil
}

// ErrNoClock is what FromAttributes returns for a span without clock
// attributes, such as one recorded by a process without Tracer's SDK.
var ErrNoClock = errors.New("vclock: span has no clock")

// SpanClock is the clock a span recorded, as FromAttributes rebuilds it.
type SpanClock struct {
	// Node is the process that recorded the span, and Tick its counter at
	// the span's start: the span's start is event Tick of Node.
	Node string
	Tick uint64
	// Start is the whole clock at the span's start. End is the clock at
	// its end: Start when the clock did not move while the span was open.
	Start, End Clock
}

// FromAttributes rebuilds the clocks a span recorded from its attributes
// (AttrNode, AttrTick, AttrDeps, AttrEndTick, AttrEndDeps). attr returns an
// attribute's value in its canonical text form, an int as its decimal (as
// OpenTelemetry's attribute.Value.String and a stored span's attribute give
// it), and whether the span has it. Without AttrNode the error is
// ErrNoClock; malformed clock attributes are another error.
//
// The SDK leaves AttrEndDeps out when the other nodes' entries did not
// change while the span was open: the end clock then has the start's.
func FromAttributes(attr func(key string) (string, bool)) (SpanClock, error) {
	node, ok := attr(AttrNode)
	if !ok {
		return SpanClock{}, ErrNoClock
	}
	tickText, ok := attr(AttrTick)
	if !ok {
		return SpanClock{}, fmt.Errorf("vclock: span has %s but no %s", AttrNode, AttrTick)
	}
	tick, err := parseTick(AttrTick, tickText)
	if err != nil {
		return SpanClock{}, err
	}
	deps, _ := attr(AttrDeps)
	start, err := Compose(node, tick, deps)
	if err != nil {
		return SpanClock{}, fmt.Errorf("vclock: %s: %w", AttrDeps, err)
	}
	sc := SpanClock{Node: node, Tick: tick, Start: start, End: start}
	endTickText, hasEndTick := attr(AttrEndTick)
	endDeps, hasEndDeps := attr(AttrEndDeps)
	if !hasEndTick && !hasEndDeps {
		return sc, nil
	}
	endTick := tick
	if hasEndTick {
		if endTick, err = parseTick(AttrEndTick, endTickText); err != nil {
			return SpanClock{}, err
		}
		if endTick < tick {
			return SpanClock{}, fmt.Errorf("vclock: %s %d is below %s %d", AttrEndTick, endTick, AttrTick, tick)
		}
	}
	if !hasEndDeps {
		endDeps = deps
	}
	end, err := Compose(node, endTick, endDeps)
	if err != nil {
		return SpanClock{}, fmt.Errorf("vclock: %s: %w", AttrEndDeps, err)
	}
	end.Merge(start) // what a span knew at its start it still knows at its end
	sc.End = end
	return sc, nil
}

func parseTick(key, s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("vclock: %s %q: want a positive integer", key, s)
	}
	return n, nil
}

// CompareStarts tells how span a's start relates to span b's start: Before
// means a's start happened before b's. It decides from the owners'
// counters (a's start happened before b's when b's start clock has seen
// a.Tick of a.Node), so unlike Compare on the Start clocks it still orders
// two spans of one process when their clocks are pruned. Concurrent needs
// both clocks whole; otherwise an order the clocks cannot show is Unknown.
func CompareStarts(a, b SpanClock) Order {
	if a.Node == b.Node && a.Tick == b.Tick {
		return Equal
	}
	ab := b.Start.Get(a.Node) >= a.Tick
	ba := a.Start.Get(b.Node) >= b.Tick
	switch {
	case ab && ba: // each saw the other: not clocks of one trace
		return Unknown
	case ab:
		return Before
	case ba:
		return After
	case a.Start.Pruned() || b.Start.Pruned():
		return Unknown
	default:
		return Concurrent
	}
}

// Splice appends the text of deps with node's entry set to tick (the larger
// of the two if deps has one), the text of Compose, but without checking
// deps: it must be a valid encoding, such as String returns. It only looks
// for the place of node's entry, which makes it several times faster than
// parsing.
func Splice(b []byte, deps, node string, tick uint64) []byte {
	if len(deps) > 0 && deps[0] == '!' {
		b = append(b, '!')
		deps = deps[1:]
	}
	rest := deps
	for len(rest) > 0 {
		colon := strings.IndexByte(rest, ':')
		if colon < 0 {
			break
		}
		name := rest[:colon]
		end := strings.IndexByte(rest, ',')
		if end < 0 {
			end = len(rest)
		}
		if name >= node {
			done := len(deps) - len(rest)
			b = append(b, deps[:done]...)
			if name == node {
				if n, err := strconv.ParseUint(rest[colon+1:end], 10, 64); err == nil && n > tick {
					tick = n
				}
				b = appendEntry(b, 0, node, tick)
				return append(b, rest[end:]...)
			}
			b = appendEntry(b, 0, node, tick)
			b = append(b, ',')
			return append(b, rest...)
		}
		if end == len(rest) {
			rest = ""
		} else {
			rest = rest[end+1:]
		}
	}
	b = append(b, deps...)
	return appendEntry(b, len(deps), node, tick)
}
