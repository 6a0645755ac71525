package vcstate

import (
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/vclock"
)

// scanMax is the most open spans a holder finds by scanning; past it, it
// keeps an index, so that no span start or end costs a scan of its trace.
const scanMax = 8

// Holder is one trace's clock in one process. Its shard's mutex guards it.
type Holder struct {
	id       uint64 // incarnation, unique per processor
	trace    trace.TraceID
	deps     vclock.Clock           // other nodes' entries
	depsText string                 // cached encoding of deps
	local    uint64                 // this node's counter after its last event
	open     []openSpan             // spans of this trace open in this process
	index    map[trace.SpanID]int32 // position in open, once open outgrew scanMax

	inMap      bool    // in its shard's map (else it is the shard's last)
	touched    int64   // the processor's time at the last span start
	prev, next *Holder // the shard's holders, least recently started first
}

// openSpan is the clock a span recorded at its start.
type openSpan struct {
	id   trace.SpanID
	tick uint64
	deps string
}

// reset readies a new or reused holder for a new trace.
func (h *Holder) reset(id uint64, tid trace.TraceID, limit int) {
	h.id, h.trace = id, tid
	h.deps = vclock.New(limit)
	h.depsText, h.local = "", 0
	clear(h.open)
	h.open = h.open[:0]
	h.index = nil
	h.inMap = false
	h.prev, h.next = nil, nil
}

// mergeLocked merges text (validated) into deps, except the node's own entry.
func (h *Holder) mergeLocked(text, node string) {
	changed, err := h.deps.MergeText(text, node)
	if err == nil && changed {
		h.depsText = h.depsString(text)
	}
}

// depsString returns the encoding of deps, which is text itself when text
// was merged into an empty clock and had no entry of this node: a server's
// first merge of its caller's clock. Then the string that came in is kept
// instead of a new copy of it.
func (h *Holder) depsString(text string) string {
	var buf [512]byte
	if n := h.deps.TextLen(); n != len(text) || n > len(buf) {
		return h.deps.String()
	}
	b := h.deps.AppendText(buf[:0])
	if string(b) == text {
		return text
	}
	return string(b)
}

// pruneLocked marks the clock as lacking part of its causal past.
func (h *Holder) pruneLocked() {
	if !h.deps.Pruned() {
		h.deps.MarkPruned()
		h.depsText = h.deps.String()
	}
}

// textLocked returns the whole clock's encoding.
func (h *Holder) textLocked(node string) string {
	var buf [512]byte
	return string(h.deps.AppendTextWith(buf[:0], node, h.local))
}

// addLocked records an open span.
func (h *Holder) addLocked(o openSpan) {
	h.open = append(h.open, o)
	switch n := len(h.open); {
	case h.index != nil:
		h.index[o.id] = int32(n - 1)
	case n > scanMax:
		h.index = make(map[trace.SpanID]int32, 2*n)
		for i, s := range h.open {
			h.index[s.id] = int32(i)
		}
	}
}

// findLocked returns the index of the open span id, or -1.
func (h *Holder) findLocked(id trace.SpanID) int {
	if h.index != nil {
		if i, ok := h.index[id]; ok {
			return int(i)
		}
		return -1
	}
	for i := len(h.open) - 1; i >= 0; i-- { // the newest is the likeliest
		if h.open[i].id == id {
			return i
		}
	}
	return -1
}

// removeLocked forgets the open span at index i.
func (h *Holder) removeLocked(i int) {
	last := len(h.open) - 1
	if h.index != nil {
		delete(h.index, h.open[i].id)
		if i != last {
			h.index[h.open[last].id] = int32(i)
		}
	}
	h.open[i] = h.open[last]
	h.open[last] = openSpan{}
	h.open = h.open[:last]
}
