package vclock

import (
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
// deps (text encoding, possibly empty) plus node at tick.
func Compose(node string, tick uint64, deps string) (Clock, error) {
	if !ValidNode(node) {
		return Clock{}, fmt.Errorf("vclock: invalid node id %q", node)
	}
	c, err := parse(deps, DefaultLimit+1, 1) // room for node's entry: one allocation
	if err != nil {
		return Clock{}, err
	}
	c.limit = DefaultLimit + 1
	c.Set(node, tick)
	return c, nil
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
