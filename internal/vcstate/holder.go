package vcstate

import (
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/vclock"
)

// Holder is one trace's clock in one process. Its shard's mutex guards it.
type Holder struct {
	id       uint64       // incarnation, unique per processor
	deps     vclock.Clock // other nodes' entries
	depsText string       // cached encoding of deps
	local    uint64       // this node's counter after its last event
	open     []openSpan   // spans of this trace open in this process
}

// openSpan is the clock a span recorded at its start.
type openSpan struct {
	id   trace.SpanID
	tick uint64
	deps string
}

// reset readies a pooled holder for a new trace.
func (h *Holder) reset(id uint64, limit int) {
	h.id = id
	h.deps = vclock.New(limit)
	h.depsText, h.local = "", 0
	clear(h.open)
	h.open = h.open[:0]
}

// mergeLocked merges text (validated) into deps, except the node's own entry.
func (h *Holder) mergeLocked(text, node string) {
	changed, err := h.deps.MergeText(text, node)
	if err == nil && changed {
		h.depsText = h.deps.String()
	}
}

// textLocked returns the whole clock's encoding.
func (h *Holder) textLocked(node string) string {
	var buf [512]byte
	return string(h.deps.AppendTextWith(buf[:0], node, h.local))
}

// findLocked returns the index of the open span id, or -1.
func (h *Holder) findLocked(id trace.SpanID) int {
	for i := len(h.open) - 1; i >= 0; i-- { // the newest is the likeliest
		if h.open[i].id == id {
			return i
		}
	}
	return -1
}
